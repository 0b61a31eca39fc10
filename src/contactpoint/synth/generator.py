"""Deterministic synthetic population of children and the source-system feeds that describe them.

The generator works in two phases:

1. **Population** (the truth): households in one local authority area, each with an address, carers and
   one to six children (siblings share surname and address; some are twins). Every child gets an NHS
   number, school-age children a UPN, a GP practice and a school, and a few children a social worker.
2. **Feeds**: each source system (NHS demographics, child benefit, school census, social care) records
   the children it knows about, through its own noisy lens: nicknames, typos, alternative spellings,
   stale addresses and surnames, transposed dates of birth, missing fields, duplicate records and the
   occasional wrong NHS number. Rows are shuffled and source record ids are random, so nothing in a feed
   gives away which records belong together; ``truth.csv`` says which person each record describes.

Everything is drawn from one ``random.Random(seed)`` in a fixed order, dates are relative to the fixed
:data:`REFERENCE_DATE`, and no set of strings is ever iterated, so the same seed gives byte-identical
files on any machine running the same Python version.
"""

from __future__ import annotations

import bisect
import csv
import gc
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Generic, TypeVar

from . import names as name_data
from .identifiers import (
    NHS_ENGLAND_PREFIX,
    NHS_TEST_PREFIX,
    UPN_LETTERS,
    format_nhs_number,
    make_temporary_upn,
    make_upn,
    random_nhs_number,
)
from .noise import (
    abbreviate_street,
    ascii_fold,
    format_postcode,
    nickname,
    phonetic_variant,
    postcode_typo,
    transpose_day_month,
    typo,
)
from .places import AREAS, INWARD_LETTERS, SCHOOL_SAINTS, STREET_STEMS, STREET_TYPES, Area, Neighbourhood

__all__ = [
    "FEED_COLUMNS",
    "REFERENCE_DATE",
    "SOURCES",
    "TRUTH_COLUMNS",
    "NoiseProfile",
    "SourceSpec",
    "SynthSummary",
    "generate",
]

# All dates are relative to this fixed day (the start of the 2026/27 school year), never to "today",
# so output does not drift with the calendar. Children are aged 0–17 on this date.
REFERENCE_DATE = date(2026, 9, 1)

# The feed columns of docs/feeds.md, in that order.
FEED_COLUMNS: tuple[str, ...] = (
    "source_record_id",
    "given_names",
    "family_name",
    "former_family_names",
    "date_of_birth",
    "sex",
    "address_line_1",
    "address_line_2",
    "town",
    "postcode",
    "nhs_number",
    "upn",
    "local_authority",
    "retention_condition",
    "carer_given_names",
    "carer_family_name",
    "carer_relationship",
    "carer_phone",
    "carer_email",
    "service_type",
    "organisation_code",
    "organisation_name",
    "practitioner_name",
    "practitioner_role",
    "practitioner_phone",
    "practitioner_email",
    "involvement_start",
    "involvement_end",
    "consent_recorded",
)
TRUTH_COLUMNS: tuple[str, ...] = ("source", "source_record_id", "person_id")
_COLUMN_INDEX = {column: index for index, column in enumerate(FEED_COLUMNS)}
_UPPERCASED = (
    "given_names", "family_name", "former_family_names", "address_line_1", "address_line_2", "town",
    "carer_given_names", "carer_family_name",
)


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """A source system: its code (also the feed's file stem), display name and trust level (1–10)."""

    code: str
    name: str
    trust_level: int


NHS = SourceSpec("nhs_demographics", "NHS demographics", 9)
CHILD_BENEFIT = SourceSpec("child_benefit", "HMRC Child Benefit", 8)
SCHOOL_CENSUS = SourceSpec("school_census", "DfE school census", 7)
SOCIAL_CARE = SourceSpec("social_care", "Local authority children's social care", 6)
SOURCES: tuple[SourceSpec, ...] = (NHS, CHILD_BENEFIT, SCHOOL_CENSUS, SOCIAL_CARE)


@dataclass(frozen=True, slots=True)
class SynthSummary:
    """What :func:`generate` wrote: how many children, how many records per source, and where."""

    children: int
    records: dict[str, int]
    path: Path
    households: int = 0

    @property
    def total_records(self) -> int:
        """Records across all source feeds."""
        return sum(self.records.values())


@dataclass(frozen=True, slots=True)
class NoiseProfile:
    """Per-record probabilities of each kind of error for one source.

    ``stale_address`` and ``stale_surname`` apply only to households that moved or changed name: they
    are the chance that this source still holds the old value. ``missing_locality`` is the chance that
    the locality line (address line 2) is left out. ``missing`` maps a feed column to the chance that it
    is blank.
    """

    nickname: float
    given_typo: float
    family_typo: float
    phonetic: float
    drop_middle: float
    dob_transposed: float
    dob_error: float
    sex_unknown: float
    stale_address: float
    stale_surname: float
    former_recorded: float
    abbreviate_street: float
    postcode_typo: float
    uppercase: float
    ascii_fold: float
    duplicate: float
    wrong_nhs: float
    missing_locality: float
    missing: dict[str, float] = field(default_factory=dict)

    def noisier(self, factor: float) -> NoiseProfile:
        """The same profile with every error rate multiplied (used for duplicate records, which are
        typically keyed in again by someone who did not find the first record)."""
        scaled = {
            name: min(0.9, getattr(self, name) * factor)
            for name in (
                "nickname", "given_typo", "family_typo", "phonetic", "dob_transposed", "dob_error",
                "sex_unknown", "postcode_typo",
            )
        }
        return replace(self, **scaled)


# Rates are judgement calls informed by published data-quality reports: school records use preferred
# names (so more nicknames and fewer middle names), child benefit is keyed from paper claims (more
# typos, upper case, stripped accents) and social care records are the least tidy.
PROFILES: dict[str, NoiseProfile] = {
    NHS.code: NoiseProfile(
        nickname=0.02, given_typo=0.01, family_typo=0.008, phonetic=0.01, drop_middle=0.05,
        dob_transposed=0.002, dob_error=0.002, sex_unknown=0.003, stale_address=0.25, stale_surname=0.30,
        former_recorded=0.85, abbreviate_street=0.10, postcode_typo=0.003, uppercase=0.0, ascii_fold=0.3,
        duplicate=0.008, wrong_nhs=0.002, missing_locality=0.45,
        missing={
            "date_of_birth": 0.001, "address_line_1": 0.005, "town": 0.02,
            "postcode": 0.005, "nhs_number": 0.008, "local_authority": 0.10,
        },
    ),
    CHILD_BENEFIT.code: NoiseProfile(
        nickname=0.03, given_typo=0.015, family_typo=0.015, phonetic=0.02, drop_middle=0.10,
        dob_transposed=0.005, dob_error=0.003, sex_unknown=0.01, stale_address=0.15, stale_surname=0.45,
        former_recorded=0.60, abbreviate_street=0.30, postcode_typo=0.005, uppercase=0.35, ascii_fold=0.6,
        duplicate=0.006, wrong_nhs=0.0, missing_locality=0.5,
        missing={
            "date_of_birth": 0.002, "address_line_1": 0.003, "town": 0.01,
            "postcode": 0.003, "carer_relationship": 0.03, "carer_phone": 0.2, "carer_email": 0.45,
        },
    ),
    SCHOOL_CENSUS.code: NoiseProfile(
        nickname=0.10, given_typo=0.012, family_typo=0.01, phonetic=0.015, drop_middle=0.55,
        dob_transposed=0.004, dob_error=0.003, sex_unknown=0.002, stale_address=0.35, stale_surname=0.50,
        former_recorded=0.40, abbreviate_street=0.15, postcode_typo=0.005, uppercase=0.0, ascii_fold=0.3,
        duplicate=0.012, wrong_nhs=0.0, missing_locality=0.35,
        missing={
            "date_of_birth": 0.001, "address_line_1": 0.01, "town": 0.03,
            "postcode": 0.015, "upn": 0.01, "local_authority": 0.02, "carer_phone": 0.08, "carer_email": 0.35,
        },
    ),
    SOCIAL_CARE.code: NoiseProfile(
        nickname=0.08, given_typo=0.03, family_typo=0.03, phonetic=0.025, drop_middle=0.45,
        dob_transposed=0.01, dob_error=0.012, sex_unknown=0.02, stale_address=0.10, stale_surname=0.15,
        former_recorded=0.90, abbreviate_street=0.25, postcode_typo=0.015, uppercase=0.05, ascii_fold=0.4,
        duplicate=0.035, wrong_nhs=0.02, missing_locality=0.4,
        missing={
            "date_of_birth": 0.02, "address_line_1": 0.03, "town": 0.05,
            "postcode": 0.04, "nhs_number": 0.12, "upn": 0.55, "carer_phone": 0.2, "carer_email": 0.5,
            "practitioner_phone": 0.1, "practitioner_email": 0.15,
        },
    ),
}

