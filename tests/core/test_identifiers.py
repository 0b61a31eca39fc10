import pytest

from contactpoint.core.identifiers import (
    ALPHABET,
    LENGTH,
    format_contactpoint_id,
    is_valid_contactpoint_id,
    new_contactpoint_id,
)


def test_new_identifiers_are_valid_random_and_unique():
    ids = {new_contactpoint_id() for _ in range(20_000)}
    assert len(ids) == 20_000
    assert all(len(i) == LENGTH and is_valid_contactpoint_id(i) for i in ids)


def test_formatting_is_accepted_back():
    ident = new_contactpoint_id()
    formatted = format_contactpoint_id(ident)
    assert formatted.count("-") == 2
    assert is_valid_contactpoint_id(formatted.lower())


@pytest.mark.parametrize("position", range(LENGTH))
def test_any_single_character_mistype_is_rejected(position):
    ident = new_contactpoint_id()
    for replacement in "23456789ABCDEFGHJKMNPQRSTVWXYZ":
        if replacement == ident[position]:
            continue
        typo = ident[:position] + replacement + ident[position + 1 :]
        assert not is_valid_contactpoint_id(typo)


def test_adjacent_transposition_is_rejected_except_luhns_one_blind_pair():
    # Luhn mod N cannot see one transposition: the first and last characters of the alphabet ("2" and
    # "Z"), as Luhn mod 10 cannot see 09 <-> 90. Every other adjacent swap is rejected.
    blind = {ALPHABET[0], ALPHABET[-1]}
    for _ in range(500):
        ident = new_contactpoint_id()
        for i in range(LENGTH - 1):
            if ident[i] != ident[i + 1] and {ident[i], ident[i + 1]} != blind:
                swapped = ident[:i] + ident[i + 1] + ident[i] + ident[i + 2 :]
                assert not is_valid_contactpoint_id(swapped), (ident, i)


def test_look_alike_and_foreign_characters_are_rejected():
    assert not is_valid_contactpoint_id("O" * LENGTH)
    assert not is_valid_contactpoint_id("")
    assert not is_valid_contactpoint_id("2" * (LENGTH + 1))
