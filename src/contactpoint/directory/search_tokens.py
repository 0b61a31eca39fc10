"""The search index as keyed-hash ("blind") tokens: folding, phonetic codes and tokens, all in Python.

The directory's only search index holds, per child, only 64-bit keyed hashes of combinations of the
child's folded names, birth date and identifiers (``directory_searchtoken``), never a clear name. A search
computes the same tokens from what was typed and looks them up by equality; the few hundred candidates'
names are then unsealed through :mod:`contactpoint.directory.identity` and scored in Python. See
docs/search.md, "The index: keyed tokens only".

Everything here must give the same answer at index time and at query time, so it is pure Python: the
folding mirrors the SQL ``cp_search_fold`` (directory/migrations/0006), the phonetic code is the PyPI
double metaphone truncated to four letters as PostgreSQL's ``dmetaphone`` is, and the canonical forename
comes from :mod:`contactpoint.core.forenames`. The key is :func:`contactpoint.core.keys.index_key` (HKDF
of the master key): the tokens are computed here and never in SQL, so the key never reaches the database.

Typos without trigrams: a typed name and an indexed name one edit apart (substitution, insertion,
deletion or adjacent transposition) always share a *deletion variant* (the name itself or the name with
one letter removed). Each name is indexed by all its deletion variants, each combined with something
else the search must also give (the canonical given name and the birth year, the family name and the
birth year, or the full date of birth), so that a variant like ``SMTH`` stays selective.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from doublemetaphone import doublemetaphone

from contactpoint.core.forenames import canonical_forenames

# The same translation as cp_search_fold (directory/migrations/0006_search_functions.py); a test folds
# a list of awkward names both ways and fails if the two differ.
FOLD_FROM = "ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝÞàáâãäåçèéêëìíîïðñòóôõöøùúûüýþÿĀāĂăĄąĆćĈĉĊċČčĎďĐđĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĦħĨĩĪīĬĭĮįİıĴĵĶķĹĺĻļĽľĿŀŁłŃńŅņŇňŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŦŧŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžſƠơƯưǍǎǏǐǑǒǓǔǕǖǗǘǙǚǛǜǞǟǠǡǦǧǨǩǪǫǬǭǰǴǵǸǹǺǻȀȁȂȃȄȅȆȇȈȉȊȋȌȍȎȏȐȑȒȓȔȕȖȗȘșȚțȞȟȦȧȨȩȪȫȬȭȮȯȰȱȲȳ"  # noqa: E501
FOLD_TO = "AAAAAACEEEEIIIIDNOOOOOOUUUUYTaaaaaaceeeeiiiidnoooooouuuuytyAaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGgGgGgHhHhIiIiIiIiIiJjKkLlLlLlLlLlNnNnNnOoOoOoRrRrRrSsSsSsSsTtTtTtUuUuUuUuUuUuWwYyYZzZzZzsOoUuAaIiOoUuUuUuUuUuAaAaGgKkOoOojGgNnAaAaAaEeEeIiIiOoOoRrRrUuUuSsTtHhAaEeOoOoOoOoYy"  # noqa: E501
_FOLD_TABLE = str.maketrans(FOLD_FROM, FOLD_TO)
_LIGATURES = (("ß", "SS"), ("ẞ", "SS"), ("Æ", "AE"), ("æ", "AE"), ("Œ", "OE"), ("œ", "OE"))
_DROPPED = re.compile(r"['’`.]")
_NOT_LETTERS = re.compile(r"[^A-Z]+")
DM_LENGTH = 4  # PostgreSQL's dmetaphone() codes are at most four letters; the PyPI one is not limited


@lru_cache(maxsize=262144)
def fold(value: str) -> str:
    """A name as upper-case ASCII letters separated by single spaces (as ``cp_search_fold`` does)."""
    for ligature, letters in _LIGATURES:
        value = value.replace(ligature, letters)
    value = _DROPPED.sub("", value.translate(_FOLD_TABLE).upper())
    return _NOT_LETTERS.sub(" ", value).strip()


@lru_cache(maxsize=262144)
def phonetic(folded: str) -> str:
    """The primary double metaphone code of a folded name ('' for no name)."""
    return doublemetaphone(folded)[0][:DM_LENGTH] if folded else ""


@lru_cache(maxsize=262144)
def deletion_variants(name: str) -> tuple[str, ...]:
    """The name and the name with each one letter removed (any two names one edit apart share one)."""
    return tuple(dict.fromkeys([name, *(name[:i] + name[i + 1:] for i in range(len(name)))]))


@dataclass(frozen=True)
class FoldedName:
    """One way a child's name may be typed (a reading of a name that search tokens and scores)."""

    is_current: bool
    family: str
    family_dm: str
    given: str
    given_all: str
    given_dm: str
    given_canon: str


