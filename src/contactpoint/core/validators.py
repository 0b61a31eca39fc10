"""Validation and normalisation of the national identifiers and postcodes that feeds carry."""

from __future__ import annotations

import re

from nhs_number import is_valid as _nhs_number_is_valid

# The postcode pattern published with the government's data standards (BS 7666 shapes), plus GIR 0AA.
_POSTCODE = re.compile(
    r"^(GIR ?0AA|[A-PR-UWYZ]([0-9]{1,2}|[A-HK-Y][0-9]([0-9ABEHMNPRV-Y])?|[0-9][A-HJKPS-UW]) ?[0-9][ABD-HJLNP-UW-Z]{2})$"
)


def normalise_postcode(value: str) -> str:
    """``b15 2tt`` → ``B15 2TT``: upper case, one space before the inward code."""
    compact = re.sub(r"\s+", "", value).upper()
    if len(compact) < 5:
        return compact
    return f"{compact[:-3]} {compact[-3:]}"


def is_valid_postcode(value: str) -> bool:
    return bool(_POSTCODE.match(normalise_postcode(value)))


def postcode_district(postcode: str) -> str:
    """The outward code (``B15``): coarse enough to show in a result list without revealing an address."""
    return normalise_postcode(postcode).split(" ")[0]


def normalise_nhs_number(value: str) -> str:
    return re.sub(r"[\s-]", "", value)


def is_valid_nhs_number(value: str) -> bool:
    """Ten digits whose last is the modulus 11 check digit of the first nine."""
    digits = normalise_nhs_number(value)
    return len(digits) == 10 and digits.isdigit() and bool(_nhs_number_is_valid(digits))


# DfE unique pupil number: a check letter, then 12 characters; the check letter is the sum of the
# following characters' values weighted 2..13, modulo 23, mapped onto A–Z without I, O and S.
_UPN_CHECK_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"


def normalise_upn(value: str) -> str:
    return re.sub(r"\s", "", value).upper()


def is_valid_upn(value: str) -> bool:
    upn = normalise_upn(value)
    if not re.fullmatch(r"[A-Z][0-9]{11}[0-9A-Z]", upn):
        return False
    total = 0
    for weight, char in enumerate(upn[1:], start=2):
        if char.isdigit():
            total += int(char) * weight
        else:
            # A temporary UPN ends in a letter, valued by its position in the check alphabet.
            if char not in _UPN_CHECK_LETTERS:
                return False
            total += _UPN_CHECK_LETTERS.index(char) * weight
    return upn[0] == _UPN_CHECK_LETTERS[total % 23]
