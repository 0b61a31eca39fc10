import pytest

from contactpoint.core.validators import (
    is_valid_nhs_number,
    is_valid_postcode,
    is_valid_upn,
    normalise_postcode,
    postcode_district,
)


@pytest.mark.parametrize("value", ["943 476 5919", "9434765919", "401 023 2137"])
def test_valid_nhs_numbers(value):
    assert is_valid_nhs_number(value)


@pytest.mark.parametrize("value", ["9434765918", "123", "94347659190", "abcdefghij", ""])
def test_invalid_nhs_numbers(value):
    assert not is_valid_nhs_number(value)


@pytest.mark.parametrize("value", ["B15 2TT", "b152tt", "SW1A 1AA", "M1 1AE", "EC1A 1BB", "GIR 0AA"])
def test_valid_postcodes(value):
    assert is_valid_postcode(value)


@pytest.mark.parametrize("value", ["B15", "QQ1 1AA", "B15 2TTT", "12345", ""])
def test_invalid_postcodes(value):
    assert not is_valid_postcode(value)


def test_postcode_normalisation_and_district():
    assert normalise_postcode(" sw1a1aa ") == "SW1A 1AA"
    assert postcode_district("sw1a1aa") == "SW1A"


def test_upn_check_letter():
    # Build a UPN from its 12 trailing characters and check that only the right letter passes.
    body = "330123420001"
    valid = [letter + body for letter in "ABCDEFGHJKLMNPQRTUVWXYZ" if is_valid_upn(letter + body)]
    assert len(valid) == 1
    assert not is_valid_upn("I" + body)