@lru_cache(maxsize=131072)
def _family_forms(family_name: str) -> tuple[tuple[str, str], ...]:
    """(form, its phonetic code): the whole name without spaces, and each part of a hyphenated one."""
    folded = fold(family_name)
    forms = [folded.replace(" ", "")]
    if " " in folded:
        forms += [part for part in folded.split(" ") if len(part) >= 2]
    return tuple((form, phonetic(form)) for form in dict.fromkeys(forms) if form)


@lru_cache(maxsize=131072)
def _given_forms(given_names: str) -> tuple[str, str, str, tuple[str, ...]]:
    given_all = fold(given_names)
    given = given_all.split(" ")[0]
    return given, given_all, phonetic(given), canonical_forenames(given)


def fold_name(*, given_names: str, family_name: str, is_current: bool) -> list[FoldedName]:
    """The index rows of one name: family-name form × canonical reading of the first given name."""
    given, given_all, given_dm, canons = _given_forms(given_names or "")
    return [
        FoldedName(is_current, family, family_dm, given, given_all, given_dm, canon)
        for family, family_dm in _family_forms(family_name or "")
        for canon in canons
    ]


# Tokens ----------------------------------------------------------------------------------------------


class Kind:
    """What each token combines. The kind is hashed in, so equal values of different kinds never collide."""

    FAMILY_YEAR = "family+year"
    FAMILY_CANON_YEAR = "family+canon+year"
    FAMILY_DM_CANON_YEAR = "family_dm+canon+year"
    FAMILY_DM_GIVEN_DM_YEAR = "family_dm+given_dm+year"
    FAMILY_DELETION_CANON_YEAR = "family_deletion+canon+year"  # a mistyped family name, right given name
    FAMILY_GIVEN_DELETION_YEAR = "family+given_deletion+year"  # right family name, mistyped given name
    DOB_FAMILY_DELETION = "dob+family_deletion"  # the right date and the family name, or one edit from it
    DOB_FAMILY_DM = "dob+family_dm"
    DOB_CANON = "dob+canon"
    POSTCODE = "postcode"
    NHS_NUMBER = "nhs_number"
    UPN = "upn"


class Hasher:
    """HMAC-SHA256 under one key, of messages ``kind␟value␟value…``, as signed 64-bit integers.

    Sixty-four bits keep the index compact; a collision (about one in 10^19 per pair) only adds a
    candidate that scoring then rejects. The keyed state is computed once and copied per message (half
    the cost of ``hmac.digest``, which a million children's tens of millions of tokens notice).
    """

    def __init__(self, key: bytes) -> None:
        self._keyed = hmac.new(key, digestmod=hashlib.sha256)

    def __call__(self, message: str) -> int:
        state = self._keyed.copy()
        state.update(message.encode())
        return int.from_bytes(state.digest()[:8], "big", signed=True)


def token(key: bytes, kind: object, *values: object) -> int:
    """One token: the keyed hash of the kind and values (each written as ``str()`` writes it)."""
    return Hasher(key)(_SEP.join(str(part) for part in (kind, *values)))


_SEP = "\x1f"


def child_tokens(
    key: bytes | Hasher,
    *,
    names: Iterable[FoldedName],
    date_of_birth: datetime.date | None,
    postcodes: Iterable[str] = (),
    nhs_number: str = "",
    upn: str = "",
) -> list[int]:
    """Every token of one child, sorted and without repeats (the row ``directory_searchtoken`` holds).

    Pass a :class:`Hasher` when tokenising many children (the key is then set up once).
    """
    hasher = key if isinstance(key, Hasher) else Hasher(key)
    messages: set[str] = set()
    add = messages.add
    year = str(date_of_birth.year) if date_of_birth else ""
    dob = date_of_birth.isoformat() if date_of_birth else ""
    k = Kind
    for name in names:
        family, canon, family_dm = name.family, name.given_canon, name.family_dm
        family_variants = deletion_variants(family)
        if year:
            add(f"{k.FAMILY_YEAR}\x1f{family}\x1f{year}")
            add(f"{k.FAMILY_CANON_YEAR}\x1f{family}\x1f{canon}\x1f{year}")
            add(f"{k.FAMILY_DM_CANON_YEAR}\x1f{family_dm}\x1f{canon}\x1f{year}")
            add(f"{k.FAMILY_DM_GIVEN_DM_YEAR}\x1f{family_dm}\x1f{name.given_dm}\x1f{year}")
            for variant in family_variants:
                add(f"{k.FAMILY_DELETION_CANON_YEAR}\x1f{variant}\x1f{canon}\x1f{year}")
            if name.given:
                for variant in deletion_variants(name.given):
                    add(f"{k.FAMILY_GIVEN_DELETION_YEAR}\x1f{family}\x1f{variant}\x1f{year}")
        if dob:
            for variant in family_variants:
                add(f"{k.DOB_FAMILY_DELETION}\x1f{dob}\x1f{variant}")
            add(f"{k.DOB_FAMILY_DM}\x1f{dob}\x1f{family_dm}")
            add(f"{k.DOB_CANON}\x1f{dob}\x1f{canon}")
    for postcode in postcodes:
        if postcode:
            add(f"{k.POSTCODE}\x1f{postcode}")
    if nhs_number:
        add(f"{k.NHS_NUMBER}\x1f{nhs_number}")
    if upn:
        add(f"{k.UPN}\x1f{upn}")
    return sorted({hasher(message) for message in messages})