# Household and population rates.
# Completed family sizes; only the children under 18 on the reference date appear, which gives the
# familiar mix of dependent children per household (most have one or two).
_HOUSEHOLD_SIZES = ((1, 20), (2, 40), (3, 23), (4, 10), (5, 4), (6, 2), (7, 1))
_TWIN_RATE = 0.045  # per family of 2+: about 3% of children are twins, as in England
_HYPHENATED_SURNAME_RATE = 0.03
_SURNAME_CHANGE_RATE = 0.02
_MOVED_RATE = 0.08
_CHILD_BENEFIT_CLAIM_RATE = 0.90
_SOCIAL_CARE_HOUSEHOLD_RATE = 0.05
_SEN_RATE = 0.03
_MENTAL_HEALTH_RATE = 0.015  # of 11–17 year olds, recorded by CAMHS
_HEALTH_VISITOR_RATE = 0.30  # of under-5s with a health visitor record
_MUHAMMAD = frozenset({"Muhammad", "Mohammed", "Mohammad"})
_EMAIL_DOMAINS = (
    # Reserved for documentation (RFC 2606) so no generated address can reach a real mailbox.
    "example.com", "example.org", "example.net", "mail.example.com", "inbox.example.org", "post.example.net",
)
# DfE LA numbers of other authorities, for children whose UPN was issued before they moved here.
_OTHER_LA_NUMBERS = (
    tuple(range(201, 214)) + tuple(range(301, 321)) + tuple(range(330, 337)) + tuple(range(350, 360))
    + tuple(range(370, 374)) + tuple(range(380, 385)) + tuple(range(390, 395)) + tuple(range(800, 804))
    + tuple(range(865, 897)) + (908, 909, 916, 919, 921, 925, 926, 928, 929, 931, 933, 935, 936, 937, 938)
)

_REF = REFERENCE_DATE.toordinal()
_MIN_DOB = date(REFERENCE_DATE.year - 18, REFERENCE_DATE.month, REFERENCE_DATE.day).toordinal() + 1
_MAX_DOB = _REF - 1
_OLDEST_VALID = date(REFERENCE_DATE.year - 26, REFERENCE_DATE.month, REFERENCE_DATE.day).toordinal() + 1

_BASE32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

T = TypeVar("T")


# random.Random.randint and .choice spend most of their time in argument checking; these two are
# called millions of times for a large population, and are just as deterministic.
def _randint(rng: random.Random, low: int, high: int) -> int:
    """A uniform integer in ``[low, high]``."""
    return low + int(rng.random() * (high - low + 1))


def _pick(rng: random.Random, items: Sequence[T]) -> T:
    """A uniform choice from a non-empty sequence."""
    return items[int(rng.random() * len(items))]


class _Weighted(Generic[T]):
    """A fast weighted choice over a fixed list (bisect over cumulative weights)."""

    __slots__ = ("_items", "_cum", "_total")

    def __init__(self, pairs: Sequence[tuple[T, float]]) -> None:
        self._items = [item for item, _ in pairs]
        self._cum: list[float] = []
        total = 0.0
        for _, weight in pairs:
            total += weight
            self._cum.append(total)
        self._total = total

    def __call__(self, rng: random.Random) -> T:
        return self._items[bisect.bisect_right(self._cum, rng.random() * self._total)]


# --- the population model -------------------------------------------------------------------------


@dataclass(slots=True)
class _Street:
    name: str
    hood: Neighbourhood
    district: str
    sector: int
    units: tuple[str, ...]
    max_number: int


@dataclass(frozen=True, slots=True)
class _Address:
    flat: str  # "" or e.g. "Flat 3"
    number: int
    street: str
    locality: str
    town: str
    postcode: str


@dataclass(slots=True)
class _Carer:
    given: str
    family: str
    former_family: str  # the name a source that missed a marriage still holds
    sex: str
    relationship: str
    phone: str  # digits only, e.g. 07700900123
    old_phone: str  # a previous number still held by stale sources, or ""
    email: str


@dataclass(frozen=True, slots=True)
class _Org:
    code: str
    name: str
    hood: str
    phone: str
    staff: tuple[str, ...] = ()  # GPs at a practice, the SENCo at a school
    establishment: int = 0  # DfE establishment number (schools)


@dataclass(frozen=True, slots=True)
class _Practitioner:
    name: str
    role: str
    phone: str
    email: str


@dataclass(slots=True)
class _Household:
    tradition: str
    address: _Address
    previous_address: _Address | None
    carers: list[_Carer]
    claims_child_benefit: bool
    gp: _Org
    primary: _Org
    secondary: _Org
    children: list[_Person] = field(default_factory=list)
    # Per source: (holds the previous address, holds the former surname). Drawn once per household
    # because a source updates a family's record as a whole.
    views: dict[str, tuple[bool, bool]] = field(default_factory=dict)


@dataclass(slots=True)
class _Person:
    pid: str
    sex: str
    given: list[str]
    family: str
    former: str
    tradition: str
    dob: int  # ordinal
    nhs: str
    household: _Household
    year_group: int  # 0 = reception; negative before school
    age: int  # on REFERENCE_DATE
    upn: str = ""
    gp: _Org | None = None
    school: _Org | None = None
    sen: bool = False
    social_care: bool = False
    looked_after: bool = False
    placement: _Address | None = None
    foster_carer: _Carer | None = None
    social_worker: _Practitioner | None = None
    sc_start: int = 0
    sc_end: int = 0


def _feminine(surname: str) -> str:
    """The women's form of a Polish-style surname (Kowalski → Kowalska); other surnames unchanged."""
    parts = surname.split("-")
    for i, part in enumerate(parts):
        for masc, fem in name_data.FEMALE_SURNAME_FORMS:
            if part.endswith(masc):
                parts[i] = part[: -len(masc)] + fem
                break
    return "-".join(parts)


