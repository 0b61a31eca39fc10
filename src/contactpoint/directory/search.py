"""Finding a child from what a practitioner types: criteria, candidates, scores.

This module knows nothing of users or permissions; :mod:`contactpoint.directory.queries` is the only
caller, and applies the access policy, shielding and the audit trail around it.

1. :func:`parse_criteria` checks the minimum criteria (anti-fishing) and normalises the input, or raises
   :class:`~contactpoint.directory.errors.SearchCriteriaError` with a specific message.
2. :func:`find_matches` folds the names exactly as the index does, asks
   :func:`contactpoint.directory.identity.find_search_candidates` for candidates (a UNION of indexed
   lookups: family name, its phonetic code and trigrams, canonical forename, swapped names, date of birth
   as typed and day/month transposed, current and former postcodes, national identifiers), and scores each.
3. A score is a weighted mean of per-field agreements in [0, 1] over the fields the search gave; the
   child's best-scoring name (current or former, whole or part of a hyphenated name) counts. Results at or
   above :data:`THRESHOLD` and within :data:`WINDOW` of the best are kept, best first.

See docs/search.md for the design and the measured quality and speed.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import jellyfish

from contactpoint.core.forenames import canonical_forenames
from contactpoint.core.validators import (
    is_valid_nhs_number,
    is_valid_postcode,
    is_valid_upn,
    normalise_nhs_number,
    normalise_postcode,
    normalise_upn,
    postcode_district,
)
from contactpoint.directory import identity
from contactpoint.directory.errors import SearchCriteriaError
from contactpoint.directory.identity import CandidateQuery, IndexedName, QueryNameKeys, SearchCandidate

MAX_RESULTS = 20  # more plausible matches than this: "too many matches — add detail", never a long list
THRESHOLD = 0.72  # below this a candidate is not shown at all
WINDOW = 0.2  # shown only if within this of the best score (a clear match hides weak look-alikes)
OLDEST_AGE_YEARS = 26  # care leavers and young people with SEN are kept to 25

# Weights of each field in the score (only fields the search gave count).
W_FAMILY, W_GIVEN, W_SEX, W_POSTCODE, W_IDENTIFIER = 3.0, 2.0, 0.5, 2.0, 4.0
W_DOB = {"day": 3.0, "month": 2.0, "year": 1.5}

_WILDCARDS = re.compile(r"[*%?_]")
_DATE = re.compile(r"^([0-9]{4})(?:-([0-9]{1,2})(?:-([0-9]{1,2}))?)?$")
_SEXES = {"F": "F", "M": "M", "U": "U", "FEMALE": "F", "MALE": "M", "UNKNOWN": "U"}


@dataclass(frozen=True)
class SearchCriteria:
    """What was typed, as typed. Every field optional; :func:`parse_criteria` decides if it is enough."""

    given_name: str = ""
    family_name: str = ""
    date_of_birth: str = ""
    postcode: str = ""
    sex: str = ""
    nhs_number: str = ""
    upn: str = ""

    def fields_given(self) -> list[str]:
        """Names (not values) of the fields that were filled in, for the audit trail."""
        return [name for name, value in vars(self).items() if value and str(value).strip()]


@dataclass(frozen=True)
class ParsedCriteria:
    given_name: str
    family_name: str
    dob_precision: str  # "day", "month", "year" or ""
    dates_of_birth: tuple[datetime.date, ...]  # for "day": as typed (if real) and day/month swapped
    typed_date_is_real: bool
    birth_year: int | None
    birth_month: int | None
    postcode: str
    sex: str
    nhs_number: str
    upn: str

    @property
    def has_names(self) -> bool:
        return bool(self.family_name)


def _letters(value: str) -> int:
    return sum(1 for char in value if unicodedata.category(char).startswith("L"))


def _check_text(label: str, value: str) -> None:
    if any(unicodedata.category(char) == "Cc" for char in value):
        raise SearchCriteriaError(f"{label}: control characters are not allowed")


def _check_name(label: str, value: str) -> str:
    _check_text(label, value)
    value = " ".join(value.split())
    if not value:
        return ""
    if _WILDCARDS.search(value):
        raise SearchCriteriaError(f"{label}: wildcards (* % ? _) are not allowed; type the name as you know it")
    if len(value) > 100:
        raise SearchCriteriaError(f"{label}: at most 100 characters")
    if _letters(value) < 2:
        raise SearchCriteriaError(f"{label}: give at least two letters, not an initial")
    return value


def _parse_date(value: str, today: datetime.date) -> tuple[str, tuple[datetime.date, ...], bool, int, int | None]:
    match = _DATE.match(value)
    if not match:
        raise SearchCriteriaError("date_of_birth: use YYYY-MM-DD, YYYY-MM or YYYY")
    year = int(match.group(1))
    if not today.year - OLDEST_AGE_YEARS <= year <= today.year:
        raise SearchCriteriaError(
            f"date_of_birth: the year must be between {today.year - OLDEST_AGE_YEARS} and {today.year}"
        )
    if match.group(2) is None:
        return "year", (), False, year, None
    month = int(match.group(2))
    if match.group(3) is None:
        if not 1 <= month <= 12:
            raise SearchCriteriaError("date_of_birth: the month must be between 01 and 12")
        return "month", (), False, year, month
    day = int(match.group(3))
    readings: list[datetime.date] = []
    typed_is_real = False
    for m, d in ((month, day), (day, month)):
        try:
            reading = datetime.date(year, m, d)
        except ValueError:
            continue
        if reading <= today and reading not in readings:
            readings.append(reading)
            typed_is_real = typed_is_real or (m, d) == (month, day)
    if not readings:
        raise SearchCriteriaError("date_of_birth: not a real date in the past, even with day and month swapped")
    return "day", tuple(readings), typed_is_real, year, month if typed_is_real else None


def parse_criteria(criteria: SearchCriteria, *, today: datetime.date | None = None) -> ParsedCriteria:
    """Check the minimum criteria and normalise. Raises :class:`SearchCriteriaError` saying what to add.

    Enough is: a family name with a full date of birth, or with a postcode, or with a given name and the
    year (or year and month) of birth; or a valid NHS number or unique pupil number on its own.
    """
    today = today or datetime.date.today()
    for label in ("date_of_birth", "postcode", "sex", "nhs_number", "upn"):
        _check_text(label, getattr(criteria, label))
    given = _check_name("given_name", criteria.given_name)
    family = _check_name("family_name", criteria.family_name)

    nhs = normalise_nhs_number(criteria.nhs_number.strip())
    if nhs and not is_valid_nhs_number(nhs):
        raise SearchCriteriaError("nhs_number: not a valid NHS number (10 digits with a correct check digit)")
    upn = normalise_upn(criteria.upn.strip())
    if upn and not is_valid_upn(upn):
        raise SearchCriteriaError("upn: not a valid unique pupil number (a check letter and 12 characters)")

    postcode = ""
    if criteria.postcode.strip():
        if _WILDCARDS.search(criteria.postcode):
            raise SearchCriteriaError("postcode: wildcards are not allowed; give the full postcode")
        if not is_valid_postcode(criteria.postcode):
            raise SearchCriteriaError("postcode: give a full UK postcode, such as B15 2TT")
        postcode = normalise_postcode(criteria.postcode)

    sex = ""
    if criteria.sex.strip():
        sex = _SEXES.get(criteria.sex.strip().upper(), "")
        if not sex:
            raise SearchCriteriaError("sex: use F, M or U")

    precision, typed_is_real, year, month = "", False, None, None
    dates: tuple[datetime.date, ...] = ()
    if criteria.date_of_birth.strip():
        precision, dates, typed_is_real, year, month = _parse_date(criteria.date_of_birth.strip(), today)

    enough = bool(nhs or upn) or bool(
        family and (precision == "day" or postcode or (given and precision in ("month", "year")))
    )
    if not enough:
        if not family:
            raise SearchCriteriaError(
                "not enough to search on: give a family name (with a date of birth, a postcode, or a given "
                "name and year of birth), or an NHS number or unique pupil number"
            )
        raise SearchCriteriaError(
            "not enough to search on: with a family name give a full date of birth, a postcode, or a given "
            "name and the year of birth"
        )
    return ParsedCriteria(
        given_name=given,
        family_name=family,
        dob_precision=precision,
        dates_of_birth=dates,
        typed_date_is_real=typed_is_real,
        birth_year=year,
        birth_month=month,
        postcode=postcode,
        sex=sex,
        nhs_number=nhs,
        upn=upn,
    )


# Scoring ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=65536)  # pure; common names recur across candidates and searches
def _string_score(typed: str, indexed: str, typed_dm: str, indexed_dm: str) -> float:
    """How well one folded name agrees with another: exact, phonetic, one or two typos, or a near miss."""
    if not typed or not indexed:
        return 0.0
    if typed == indexed:
        return 1.0
    best = 0.0
    if typed_dm and typed_dm == indexed_dm:
        best = 0.85
    distance = jellyfish.damerau_levenshtein_distance(typed, indexed)
    if distance == 1:
        best = max(best, 0.9)
    elif distance == 2 and min(len(typed), len(indexed)) >= 5:
        best = max(best, 0.75)
    jaro = jellyfish.jaro_winkler_similarity(typed, indexed)
    if jaro >= 0.8:
        best = max(best, 0.8 * (jaro - 0.8) / 0.2)
    return best


def _family_score(keys: QueryNameKeys, name: IndexedName) -> float:
    score = _string_score(keys.family, name.family, keys.family_dm, name.family_dm)
    if score < 1.0 and name.family in keys.family_parts:
        score = max(score, 0.9)  # typed Smith-Jones, known as Smith
    return score


def _given_score(keys: QueryNameKeys, canons: tuple[str, ...], name: IndexedName) -> float:
    score = _string_score(keys.given, name.given, keys.given_dm, name.given_dm)
    if score < 1.0 and name.given_canon in canons:
        score = max(score, 0.9)  # a nickname or another spelling of the same name (Bill, William)
    if score < 0.9 and keys.given in name.given_all.split(" "):
        score = max(score, 0.9)  # known by a middle name
    return score


def _swapped_score(keys: QueryNameKeys, name: IndexedName) -> float:
    """Given and family names typed the wrong way round."""
    if not keys.given:
        return 0.0
    family = _string_score(keys.given_as_family, name.family, keys.given_as_family_dm, name.family_dm)
    given = _string_score(keys.family, name.given, keys.family_dm, name.given_dm)
    return 0.9 * min(family, given)


def _dob_score(parsed: ParsedCriteria, dob: datetime.date | None) -> float:
    if dob is None:
        return 0.0
    if parsed.dob_precision == "day":
        if dob in parsed.dates_of_birth:
            typed_first = parsed.typed_date_is_real and dob == parsed.dates_of_birth[0]
            return 1.0 if typed_first or len(parsed.dates_of_birth) == 1 else 0.9
        typed = parsed.dates_of_birth[0]
        if dob.year == typed.year and dob.month == typed.month:
            return 0.5 if jellyfish.levenshtein_distance(f"{dob.day:02d}", f"{typed.day:02d}") == 1 else 0.3
        if (dob.month, dob.day) == (typed.month, typed.day) and abs(dob.year - typed.year) <= 1:
            return 0.5
        return 0.0
    if parsed.dob_precision == "month":
        if dob.year == parsed.birth_year:
            return 1.0 if dob.month == parsed.birth_month else 0.4
        return 0.0
    if parsed.dob_precision == "year":
        if dob.year == parsed.birth_year:
            return 1.0
        return 0.3 if parsed.birth_year is not None and abs(dob.year - parsed.birth_year) == 1 else 0.0
    return 0.0


def _postcode_score(postcode: str, known: Iterable[tuple[str, bool]]) -> float:
    best = 0.0
    district = postcode_district(postcode)
    for candidate, is_current in known:
        if candidate == postcode:
            return 1.0 if is_current else max(best, 0.95)  # a moved-from postcode still finds the child
        if is_current and postcode_district(candidate) == district:
            best = max(best, 0.4)
    return best


@dataclass(frozen=True)
class Match:
    candidate: SearchCandidate
    score: float  # on every field the search gave
    visible_score: float | None  # on name, sex and date of birth only (None when the search gave no name)


def _score(
    parsed: ParsedCriteria, keys: QueryNameKeys, canons: tuple[str, ...], candidate: SearchCandidate
) -> Match:
    visible: list[tuple[float, float]] = []  # (weight, agreement) on fields a shielded child shows
    hidden: list[tuple[float, float]] = []
    if parsed.family_name:
        best_names = 0.0
        best_family = best_given = 0.0
        for name in candidate.names:
            family = _family_score(keys, name)
            given = _given_score(keys, canons, name) if parsed.given_name else 0.0
            swapped = _swapped_score(keys, name) if parsed.given_name else 0.0
            if swapped > family and swapped > 0:
                family, given = swapped, swapped
            combined = W_FAMILY * family + (W_GIVEN * given if parsed.given_name else 0.0)
            if combined > best_names:
                best_names, best_family, best_given = combined, family, given
        visible.append((W_FAMILY, best_family))
        if parsed.given_name:
            visible.append((W_GIVEN, best_given))
    if parsed.dob_precision:
        visible.append((W_DOB[parsed.dob_precision], _dob_score(parsed, candidate.date_of_birth)))
    if parsed.sex and parsed.sex != "U":
        agreement = 0.5 if candidate.sex == "U" else float(candidate.sex == parsed.sex)
        visible.append((W_SEX, agreement))
    if parsed.postcode:
        hidden.append((W_POSTCODE, _postcode_score(parsed.postcode, candidate.postcodes)))
    identifier_match = False
    if parsed.nhs_number:
        identifier_match = identifier_match or candidate.nhs_number == parsed.nhs_number
        hidden.append((W_IDENTIFIER, float(candidate.nhs_number == parsed.nhs_number)))
    if parsed.upn:
        identifier_match = identifier_match or candidate.upn == parsed.upn
        hidden.append((W_IDENTIFIER, float(candidate.upn == parsed.upn)))

    def mean(parts: list[tuple[float, float]]) -> float:
        total = sum(weight for weight, _ in parts)
        return sum(weight * agreement for weight, agreement in parts) / total if total else 0.0

    score = mean(visible + hidden)
    if identifier_match and not parsed.has_names:
        score = 1.0
    visible_score = mean(visible) if parsed.has_names else None
    return Match(candidate=candidate, score=round(score, 3), visible_score=visible_score)


def candidate_query(parsed: ParsedCriteria, keys: QueryNameKeys, *, local_authority_id: int | None) -> CandidateQuery:
    years: tuple[int, int] | None = None
    if parsed.birth_year is not None:
        years = (parsed.birth_year, parsed.birth_year)
        if parsed.dob_precision == "year":
            years = (parsed.birth_year - 1, parsed.birth_year + 1)
        elif parsed.dob_precision == "day":
            years = (min(d.year for d in parsed.dates_of_birth), max(d.year for d in parsed.dates_of_birth))
    canons = canonical_forenames(keys.given) if keys.given else ()
    return CandidateQuery(
        keys=keys,
        given_canons=canons,
        swapped_canons=canonical_forenames(keys.family) if keys.family else (),
        dates_of_birth=parsed.dates_of_birth,
        birth_years=years,
        postcode=parsed.postcode,
        nhs_number=parsed.nhs_number,
        upn=parsed.upn,
        local_authority_id=local_authority_id,
    )


def find_matches(parsed: ParsedCriteria, *, local_authority_id: int | None = None) -> list[Match]:
    """Every candidate with its scores, best first (no threshold, no shielding: see :func:`select`)."""
    keys = identity.search_query_keys(given_names=parsed.given_name, family_name=parsed.family_name)
    query = candidate_query(parsed, keys, local_authority_id=local_authority_id)
    matches = [_score(parsed, keys, query.given_canons, c) for c in identity.find_search_candidates(query)]
    matches.sort(key=lambda m: (-m.score, m.candidate.contactpoint_id))
    return matches


@dataclass(frozen=True)
class Selection:
    matches: list[Match]
    too_many: bool


def select(matches: list[Match]) -> Selection:
    """Keep the plausible matches (threshold, window), best first; too many is an answer of its own."""
    kept = [m for m in matches if m.score >= THRESHOLD]
    if kept:
        best = kept[0].score
        kept = [m for m in kept if m.score >= best - WINDOW]
    if len(kept) > MAX_RESULTS:
        return Selection(matches=[], too_many=True)
    return Selection(matches=kept, too_many=False)