@dataclass(frozen=True)
class QueryTokens:
    """The tokens of one search, per lookup: each lookup is capped separately."""

    lookups: tuple[tuple[str, tuple[int, ...]], ...]  # (lookup name, its tokens), non-empty only


def query_tokens(
    key: bytes,
    *,
    families: Sequence[str],
    family_dm: str,
    given: str,
    given_dm: str,
    canons: Sequence[str],
    swapped_family: str,
    swapped_canons: Sequence[str],
    dates_of_birth: Sequence[datetime.date],
    birth_years: tuple[int, int] | None,
    has_postcode: bool,
    postcode: str = "",
    nhs_number: str = "",
    upn: str = "",
) -> QueryTokens:
    """The lookups of a search as tokens (``identity.find_search_candidates`` looks each up, capped)."""
    lookups: list[tuple[str, list[tuple[object, ...]]]] = []
    years = range(birth_years[0], birth_years[1] + 1) if birth_years else range(0)
    family = families[0] if families else ""
    if dates_of_birth and families:
        # The date is right (as typed or day/month swapped): any close reading of either name will do.
        lookups.append(("date", [
            *((Kind.DOB_FAMILY_DELETION, dob, variant) for dob in dates_of_birth
              for form in families for variant in deletion_variants(form)),
            *((Kind.DOB_FAMILY_DM, dob, family_dm) for dob in dates_of_birth if family_dm),
            *((Kind.DOB_CANON, dob, canon) for dob in dates_of_birth for canon in canons),
            *((Kind.DOB_FAMILY_DELETION, dob, swapped_family) for dob in dates_of_birth if swapped_family),
        ]))
    if years and families and given:
        lookups += [
            ("family+canon", [(Kind.FAMILY_CANON_YEAR, form, canon, y)
                              for form in families for canon in canons for y in years]),
            ("family_dm+canon", [(Kind.FAMILY_DM_CANON_YEAR, family_dm, canon, y)
                                 for canon in canons for y in years if family_dm]),
            ("family_dm+given_dm", [(Kind.FAMILY_DM_GIVEN_DM_YEAR, family_dm, given_dm, y)
                                    for y in years if family_dm and given_dm]),
            ("family typo", [(Kind.FAMILY_DELETION_CANON_YEAR, variant, canon, y)
                             for variant in deletion_variants(family) for canon in canons for y in years]),
            ("given typo", [(Kind.FAMILY_GIVEN_DELETION_YEAR, form, variant, y)
                            for form in families for variant in deletion_variants(given) for y in years]),
            ("swapped", [(Kind.FAMILY_CANON_YEAR, swapped_family, canon, y)
                         for canon in swapped_canons for y in years]),
        ]
    elif years and families and not has_postcode:
        lookups.append(("family+year", [(Kind.FAMILY_YEAR, form, y) for form in families for y in years]))
    if postcode:
        lookups.append(("postcode", [(Kind.POSTCODE, postcode)]))
    if nhs_number:
        lookups.append(("nhs_number", [(Kind.NHS_NUMBER, nhs_number)]))
    if upn:
        lookups.append(("upn", [(Kind.UPN, upn)]))
    hasher = Hasher(key)
    return QueryTokens(lookups=tuple(
        (name, tuple(sorted({hasher(_SEP.join(str(part) for part in message)) for message in messages})))
        for name, messages in lookups if messages
    ))
