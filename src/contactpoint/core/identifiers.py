"""The ContactPoint directory identifier.

A child's identifier is random (from :mod:`secrets`, never derived from personal data), so knowing one
child's identifier says nothing about another's, and it carries a check character so that a mistyped
identifier is rejected rather than opening the wrong record.

Format: 11 random characters from a 30-character alphabet that leaves out look-alikes
(0/O, 1/I/L, U) followed by one check character computed with the Luhn mod N algorithm
(N = 30), shown in groups of four: ``K7QM-3XZD-9F2C``. 30**11 ≈ 1.8e16 possible identifiers for
~12 million children: a guessed identifier is a real child about once in 1.5 billion tries.
The check character catches every single-character error and every swap of two adjacent characters
but one: "2" and "Z" (the first and last of the alphabet), Luhn mod N's blind pair, as 09/90 is Luhn's.
"""

from __future__ import annotations

import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
_N = len(ALPHABET)
_INDEX = {c: i for i, c in enumerate(ALPHABET)}
RANDOM_LENGTH = 11
LENGTH = RANDOM_LENGTH + 1


def _luhn_mod_n_check(payload: str) -> str:
    factor = 2
    total = 0
    for char in reversed(payload):
        addend = factor * _INDEX[char]
        factor = 1 if factor == 2 else 2
        addend = (addend // _N) + (addend % _N)
        total += addend
    return ALPHABET[(_N - (total % _N)) % _N]


def new_contactpoint_id() -> str:
    """A fresh random identifier with its check character (12 characters, no separators)."""
    payload = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
    return payload + _luhn_mod_n_check(payload)


def normalise_contactpoint_id(value: str) -> str:
    """Upper-case and strip separators and spaces, as people type identifiers in many ways."""
    return "".join(ch for ch in value.upper() if ch not in " -")


def is_valid_contactpoint_id(value: str) -> bool:
    """True if ``value`` (with or without separators) is well formed and its check character agrees."""
    ident = normalise_contactpoint_id(value)
    if len(ident) != LENGTH or any(c not in _INDEX for c in ident):
        return False
    return _luhn_mod_n_check(ident[:-1]) == ident[-1]


def format_contactpoint_id(value: str) -> str:
    """Groups of four for people to read: ``K7QM-3XZD-9F2C``."""
    ident = normalise_contactpoint_id(value)
    return "-".join(ident[i : i + 4] for i in range(0, len(ident), 4))
