"""Check-digit arithmetic for the two national child identifiers: NHS numbers and UPNs.

Kept free of any generator state so the same functions can validate feeds as well as make them.

* **NHS number**: ten digits; the tenth is a modulus 11 check digit over the first nine, weighted
  10, 9, …, 2. When the arithmetic gives 10 the nine digits are never issued as an NHS number.
* **Unique Pupil Number (UPN)**: thirteen characters. Character 1 is a check letter computed from
  characters 2–13 weighted 2, 3, …, 13, modulo 23, mapped onto the 23 letters A–Z without I, O and S.
  Characters 2–4 are the DfE local authority number, 5–8 the establishment number, 9–10 the last two
  digits of the year of allocation and 11–13 a serial. A *temporary* UPN ends in a letter instead of the
  last serial digit; that letter counts as its position in the same 23-letter alphabet.
"""

from __future__ import annotations

import random

__all__ = [
    "NHS_ENGLAND_PREFIX",
    "NHS_TEST_PREFIX",
    "UPN_LETTERS",
    "format_nhs_number",
    "is_valid_nhs_number",
    "is_valid_upn",
    "make_temporary_upn",
    "make_upn",
    "nhs_check_digit",
    "random_nhs_number",
    "upn_check_letter",
]

# NHS England never issues numbers starting 999: they are set aside for test data, so synthetic
# records made with this prefix can never carry a real patient's identifier.
NHS_TEST_PREFIX = "999"
# England and Wales issue numbers from 400 000 000 0 to 499 999 999 9 (and 6…); Scotland uses 010…311.
NHS_ENGLAND_PREFIX = "4"

# The UPN check alphabet: A–Z without I, O and S (too easily read as 1, 0 and 5). Index = value.
UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"
_UPN_VALUE = {letter: value for value, letter in enumerate(UPN_LETTERS)}


def nhs_check_digit(first_nine: str) -> int | None:
    """Return the modulus 11 check digit for the first nine digits of an NHS number.

    Returns ``None`` when the remainder arithmetic yields 10: no NHS number is issued with those nine
    digits. Raises ``ValueError`` unless ``first_nine`` is exactly nine ASCII digits.
    """
    if len(first_nine) != 9 or not first_nine.isascii() or not first_nine.isdigit():
        raise ValueError(f"expected nine digits, got {first_nine!r}")
    total = sum(int(digit) * weight for digit, weight in zip(first_nine, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    if check == 10:
        return None
    return check


def is_valid_nhs_number(value: str) -> bool:
    """Whether ``value`` is a well-formed NHS number: ten digits (spaces allowed) with a valid check digit."""
    digits = value.replace(" ", "")
    if len(digits) != 10 or not digits.isascii() or not digits.isdigit():
        return False
    return nhs_check_digit(digits[:9]) == int(digits[9])


def random_nhs_number(rng: random.Random, *, prefix: str = "") -> str:
    """Draw a random valid NHS number (ten digits, no spaces) from ``rng``.

    ``prefix`` fixes the leading digits, e.g. :data:`NHS_TEST_PREFIX` for the never-issued test range.
    Nine-digit stems whose check digit would be 10 are skipped, as the NHS does. The caller is responsible
    for uniqueness.
    """
    if len(prefix) > 8 or not (prefix == "" or prefix.isdigit()):
        raise ValueError(f"prefix must be at most eight digits, got {prefix!r}")
    free = 9 - len(prefix)
    upper = 10**free - 1
    while True:
        stem = f"{prefix}{rng.randint(0, upper):0{free}d}"
        check = nhs_check_digit(stem)
        if check is not None:
            return f"{stem}{check}"


def format_nhs_number(value: str) -> str:
    """Format ten NHS number digits the way they are printed on letters and cards: ``943 476 5919``."""
    digits = value.replace(" ", "")
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}"


def upn_check_letter(last_twelve: str) -> str:
    """Return the DfE check letter for characters 2–13 of a UPN.

    Each of the twelve characters is weighted by its position in the full UPN (2 to 13). Digits count as
    their value; the final character of a temporary UPN may be a letter, which counts as its index in
    :data:`UPN_LETTERS`. The sum modulo 23 indexes :data:`UPN_LETTERS`. Raises ``ValueError`` for anything
    that is not eleven digits followed by a digit or a UPN letter.
    """
    if len(last_twelve) != 12 or not last_twelve[:11].isascii() or not last_twelve[:11].isdigit():
        raise ValueError(f"expected eleven digits then a digit or letter, got {last_twelve!r}")
    total = 0
    for position, char in enumerate(last_twelve, start=2):
        if char.isascii() and char.isdigit():
            value = int(char)
        elif position == 13 and char in _UPN_VALUE:
            value = _UPN_VALUE[char]
        else:
            raise ValueError(f"invalid UPN character {char!r} at position {position}")
        total += value * position
    return UPN_LETTERS[total % 23]


def make_upn(la_number: int, establishment: int, year: int, serial: int) -> str:
    """Build a permanent UPN from its parts, prefixing the check letter.

    ``la_number`` is the three-digit DfE LA number (e.g. 330 for Birmingham), ``establishment`` the
    four-digit DfE establishment number, ``year`` the year of allocation (only its last two digits are
    kept) and ``serial`` 0–999.
    """
    if not (0 <= la_number <= 999 and 0 <= establishment <= 9999 and 0 <= serial <= 999):
        raise ValueError("UPN part out of range")
    body = f"{la_number:03d}{establishment:04d}{year % 100:02d}{serial:03d}"
    return upn_check_letter(body) + body


def make_temporary_upn(la_number: int, establishment: int, year: int, serial: int, letter: str) -> str:
    """Build a temporary UPN: two serial digits (0–99) followed by ``letter`` from :data:`UPN_LETTERS`.

    Schools issue these while a pupil's permanent UPN is unknown; they carry a check letter like any UPN.
    """
    if not (0 <= la_number <= 999 and 0 <= establishment <= 9999 and 0 <= serial <= 99):
        raise ValueError("UPN part out of range")
    if letter not in _UPN_VALUE:
        raise ValueError(f"temporary UPN letter must be one of {UPN_LETTERS}, got {letter!r}")
    body = f"{la_number:03d}{establishment:04d}{year % 100:02d}{serial:02d}{letter}"
    return upn_check_letter(body) + body


def is_valid_upn(value: str) -> bool:
    """Whether ``value`` is a well-formed permanent or temporary UPN with the right check letter."""
    upn = value.strip().upper()
    if len(upn) != 13 or upn[0] not in _UPN_VALUE:
        return False
    try:
        return upn_check_letter(upn[1:]) == upn[0]
    except ValueError:
        return False