def _masculine(surname: str) -> str:
    """Inverse of :func:`_feminine`: what a form filled in under the father's name would say."""
    parts = surname.split("-")
    for i, part in enumerate(parts):
        for masc, fem in name_data.FEMALE_SURNAME_FORMS:
            if part.endswith(fem):
                parts[i] = part[: -len(fem)] + masc
                break
    return "-".join(parts)


def _age(dob: int) -> int:
    """Age in whole years on :data:`REFERENCE_DATE`."""
    born = date.fromordinal(dob)
    before_birthday = (REFERENCE_DATE.month, REFERENCE_DATE.day) < (born.month, born.day)
    return REFERENCE_DATE.year - born.year - before_birthday


def _email_part(name: str) -> str:
    """A name as it appears in an email address: lower case, ASCII, no spaces or apostrophes."""
    return ascii_fold(name.lower()).replace("'", "").replace(" ", "")


def _school_year_of_entry(dob: int) -> int:
    """Calendar year in which a child born on ``dob`` starts reception (the September after age 4)."""
    born = date.fromordinal(dob)
    cohort = born.year if born.month >= 9 else born.year - 1  # the academic year of birth
    return cohort + 5


# Collisions in a row before a school's name gets a distinguishing suffix. Small populations never
# reach it (so their output is unchanged); at a million children the plain names run out.
_NAME_MISSES_BEFORE_SUFFIX = 200
# Establishment numbers are four digits within an authority: 2000-3999 for primaries (one per
# 700 children) and 4000-4999 for secondaries (one per 2,000); GP practice codes are a prefix and three
# digits (one practice per 1,200 children). Together they bound one authority's population.
MAX_CHILDREN = 2000 * 700


def max_children(area: Area) -> int:
    """The most children :func:`generate` can place in ``area`` before its organisation codes run out."""
    return min(MAX_CHILDREN, len(set(area.gp_prefixes)) * 1000 * 1200)


