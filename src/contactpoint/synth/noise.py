"""Small, realistic corruptions applied to one source's copy of a value.

Each function takes the generator's ``random.Random`` so the output stays deterministic for a seed, and
returns either a changed value or the value unchanged / ``None`` when the corruption does not apply
(there is no nickname for "Ava"; 25 March cannot be transposed into a real month).
"""

from __future__ import annotations

import random
import unicodedata
from datetime import date

from .names import NICKNAMES, VARIANTS
from .places import INWARD_LETTERS, STREET_ABBREVIATIONS

__all__ = [
    "abbreviate_street",
    "ascii_fold",
    "format_postcode",
    "nickname",
    "phonetic_variant",
    "postcode_typo",
    "transpose_day_month",
    "typo",
]

# Neighbouring keys on a UK QWERTY keyboard: most real typos hit an adjacent key.
_KEY_NEIGHBOURS = {
    "q": "wa", "w": "qes", "e": "wrd", "r": "etf", "t": "ryg", "y": "tuh", "u": "yij", "i": "uok",
    "o": "ipl", "p": "ol", "a": "qsz", "s": "adwx", "d": "sfe", "f": "dgr", "g": "fht", "h": "gjy",
    "j": "hku", "k": "jli", "l": "ko", "z": "xa", "x": "zcs", "c": "xvd", "v": "cbf", "b": "vng",
    "n": "bmh", "m": "nj",
}

# Characters that unicodedata's decomposition does not reduce to ASCII.
_FOLD_EXTRA = str.maketrans({"ł": "l", "Ł": "L", "’": "'", "ß": "ss", "ø": "o", "Ø": "O", "đ": "d"})


def _edit_once(rng: random.Random, text: str) -> str:
    """Apply one keyboard-style edit: neighbour substitution, deletion, doubling or transposition."""
    letters = [i for i, char in enumerate(text) if char.isalpha()]
    if len(text) < 2 or not letters:
        return text
    # People rarely get the first letter wrong (and indexes often key on it), so protect it mostly.
    inner = [i for i in letters if i > 0] or letters
    pos = rng.choice(letters if rng.random() < 0.1 else inner)
    char = text[pos]
    roll = rng.random()
    if roll < 0.35:
        options = _KEY_NEIGHBOURS.get(char.lower(), "")
        if not options:
            return text
        new = rng.choice(options)
        return text[:pos] + (new.upper() if char.isupper() else new) + text[pos + 1 :]
    if roll < 0.6:
        return text[:pos] + text[pos + 1 :] if len(text) > 2 else text
    if roll < 0.8:
        return text[:pos] + char + text[pos:]
    if pos + 1 < len(text) and text[pos + 1].isalpha() and text[pos + 1] != char:
        swapped = text[pos + 1] + char
        if pos == 0:
            swapped = swapped[0].upper() + swapped[1].lower() if char.isupper() else swapped
        return text[:pos] + swapped + text[pos + 2 :]
    return text[:pos] + text[pos + 1 :] if len(text) > 2 else text


def typo(rng: random.Random, text: str) -> str:
    """Return ``text`` with one (usually) or two character edits; unchanged only if it is too short."""
    edits = 2 if rng.random() < 0.25 else 1
    result = text
    for _ in range(8):  # a few tries: some edits are no-ops (e.g. a key with no neighbours)
        candidate = result
        for _ in range(edits):
            candidate = _edit_once(rng, candidate)
        if candidate != text:
            return candidate
    return result


def nickname(rng: random.Random, name: str) -> str | None:
    """An informal form of a given name (William → Bill), or ``None`` if there is none."""
    options = NICKNAMES.get(name)
    return rng.choice(options) if options else None


def phonetic_variant(rng: random.Random, name: str) -> str | None:
    """Another spelling that sounds the same (Catherine → Kathryn, Smith → Smyth), or ``None``."""
    options = VARIANTS.get(name)
    return rng.choice(options) if options else None


def ascii_fold(text: str) -> str:
    """Strip diacritics the way older systems do on entry (Wiśniewski → Wisniewski, Zoë → Zoe)."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD_EXTRA))
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def transpose_day_month(value: date) -> date | None:
    """Swap day and month (a US-style or careless entry) when the result is a different real date."""
    if value.day > 12 or value.day == value.month:
        return None
    return value.replace(month=value.day, day=value.month)


def format_postcode(rng: random.Random, postcode: str) -> str:
    """Render a canonical postcode (``B13 9AH``) with the spacing and case that sources actually send."""
    roll = rng.random()
    if roll < 0.80:
        return postcode
    if roll < 0.92:
        return postcode.replace(" ", "")
    if roll < 0.97:
        return postcode.lower()
    return postcode.replace(" ", "  ")


def postcode_typo(rng: random.Random, postcode: str) -> str:
    """Mistype the inward code (sector digit or a unit letter) so the postcode stays well formed."""
    outward, inward = postcode.split(" ")
    pos = rng.randrange(3)
    if pos == 0:
        replacement = str((int(inward[0]) + rng.choice((1, 9))) % 10)
    else:
        replacement = rng.choice([letter for letter in INWARD_LETTERS if letter != inward[pos]])
    return f"{outward} {inward[:pos]}{replacement}{inward[pos + 1:]}"


def abbreviate_street(street: str) -> str:
    """Abbreviate a trailing street type (``Station Road`` → ``Station Rd``) if it has a common short form."""
    head, _, kind = street.rpartition(" ")
    short = STREET_ABBREVIATIONS.get(kind)
    return f"{head} {short}" if head and short else street