class _Generator:
    """Holds the RNG, the area's organisations and the population while feeds are produced."""

    def __init__(self, children: int, seed: int, area: Area) -> None:
        self.n = children
        self.rng = random.Random(seed)
        self.area = area
        self.girls = {t: _Weighted(p) for t, p in name_data.GIRLS.items()}
        self.boys = {t: _Weighted(p) for t, p in name_data.BOYS.items()}
        self.surnames = {t: _Weighted(p) for t, p in name_data.SURNAMES.items()}
        self.women = {t: _Weighted(p) for t, p in name_data.ADULT_FEMALE.items()}
        self.men = {t: _Weighted(p) for t, p in name_data.ADULT_MALE.items()}
        self.tradition = _Weighted(area.traditions)
        self.sizes = _Weighted(_HOUSEHOLD_SIZES)
        self.street_type = _Weighted(STREET_TYPES)
        self.hood_choice = _Weighted([(hood, float(hood.weight)) for hood in area.neighbourhoods])
        # The NHS test range (999…) holds ~900k valid numbers; beyond that use England's issued range
        # (4…): not the whole ten-digit space, part of which is Scotland's CHI range, whose numbers
        # begin with a date of birth and are invalid otherwise (a quarter of a random draw).
        self.nhs_prefix = NHS_TEST_PREFIX if children * 1.2 < 400_000 else NHS_ENGLAND_PREFIX
        self.nhs_used: set[str] = set()
        self.upn_used: set[str] = set()
        self.upn_serials: dict[tuple[int, int, int], int] = {}
        self.emails_used: set[str] = set()
        self.phones_used: set[str] = set()
        self.addresses_used: set[tuple[str, str, int, str]] = set()
        self.ids_used: dict[str, set[str]] = {spec.code: set() for spec in SOURCES}
        households_estimate = max(1, int(children / 1.9))
        self.streets = self._build_streets(households_estimate)
        self.streets_by_hood: dict[str, list[_Street]] = {}
        for street in self.streets:
            self.streets_by_hood.setdefault(street.hood.name, []).append(street)
        self.urns_used: set[str] = set()
        self.establishments_used: set[int] = set()
        self.practices = self._build_practices(max(3, children // 1200))
        self.primaries = self._build_schools(max(4, children // 700), secondary=False)
        self.secondaries = self._build_schools(max(2, children // 2000), secondary=True)
        self.orgs = {"gp": self.practices, "primary": self.primaries, "secondary": self.secondaries}
        # Indexed once: scanning every organisation for every household would be quadratic.
        self.orgs_by_hood: dict[str, dict[str, list[_Org]]] = {}
        for kind, orgs in self.orgs.items():
            index: dict[str, list[_Org]] = {}
            for org in orgs:
                index.setdefault(org.hood, []).append(org)
            self.orgs_by_hood[kind] = index
        self.social_workers = self._build_staff(
            max(3, children // 250),
            (("Social Worker", 70), ("Senior Social Worker", 20), ("Advanced Practitioner", 10)),
            f"{area.email_slug}.example.org",
        )
        self.personal_advisers = self._build_staff(
            max(2, children // 2500), (("Personal Adviser", 1),), f"{area.email_slug}.example.org"
        )
        self.health_visitors = self._build_staff(
            max(2, children // 700),
            (("Health Visitor", 9), ("Community Nursery Nurse", 1)),
            "nhs.example.net",
        )
        self.camhs_staff = self._build_staff(
            max(2, children // 1500),
            (("CAMHS Practitioner", 5), ("Clinical Psychologist", 2), ("Mental Health Nurse", 3)),
            "nhs.example.net",
        )
        self.people: list[_Person] = []
        self.households: list[_Household] = []

    # --- places and organisations ---------------------------------------------------------------

    def _build_streets(self, households: int) -> list[_Street]:
        rng = self.rng
        total_weight = sum(hood.weight for hood in self.area.neighbourhoods)
        # About 40 households with children per street, but never fewer than a handful per area.
        per_weight = max(2.0, households / 40 / total_weight)
        streets: list[_Street] = []
        for hood in self.area.neighbourhoods:
            names: dict[str, None] = {}
            arterials = rng.sample(self.area.arterial_roads, k=_randint(rng, 0, 2))
            for road in arterials:
                names[road] = None
            target = max(3, round(hood.weight * per_weight))
            while len(names) < target + len(arterials):
                stem = _pick(rng, STREET_STEMS)
                kind = self.street_type(rng)
                names[f"{stem} {kind}"] = None
            for street_name in names:
                max_number = _pick(rng, (12, 24, 40, 60, 80, 120, 160, 240))
                n_units = 1 + max_number // 40
                units: dict[str, None] = {}
                while len(units) < n_units:
                    units[_pick(rng, INWARD_LETTERS) + _pick(rng, INWARD_LETTERS)] = None
                streets.append(
                    _Street(
                        name=street_name,
                        hood=hood,
                        district=_pick(rng, hood.districts),
                        sector=_randint(rng, 0, 9),
                        units=tuple(units),
                        max_number=max_number,
                    )
                )
        return streets

    def _landline(self) -> str:
        return f"{self.area.dialling_code} {_randint(self.rng, 200, 799)} {_randint(self.rng, 0, 9999):04d}"

    def _adult_name(self, sex: str, tradition: str | None = None) -> tuple[str, str]:
        rng = self.rng
        trad = tradition or self.tradition(rng)
        given = (self.women if sex == "F" else self.men)[trad](rng)
        family = self.surnames[trad](rng)
        return given, (_feminine(family) if sex == "F" else family)

    def _build_practices(self, count: int) -> list[_Org]:
        rng = self.rng
        codes: dict[str, None] = {}
        names: dict[str, None] = {}
        practices: list[_Org] = []
        misses = 0  # draws in a row that collided with a practice already made
        while len(practices) < count:
            code = f"{_pick(rng, self.area.gp_prefixes)}{_randint(rng, 0, 999):03d}"
            hood = self.hood_choice(rng)
            pattern = rng.randrange(7)
            if pattern == 0:
                name = f"{hood.name} Medical Centre"
            elif pattern == 1:
                name = f"{hood.name} Health Centre"
            elif pattern == 2:
                name = f"{hood.name} Surgery"
            elif pattern == 3:
                name = f"{hood.name} Family Practice"
            elif pattern == 4:
                name = f"{_pick(rng, STREET_STEMS)} Road Surgery"
            elif pattern == 5:
                name = f"The {_pick(rng, STREET_STEMS)} Practice"
            else:
                name = f"Dr {self._adult_name('M')[1]} and Partners"
            if name in names and misses >= _NAME_MISSES_BEFORE_SUFFIX:
                name = f"{name}, {hood.name}"  # as for schools: the plain names run out near a million children
            if code in codes or name in names:
                misses += 1
                continue
            misses = 0
            codes[code] = names[name] = None
            gps = tuple(
                "Dr " + " ".join(self._adult_name(_pick(rng, "FM"))) for _ in range(_randint(rng, 2, 8))
            )
            practices.append(_Org(code, name, hood.name, self._landline(), gps))
        return practices

    def _build_schools(self, count: int, *, secondary: bool) -> list[_Org]:
        rng = self.rng
        names: dict[str, None] = {}
        schools: list[_Org] = []
        misses = 0  # draws in a row that collided with a school already made
        while len(schools) < count:
            hood = self.hood_choice(rng)
            stem = _pick(rng, STREET_STEMS)
            saint = _pick(rng, SCHOOL_SAINTS)
            options: tuple[str, ...]
            if secondary:
                options = (
                    f"{hood.name} School", f"{hood.name} Academy", f"{hood.name} High School",
                    f"{saint} Catholic School", f"{stem} Park Academy", f"{hood.name} Community School",
                    f"{stem} Hill School",
                )
            else:
                options = (
                    f"{hood.name} Primary School", f"{hood.name} Junior and Infant School",
                    f"{saint} Catholic Primary School", f"{saint} C of E Primary School",
                    f"{stem} Primary Academy", f"{hood.name} Community Primary School",
                    f"{stem} Park Primary School", f"{stem} Nursery and Primary School",
                )
            name = _pick(rng, options)
            urn = f"{_randint(rng, 100000, 149999)}"
            estab = _randint(rng, 4000, 4999) if secondary else _randint(rng, 2000, 3999)
            if name in names and misses >= _NAME_MISSES_BEFORE_SUFFIX:
                # A big population has used every plain name: add a street to it, as
                # duplicate school names within one authority are told apart in life.
                name = f"{name}, {stem} Road"
            if name in names or urn in self.urns_used or estab in self.establishments_used:
                misses += 1
                continue
            misses = 0
            names[name] = None
            self.urns_used.add(urn)
            self.establishments_used.add(estab)
            senco = " ".join(self._adult_name("F" if rng.random() < 0.8 else "M", "gb"))
            schools.append(_Org(urn, name, hood.name, self._landline(), (senco,), estab))
        return schools

    def _build_staff(self, count: int, roles: Sequence[tuple[str, int]], domain: str) -> list[_Practitioner]:
        rng = self.rng
        role_choice = _Weighted(roles)
        staff = []
        for _ in range(count):
            given, family = self._adult_name("F" if rng.random() < 0.8 else "M")
            local = f"{_email_part(given)}.{_email_part(family)}"
            email = self._unique_email(local, domain)
            phone = self._landline() if rng.random() < 0.7 else self._mobile()
            staff.append(_Practitioner(f"{given} {family}", role_choice(rng), phone, email))
        return staff

    def _unique_email(self, local: str, domain: str) -> str:
        email = f"{local}@{domain}"
        suffix = 2
        while email in self.emails_used:
            email = f"{local}{suffix}@{domain}"
            suffix += 1
        self.emails_used.add(email)
        return email

    def _mobile(self) -> str:
        """A UK mobile number (digits only) not yet used: a shared number would wrongly link families."""
        rng = self.rng
        while True:
            number = f"07{_pick(rng, '1234579')}{_randint(rng, 0, 99_999_999):08d}"
            if number not in self.phones_used:
                self.phones_used.add(number)
                return number

    def _new_address(self, hood: Neighbourhood | None = None) -> _Address:
        rng = self.rng
        while True:
            chosen = hood or self.hood_choice(rng)
            street = _pick(rng, self.streets_by_hood[chosen.name])
            number = _randint(rng, 1, street.max_number)
            flat = f"Flat {_randint(rng, 1, 12)}" if rng.random() < 0.12 else ""
            key = (street.hood.name, street.name, number, flat)
            if key in self.addresses_used:
                continue
            self.addresses_used.add(key)
            unit = street.units[(number - 1) * len(street.units) // street.max_number]
            postcode = f"{street.district} {street.sector}{unit}"
            return _Address(flat, number, street.name, street.hood.name, street.hood.town, postcode)

    def _local_org(self, kind: str, hood: str) -> _Org:
        """A GP practice or school (``kind``) in the family's neighbourhood if there is one (usually),
        else anywhere in the area."""
        rng = self.rng
        if rng.random() < 0.75:
            nearby = self.orgs_by_hood[kind].get(hood)
            if nearby:
                return _pick(rng, nearby)
        return _pick(rng, self.orgs[kind])

    # --- households and children ----------------------------------------------------------------

    def _carer(self, sex: str, relationship: str, tradition: str, family: str) -> _Carer:
        rng = self.rng
        trad = tradition if rng.random() < 0.9 else "gb"
        given = (self.women if sex == "F" else self.men)[trad](rng)
        phone = self._mobile() if rng.random() < 0.93 else ""
        old_phone = self._mobile() if phone and rng.random() < 0.1 else ""
        email = ""
        if rng.random() < 0.75:
            first, last = (_email_part(part) for part in (given, family))
            pattern = rng.randrange(5)
            if pattern == 0:
                local = f"{first}.{last}"
            elif pattern == 1:
                local = f"{first}{last}{_randint(rng, 1, 99)}"
            elif pattern == 2:
                local = f"{first[0]}{last}"
            elif pattern == 3:
                local = f"{first}_{last}{_randint(rng, 70, 99)}"
            else:
                local = f"{first}{_randint(rng, 1, 999)}"
            email = self._unique_email(local, _pick(rng, _EMAIL_DOMAINS))
        return _Carer(given, family, "", sex, relationship, phone, old_phone, email)

    def _birth_dates(self, limit: int) -> tuple[list[int], int]:
        """Birth dates (ordinals, eldest first) of a family's children who are under 18, at most
        ``limit`` of them, and the index of the elder twin among them (-1 if no twins)."""
        rng = self.rng
        size = self.sizes(rng)  # all the children the family has had, not only those under 18
        twins_at = rng.randrange(size - 1) if size >= 2 and rng.random() < _TWIN_RATE else -1
        offsets = [0]
        for i in range(size - 1):
            offsets.append(offsets[-1] + (0 if i == twins_at else _randint(rng, 330, 1900)))
        # The first birth may fall before the window (elder children are adults now) or the last after
        # it (not born yet). Placing the first birth uniformly over that extended range makes each
        # child's birth date uniform over the 18 years, as in a snapshot of a real population.
        first = _randint(rng, _MIN_DOB - offsets[-1], _MAX_DOB)
        kept = [i for i, offset in enumerate(offsets) if _MIN_DOB <= first + offset <= _MAX_DOB][:limit]
        twins = kept.index(twins_at) if twins_at in kept and twins_at + 1 in kept else -1
        return [first + offsets[i] for i in kept], twins

    def _household(self, limit: int) -> _Household | None:
        """A new household with between 1 and ``limit`` children, or ``None`` if all its children are
        adults or unborn (the caller simply draws another)."""
        rng = self.rng
        dobs, twins_at = self._birth_dates(limit)
        if not dobs:
            return None
        tradition = self.tradition(rng)
        # Most families' surnames share the tradition of their children's names; some cross over.
        if rng.random() < 0.92:
            surname_trad = tradition
        else:
            surname_trad = "gb" if tradition != "gb" else self.tradition(rng)
        surname = self.surnames[surname_trad](rng)
        if rng.random() < _HYPHENATED_SURNAME_RATE:
            second = self.surnames[self.tradition(rng)](rng)
            if second != surname:
                surname = f"{surname}-{second}"
        former = ""
        if rng.random() < _SURNAME_CHANGE_RATE:
            # A stepfather's name, an adoption or a deed poll: the children's name changed, and not
            # every source has caught up.
            former, surname = surname, self.surnames[surname_trad](rng)

        carers: list[_Carer] = []
        structure = rng.random()
        if structure < 0.02:
            # Kinship care: a grandparent as guardian.
            guardian_family = surname if rng.random() < 0.5 else self.surnames[tradition](rng)
            sex = "F" if rng.random() < 0.8 else "M"
            carers.append(self._carer(sex, "guardian", tradition, guardian_family))
        else:
            has_mother = structure < 0.96
            has_father = (not has_mother) or rng.random() < 0.62
            if has_mother:
                own_name = rng.random() < 0.35
                mother_family = _feminine(self.surnames[tradition](rng) if own_name else surname)
                mother = self._carer("F", "mother", tradition, mother_family)
                if former and not own_name:
                    mother.former_family = _feminine(former)
                carers.append(mother)
            if has_father:
                father_family = surname if rng.random() < 0.88 else self.surnames[tradition](rng)
                carers.append(self._carer("M", "father", tradition, father_family))

        address = self._new_address()
        previous = self._new_address() if rng.random() < _MOVED_RATE else None
        gp = self._local_org("gp", address.locality)
        household = _Household(
            tradition=tradition,
            address=address,
            previous_address=previous,
            carers=carers,
            claims_child_benefit=rng.random() < _CHILD_BENEFIT_CLAIM_RATE,
            gp=gp,
            primary=self._local_org("primary", address.locality),
            secondary=self._local_org("secondary", address.locality),
        )
        for spec in SOURCES:
            profile = PROFILES[spec.code]
            household.views[spec.code] = (
                rng.random() < profile.stale_address,
                rng.random() < profile.stale_surname,
            )
        self._children(household, dobs, twins_at, surname, former)
        return household

    def _children(
        self, household: _Household, dobs: list[int], twins_at: int, surname: str, former: str
    ) -> None:
        rng = self.rng
        taken: set[str] = set()
        previous_sex = ""
        for i, child_dob in enumerate(dobs):
            if i == twins_at + 1 and twins_at >= 0 and rng.random() < 0.35:
                sex = previous_sex  # identical twins are always the same sex
            else:
                sex = "M" if rng.random() < 0.512 else "F"
            previous_sex = sex
            given = self._given_names(household.tradition, sex, taken)
            taken.add(given[0])
            is_female = sex == "F"
            person = _Person(
                pid=f"P{len(self.people) + 1:07d}",
                sex=sex,
                given=given,
                family=_feminine(surname) if is_female else surname,
                former=(_feminine(former) if is_female else former) if former else "",
                tradition=household.tradition,
                dob=child_dob,
                nhs=self.new_nhs_number(),
                household=household,
                year_group=REFERENCE_DATE.year - _school_year_of_entry(child_dob),
                age=_age(child_dob),
            )
            person.gp = household.gp if rng.random() < 0.95 else _pick(rng, self.practices)
            self._schooling(person)
            household.children.append(person)
            self.people.append(person)

    def _given_names(self, tradition: str, sex: str, taken: set[str]) -> list[str]:
        rng = self.rng
        pools = self.girls if sex == "F" else self.boys
        keep = 0.85 if tradition != "gb" else 0.97
        trad = tradition if rng.random() < keep else ("gb" if tradition != "gb" else self.tradition(rng))
        first = pools[trad](rng)
        for _ in range(10):  # parents do not give two children the same first name
            if first not in taken:
                break
            first = pools[trad](rng)
        if trad == "gb" and rng.random() < (0.05 if sex == "F" else 0.025):
            suffix = _pick(rng, name_data.GIVEN_NAME_SUFFIXES[sex])
            if suffix != first:
                first = f"{first}-{suffix}"
        names = [first]
        roll = rng.random()
        middles = 2 if roll < 0.08 else 1 if roll < 0.62 else 0
        if first in _MUHAMMAD:
            middles = max(middles, 1 if rng.random() < 0.9 else 0)  # the name used day to day
        for _ in range(middles):
            middle = pools[trad if rng.random() < 0.6 else "gb"](rng)
            if middle not in names and middle not in _MUHAMMAD:
                names.append(middle)
        return names

    def new_nhs_number(self) -> str:
        """A valid NHS number not yet given to anyone in this population."""
        while True:
            number = random_nhs_number(self.rng, prefix=self.nhs_prefix)
            if number not in self.nhs_used:
                self.nhs_used.add(number)
                return number

    def _schooling(self, person: _Person) -> None:
        rng = self.rng
        household = person.household
        yg = person.year_group
        if yg < 0:
            return
        if yg <= 6:
            person.school = household.primary if rng.random() < 0.85 else _pick(rng, self.primaries)
        else:
            person.school = household.secondary if rng.random() < 0.85 else _pick(rng, self.secondaries)
        person.sen = rng.random() < _SEN_RATE
        # The UPN was issued by the school the child started at, in their reception year.
        entry_year = _school_year_of_entry(person.dob)
        if rng.random() < 0.05:
            la = _pick(rng, _OTHER_LA_NUMBERS)  # issued elsewhere before the family moved here
            while la == self.area.la_number:
                la = _pick(rng, _OTHER_LA_NUMBERS)
            estab = _randint(rng, 2000, 3999)
        else:
            first_school = person.school if yg <= 6 and rng.random() < 0.85 else household.primary
            la, estab = self.area.la_number, first_school.establishment
        for _ in range(20):
            key = (la, estab, entry_year % 100)
            serial = self.upn_serials.get(key, _randint(rng, 1, 40)) + _randint(rng, 1, 3)
            if serial <= 999:
                self.upn_serials[key] = serial
                upn = make_upn(la, estab, entry_year, serial)
                if upn not in self.upn_used:
                    self.upn_used.add(upn)
                    person.upn = upn
                    return
            estab = _randint(rng, 2000, 3999)
        raise RuntimeError("could not allocate a unique UPN")  # pragma: no cover - needs ~10^7 pupils

    def _social_care(self) -> None:
        """Pick children known to social care, with siblings often known together."""
        rng = self.rng
        for household in self.households:
            flagged = rng.random() < _SOCIAL_CARE_HOUSEHOLD_RATE
            placed: _Address | None = None
            placed_with: _Carer | None = None
            for person in household.children:
                if not (rng.random() < (0.8 if flagged else 0.01)):
                    continue
                person.social_care = True
                age = person.age
                if rng.random() < 0.15 + 0.02 * age:  # looked-after children skew older
                    person.looked_after = True
                    if placed is None or rng.random() > 0.6:  # siblings are placed together if possible
                        placed = self._new_address()
                        sex = "F" if rng.random() < 0.8 else "M"
                        foster_family = self._adult_name(sex, "gb" if rng.random() < 0.7 else None)[1]
                        placed_with = self._carer(sex, "foster_carer", "gb", foster_family)
                    person.placement, person.foster_carer = placed, placed_with
                care_leaver = person.looked_after and age >= 16
                pool = self.personal_advisers if care_leaver and rng.random() < 0.6 else self.social_workers
                person.social_worker = _pick(rng, pool)
                person.sc_start = max(person.dob + 1, _REF - _randint(rng, 30, 5 * 365))
                if person.sc_start < _REF - 1 and rng.random() < 0.25:
                    person.sc_end = _randint(rng, person.sc_start, _REF - 1)

    def build_population(self) -> None:
        """Phase 1: households, children and their identifiers, schools and GPs."""
        remaining = self.n
        while remaining > 0:
            household = self._household(remaining)
            if household is not None:
                self.households.append(household)
                remaining -= len(household.children)
        self._social_care()


class _FeedWriter:
    """Phase 2: renders each child as the sources see them."""

    def __init__(self, gen: _Generator) -> None:
        self.gen = gen
        self.rng = gen.rng
        self.rows: dict[str, list[tuple[list[str], str]]] = {spec.code: [] for spec in SOURCES}
        self.noisy = {code: profile.noisier(2.5) for code, profile in PROFILES.items()}
        self.nhs_all = [person.nhs for person in gen.people]

    # --- ids ------------------------------------------------------------------------------------

    def _record_id(self, source: str) -> str:
        rng = self.rng
        used = self.gen.ids_used[source]
        while True:
            if source == NHS.code:
                bits = rng.getrandbits(45)  # nine Crockford base-32 characters
                rid = "NHS-" + "".join(_BASE32[(bits >> shift) & 31] for shift in range(0, 45, 5))
            elif source == CHILD_BENEFIT.code:
                rid = f"CB-{_randint(rng, 0, 9_999_999_999):010d}"
            elif source == SCHOOL_CENSUS.code:
                rid = f"SC-{_randint(rng, 0, 999_999_999):09d}"
            else:
                rid = f"LA-{self.gen.area.la_number}-{_randint(rng, 0, 9_999_999):07d}"
            if rid not in used:
                used.add(rid)
                return rid

    def _emit(self, source: str, person: _Person, record: dict[str, str], profile: NoiseProfile) -> None:
        rng = self.rng
        for column, rate in profile.missing.items():
            if record.get(column) and rng.random() < rate:
                record[column] = ""
        if rng.random() < profile.uppercase:  # systems that store everything in capitals
            for column in _UPPERCASED:
                if column in record:
                    record[column] = record[column].upper()
        record["source_record_id"] = self._record_id(source)
        row = [""] * len(FEED_COLUMNS)
        for column, value in record.items():
            row[_COLUMN_INDEX[column]] = value  # a KeyError here is a misspelt column: fail loudly
        self.rows[source].append((row, person.pid))

    # --- the child's identity as one source sees it ----------------------------------------------

    def _given(self, person: _Person, profile: NoiseProfile) -> str:
        rng = self.rng
        names = list(person.given)
        if len(names) > 1:
            if names[0] in _MUHAMMAD and rng.random() < 0.25:
                names = names[1:]  # registered by the name the child is called
            elif rng.random() < profile.drop_middle:
                names = names[:1]
            elif rng.random() < 0.003:
                names[0], names[1] = names[1], names[0]
        first = names[0]
        if "-" in first:
            roll = rng.random()
            if roll < 0.2:
                first = first.replace("-", " ")
            elif roll < 0.35:
                first = first.split("-")[0]
        roll = rng.random()
        if roll < profile.nickname:
            first = nickname(rng, first) or first
        elif roll < profile.nickname + profile.phonetic:
            first = phonetic_variant(rng, first) or first
        if rng.random() < profile.given_typo:
            first = typo(rng, first)
        names[0] = first
        return " ".join(names)

    def _family(self, person: _Person, profile: NoiseProfile, surname: str) -> str:
        rng = self.rng
        if "-" in surname:
            roll = rng.random()
            if roll < 0.10:
                surname = surname.replace("-", " ")
            elif roll < 0.22:
                surname = surname.split("-")[0]
            elif roll < 0.30:
                surname = surname.split("-")[1]
        if person.sex == "F" and person.tradition == "ee" and rng.random() < 0.15:
            surname = _masculine(surname)
        if rng.random() < profile.phonetic:
            surname = phonetic_variant(rng, surname) or surname
        if rng.random() < profile.family_typo:
            surname = typo(rng, surname)
        return surname

    def _dob(self, person: _Person, profile: NoiseProfile) -> str:
        rng = self.rng
        born = date.fromordinal(person.dob)
        roll = rng.random()
        if roll < profile.dob_transposed:
            swapped = transpose_day_month(born)
            if swapped is not None and swapped.toordinal() <= _REF:
                born = swapped
        elif roll < profile.dob_transposed + profile.dob_error:
            kind = rng.random()
            if kind < 0.5:
                candidate = person.dob + _pick(rng, (-1, 1))
            elif kind < 0.75:
                candidate = person.dob + _pick(rng, (-365, 365))
            else:
                candidate = person.dob + _pick(rng, (-31, 30))  # wrong month picked from a list
            if _OLDEST_VALID <= candidate <= _REF:
                born = date.fromordinal(candidate)
        return born.isoformat()

    def _sex(self, person: _Person, profile: NoiseProfile) -> str:
        roll = self.rng.random()
        if roll < profile.sex_unknown:
            return "U" if roll < profile.sex_unknown / 2 else ""
        if roll < profile.sex_unknown + 0.001:
            return "F" if person.sex == "M" else "M"
        return person.sex

    def _address(self, record: dict[str, str], address: _Address, profile: NoiseProfile) -> None:
        rng = self.rng
        street = address.street
        if rng.random() < profile.abbreviate_street:
            street = abbreviate_street(street)
        house = f"{address.number} {street}"
        if address.flat and rng.random() < 0.4:
            record["address_line_1"], record["address_line_2"] = address.flat, house
        else:
            record["address_line_1"] = f"{address.flat}, {house}" if address.flat else house
            # Many systems keep no locality line at all.
            record["address_line_2"] = "" if rng.random() < profile.missing_locality else address.locality
        record["town"] = address.town
        postcode = address.postcode
        if rng.random() < profile.postcode_typo:
            postcode = postcode_typo(rng, postcode)
        record["postcode"] = format_postcode(rng, postcode)

    def _identity(
        self, source: str, person: _Person, profile: NoiseProfile, *, placement_rate: float = 0.0
    ) -> dict[str, str]:
        rng = self.rng
        household = person.household
        stale_address, stale_surname = household.views[source]
        if person.former and stale_surname:
            surname, former = person.former, ""
        else:
            surname = person.family
            former = person.former if person.former and rng.random() < profile.former_recorded else ""
        address = household.address
        if person.placement is not None and rng.random() < placement_rate:
            address = person.placement
        elif stale_address and household.previous_address is not None:
            address = household.previous_address
        record = {
            "given_names": self._given(person, profile),
            "family_name": self._family(person, profile, surname),
            "former_family_names": former,
            "date_of_birth": self._dob(person, profile),
            "sex": self._sex(person, profile),
        }
        self._address(record, address, profile)
        if rng.random() < profile.ascii_fold:
            for column in ("given_names", "family_name", "former_family_names"):
                record[column] = ascii_fold(record[column])
        return record

    def _nhs_number(self, person: _Person, profile: NoiseProfile, spaced: float) -> str:
        rng = self.rng
        number = person.nhs
        if rng.random() < profile.wrong_nhs:
            # A mix-up with a sibling's number is the classic error; otherwise any other child's.
            siblings = [child for child in person.household.children if child is not person]
            if siblings and rng.random() < 0.6:
                number = _pick(rng, siblings).nhs
            else:
                while number == person.nhs:
                    number = _pick(rng, self.nhs_all)
        return format_nhs_number(number) if rng.random() < spaced else number

    def _carer(self, record: dict[str, str], carer: _Carer, profile: NoiseProfile, stale: bool) -> None:
        rng = self.rng
        given = carer.given
        if rng.random() < profile.nickname / 2:
            given = nickname(rng, given) or given
        if rng.random() < profile.given_typo:
            given = typo(rng, given)
        record["carer_given_names"] = given
        record["carer_family_name"] = carer.former_family if stale and carer.former_family else carer.family
        record["carer_relationship"] = carer.relationship
        phone = carer.old_phone if stale and carer.old_phone else carer.phone
        record["carer_phone"] = _render_phone(rng, phone)
        record["carer_email"] = carer.email

    # --- one source at a time -------------------------------------------------------------------

    def nhs(self, person: _Person) -> None:
        rng = self.rng
        gen = self.gen
        if rng.random() < 0.995:  # a few children (new arrivals) are not yet registered
            copies = 2 if rng.random() < PROFILES[NHS.code].duplicate else 1
            for copy in range(copies):
                profile = PROFILES[NHS.code] if copy == 0 else self.noisy[NHS.code]
                record = self._identity(NHS.code, person, profile, placement_rate=0.6)
                number = self._nhs_number(person, profile, spaced=0.1)
                if copy:
                    # A duplicate registration: sometimes no number, sometimes a second one issued.
                    roll = rng.random()
                    if roll < 0.3:
                        number = ""
                    elif roll < 0.5:
                        number = gen.new_nhs_number()
                record["nhs_number"] = number
                record["local_authority"] = gen.area.code
                practice = person.gp
                assert practice is not None
                record.update(
                    service_type="gp",
                    organisation_code=practice.code,
                    organisation_name=practice.name,
                    involvement_start=self._registered(person),
                )
                if rng.random() < 0.55:
                    record["practitioner_name"] = _pick(rng, practice.staff)
                    record["practitioner_role"] = "GP"
                    record["practitioner_phone"] = practice.phone
                self._emit(NHS.code, person, record, profile)
        age = person.age
        if age < 5 and rng.random() < _HEALTH_VISITOR_RATE:
            self._health_visitor(person)
        if age >= 11 and rng.random() < _MENTAL_HEALTH_RATE:
            self._mental_health(person)

    def _registered(self, person: _Person) -> str:
        rng = self.rng
        if rng.random() < 0.8:
            start = min(person.dob + _randint(rng, 7, 60), _REF)
        else:
            start = _randint(rng, person.dob, _REF)
        return date.fromordinal(start).isoformat()

    def _health_visitor(self, person: _Person) -> None:
        """A community health record for an under-5: the mother and the named health visitor."""
        rng = self.rng
        gen = self.gen
        profile = PROFILES[NHS.code]
        record = self._identity(NHS.code, person, profile)
        record["nhs_number"] = self._nhs_number(person, profile, spaced=0.3) if rng.random() < 0.97 else ""
        mothers = [carer for carer in person.household.carers if carer.relationship == "mother"]
        if mothers and rng.random() < 0.85:
            self._carer(record, mothers[0], profile, stale=False)
        visitor = _pick(rng, gen.health_visitors)
        code, name = gen.area.community_trust
        record.update(
            service_type="health_visitor",
            organisation_code=code,
            organisation_name=name,
            practitioner_name=visitor.name,
            practitioner_role=visitor.role,
            practitioner_phone=_render_phone(rng, visitor.phone),
            practitioner_email=visitor.email,
            involvement_start=date.fromordinal(min(person.dob + _randint(rng, 10, 14), _REF)).isoformat(),
        )
        self._emit(NHS.code, person, record, profile)

    def _mental_health(self, person: _Person) -> None:
        """A CAMHS referral: a sensitive service, so whether the child consented is recorded."""
        rng = self.rng
        gen = self.gen
        profile = PROFILES[NHS.code]
        record = self._identity(NHS.code, person, profile)
        record["nhs_number"] = self._nhs_number(person, profile, spaced=0.2)
        worker = _pick(rng, gen.camhs_staff)
        code, name = gen.area.camhs
        start = max(person.dob + 11 * 365, _REF - _randint(rng, 14, 700))
        end = date.fromordinal(_randint(rng, start, _REF)).isoformat() if rng.random() < 0.3 else ""
        roll = rng.random()
        record.update(
            service_type="mental_health",
            organisation_code=code,
            organisation_name=name,
            practitioner_name=worker.name,
            practitioner_role=worker.role,
            practitioner_phone=_render_phone(rng, worker.phone),
            practitioner_email=worker.email,
            involvement_start=date.fromordinal(start).isoformat(),
            involvement_end=end,
            consent_recorded="Y" if roll < 0.65 else "N" if roll < 0.95 else "",
        )
        self._emit(NHS.code, person, record, profile)

    def child_benefit(self, person: _Person) -> None:
        rng = self.rng
        household = person.household
        if not household.claims_child_benefit or not household.carers:
            return
        if person.age >= 16 and rng.random() < 0.25:  # benefit stops at 16 unless in approved education
            return
        copies = 2 if rng.random() < PROFILES[CHILD_BENEFIT.code].duplicate else 1
        claimants = sorted(household.carers, key=lambda carer: carer.relationship != "mother")
        for copy in range(copies):
            profile = PROFILES[CHILD_BENEFIT.code] if copy == 0 else self.noisy[CHILD_BENEFIT.code]
            record = self._identity(CHILD_BENEFIT.code, person, profile)
            # The second claim is usually the other parent's (separated parents both claiming).
            claimant = claimants[min(copy, len(claimants) - 1)]
            _, stale_surname = household.views[CHILD_BENEFIT.code]
            self._carer(record, claimant, profile, stale_surname)
            self._emit(CHILD_BENEFIT.code, person, record, profile)

    def school_census(self, person: _Person) -> None:
        rng = self.rng
        gen = self.gen
        if person.school is None:
            return
        if rng.random() > (0.95 if person.year_group <= 11 else 0.55):  # independent schools, home
            return  # education, and most 16–17 year olds at FE colleges are outside the census
        copies = 2 if rng.random() < PROFILES[SCHOOL_CENSUS.code].duplicate else 1
        for copy in range(copies):
            profile = PROFILES[SCHOOL_CENSUS.code] if copy == 0 else self.noisy[SCHOOL_CENSUS.code]
            record = self._identity(SCHOOL_CENSUS.code, person, profile, placement_rate=0.5)
            school = person.school
            if copy:
                # Dual registration or a move mid-year: the same pupil on another school's roll.
                others = gen.primaries if person.year_group <= 6 else gen.secondaries
                school = _pick(rng, others)
            upn = person.upn
            if rng.random() < 0.004:
                entry = _school_year_of_entry(person.dob)
                serial, letter = _randint(rng, 0, 99), _pick(rng, UPN_LETTERS)
                upn = make_temporary_upn(gen.area.la_number, school.establishment, entry, serial, letter)
            record["upn"] = upn
            record["local_authority"] = gen.area.code
            if person.sen and rng.random() < 0.9:
                record["retention_condition"] = "sen"
                if rng.random() < 0.6:
                    record["practitioner_name"] = school.staff[0]
                    record["practitioner_role"] = "SENCo"
                    record["practitioner_phone"] = school.phone
            carers = person.household.carers
            if carers and rng.random() < 0.8:
                contact = carers[0] if rng.random() < 0.75 else _pick(rng, carers)
                _, stale_surname = person.household.views[SCHOOL_CENSUS.code]
                self._carer(record, contact, profile, stale_surname)
            record.update(
                service_type="school",
                organisation_code=school.code,
                organisation_name=school.name,
                involvement_start=self._school_start(person),
            )
            self._emit(SCHOOL_CENSUS.code, person, record, profile)

    def _school_start(self, person: _Person) -> str:
        rng = self.rng
        entry = _school_year_of_entry(person.dob) + (7 if person.year_group >= 7 else 0)
        # Term starts in the first days of September; a reception class starting this term started today.
        start = min(date(entry, 9, _pick(rng, (1, 2, 3, 4, 5))).toordinal(), _REF)
        if rng.random() < 0.12:  # joined mid-phase
            start = _randint(rng, start, _REF)
        return date.fromordinal(start).isoformat()

    def social_care(self, person: _Person) -> None:
        rng = self.rng
        gen = self.gen
        if not person.social_care:
            return
        worker = person.social_worker
        assert worker is not None
        copies = 2 if rng.random() < PROFILES[SOCIAL_CARE.code].duplicate else 1
        for copy in range(copies):
            profile = PROFILES[SOCIAL_CARE.code] if copy == 0 else self.noisy[SOCIAL_CARE.code]
            record = self._identity(SOCIAL_CARE.code, person, profile, placement_rate=1.0)
            record["nhs_number"] = self._nhs_number(person, profile, spaced=0.3)
            record["upn"] = person.upn if rng.random() < 0.9 else ""
            record["local_authority"] = gen.area.code
            if person.looked_after and person.age >= 16:
                record["retention_condition"] = "care_leaver"
            carer = person.foster_carer if person.foster_carer is not None and rng.random() < 0.85 else None
            if carer is None and person.household.carers and rng.random() < 0.85:
                carer = person.household.carers[0]
            if carer is not None:
                _, stale_surname = person.household.views[SOCIAL_CARE.code]
                self._carer(record, carer, profile, stale_surname)
            org_code, org_name = gen.area.childrens_services
            record.update(
                service_type="social_care",
                organisation_code=org_code,
                organisation_name=org_name,
                practitioner_name=worker.name,
                practitioner_role=worker.role,
                practitioner_phone=_render_phone(rng, worker.phone),
                practitioner_email=worker.email,
                involvement_start=date.fromordinal(person.sc_start).isoformat(),
                involvement_end=date.fromordinal(person.sc_end).isoformat() if person.sc_end else "",
            )
            self._emit(SOCIAL_CARE.code, person, record, profile)


def _render_phone(rng: random.Random, digits: str) -> str:
    """Write a UK mobile number the ways people do: ``07700 900123``, ``07700900123``, ``+44 7700 900123``."""
    if not digits or " " in digits:
        return digits  # practitioners' landlines are already formatted
    roll = rng.random()
    if roll < 0.6:
        return f"{digits[:5]} {digits[5:]}"
    if roll < 0.9:
        return digits
    return f"+44 {digits[1:5]} {digits[5:]}"


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    # newline="" lets the csv module write RFC 4180 CRLF line endings and quote embedded newlines.
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def generate(
    children: int,
    seed: int,
    out_dir: Path,
    *,
    local_authority: str = "E08000025",
    progress: Callable[[int], None] | None = None,
) -> SynthSummary:
    """Generate a synthetic population of ``children`` children and write its source feeds to ``out_dir``.

    Writes ``<source>.csv`` for each of :data:`SOURCES` (columns :data:`FEED_COLUMNS`, rows shuffled),
    ``truth.csv`` (:data:`TRUTH_COLUMNS`: which person each record describes; person ids ``P0000001``…)
    and ``sources.json`` (each source's code, display name, trust level and file). The output depends
    only on ``children``, ``seed`` and ``local_authority``: the same arguments give byte-identical files.

    ``local_authority`` is the ONS code of the area to populate; see :data:`contactpoint.synth.places.AREAS`
    for those supported. ``progress``, if given, is called with the number of children done about every
    1,000 children and once at the end.
    """
    if children < 0:
        raise ValueError("children must not be negative")
    area = AREAS.get(local_authority)
    if area is None:
        supported = ", ".join(f"{code} ({a.name})" for code, a in AREAS.items())
        raise ValueError(f"unsupported local authority {local_authority!r}; supported: {supported}")
    if children > max_children(area):
        raise ValueError(
            f"at most {max_children(area):,} children in {area.name} (its schools' and GP practices' codes "
            "would run out)"
        )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # The population is a few million small, long-lived objects; the cyclic garbage collector would
    # repeatedly traverse all of them for nothing (about 40% of the run time at 100,000 children).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _generate(children, seed, out_dir, area, progress)
    finally:
        if gc_was_enabled:
            gc.enable()


def _generate(
    children: int, seed: int, out_dir: Path, area: Area, progress: Callable[[int], None] | None
) -> SynthSummary:
    gen = _Generator(children, seed, area)
    gen.build_population()
    feeds = _FeedWriter(gen)
    for done, person in enumerate(gen.people, start=1):
        feeds.nhs(person)
        feeds.child_benefit(person)
        feeds.school_census(person)
        feeds.social_care(person)
        if progress is not None and done % 1000 == 0:
            progress(done)

    truth: list[tuple[str, str, str]] = []
    counts: dict[str, int] = {}
    for spec in SOURCES:
        rows = feeds.rows[spec.code]
        gen.rng.shuffle(rows)  # file order must not reveal households or duplicates
        _write_csv(out_dir / f"{spec.code}.csv", FEED_COLUMNS, [row for row, _ in rows])
        truth.extend((spec.code, row[0], pid) for row, pid in rows)
        counts[spec.code] = len(rows)
    _write_csv(out_dir / "truth.csv", TRUTH_COLUMNS, truth)
    manifest = {
        "generator": "contactpoint.synth",
        "seed": seed,
        "children": children,
        "local_authority": area.code,
        "reference_date": REFERENCE_DATE.isoformat(),
        "sources": [
            {
                "code": spec.code,
                "name": spec.name,
                "trust_level": spec.trust_level,
                "file": f"{spec.code}.csv",
            }
            for spec in SOURCES
        ],
    }
    (out_dir / "sources.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    if progress is not None:
        progress(children)
    return SynthSummary(children=children, records=counts, path=out_dir, households=len(gen.households))
