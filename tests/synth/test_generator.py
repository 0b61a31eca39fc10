"""The synthetic population generator: determinism, file format, truth, identifiers and noise.

Plain pytest (no Django, no database). One population of a few thousand children is generated per
module and shared; the noise checks look for each kind of error by comparing a person's records across
and within sources using truth.csv, the way a matching evaluation would.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

import pytest

from contactpoint.synth import FEED_COLUMNS, REFERENCE_DATE, SOURCES, TRUTH_COLUMNS, generate
from contactpoint.synth.identifiers import is_valid_nhs_number, is_valid_upn
from contactpoint.synth.names import NICKNAMES, VARIANTS

CHILDREN = 3000
SEED = 20260901
SOURCE_FILES = ("child_benefit", "nhs_demographics", "school_census", "social_care")

# Written out independently of the generator, in the order of docs/feeds.md.
DOCUMENTED_COLUMNS = [
    "source_record_id", "given_names", "family_name", "former_family_names", "date_of_birth", "sex",
    "address_line_1", "address_line_2", "town", "postcode", "nhs_number", "upn", "local_authority",
    "retention_condition", "carer_given_names", "carer_family_name", "carer_relationship", "carer_phone",
    "carer_email", "service_type", "organisation_code", "organisation_name", "practitioner_name",
    "practitioner_role", "practitioner_phone", "practitioner_email", "involvement_start", "involvement_end",
    "consent_recorded",
]
SERVICE_TYPES = {
    "school", "gp", "health_visitor", "social_care", "youth_offending", "sexual_health", "mental_health",
    "substance_misuse", "other",
}
SENSITIVE = {"sexual_health", "mental_health", "substance_misuse"}
POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][ABD-HJLNP-UW-Z]{2}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
PHONE = re.compile(r"^[0-9 +]+$")


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


class Population:
    """The generated files, with each record tagged with its true person id."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        _, truth_rows = read_csv(directory / "truth.csv")
        self.truth = truth_rows
        person_of = {(row["source"], row["source_record_id"]): row["person_id"] for row in truth_rows}
        self.records: dict[str, list[dict[str, str]]] = {}
        for source in SOURCE_FILES:
            _, rows = read_csv(directory / f"{source}.csv")
            for row in rows:
                row["_person"] = person_of[(source, row["source_record_id"])]
                row["_source"] = source
            self.records[source] = rows
        self.by_person: dict[str, list[dict[str, str]]] = defaultdict(list)
        for rows in self.records.values():
            for row in rows:
                self.by_person[row["_person"]].append(row)

    def all_records(self) -> list[dict[str, str]]:
        return [row for rows in self.records.values() for row in rows]

    def persons_in(self, source: str) -> set[str]:
        return {row["_person"] for row in self.records[source]}


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Population:
    directory = tmp_path_factory.mktemp("synth")
    summary = generate(CHILDREN, SEED, directory)
    assert summary.children == CHILDREN
    assert summary.path == directory
    return Population(directory)


def postcode_key(value: str) -> str:
    return value.replace(" ", "").upper()


def first_name(row: dict[str, str]) -> str:
    return row["given_names"].split(" ")[0] if row["given_names"] else ""


def edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


# --- determinism --------------------------------------------------------------------------------


def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path):
    first, second, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(400, 99, first)
    generate(400, 99, second)
    generate(400, 100, other)
    names = sorted(path.name for path in first.iterdir())
    assert names == sorted(path.name for path in second.iterdir())
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    for source in SOURCE_FILES:
        assert (first / f"{source}.csv").read_bytes() != (other / f"{source}.csv").read_bytes()


def test_generation_does_not_touch_the_global_random_state(tmp_path):
    import random

    random.seed(1)
    expected = random.random()
    random.seed(1)
    generate(50, 3, tmp_path)
    assert random.random() == expected


# --- files and format ---------------------------------------------------------------------------


def test_writes_one_feed_per_source_plus_truth_and_manifest(population):
    files = sorted(path.name for path in population.directory.iterdir())
    assert files == sorted([f"{source}.csv" for source in SOURCE_FILES] + ["truth.csv", "sources.json"])


def test_feed_columns_are_exactly_the_documented_ones(population):
    assert list(FEED_COLUMNS) == DOCUMENTED_COLUMNS
    for source in SOURCE_FILES:
        header, _ = read_csv(population.directory / f"{source}.csv")
        assert header == DOCUMENTED_COLUMNS, source
    header, _ = read_csv(population.directory / "truth.csv")
    assert header == list(TRUTH_COLUMNS) == ["source", "source_record_id", "person_id"]


def test_feed_columns_match_docs_feeds_md():
    docs = Path(__file__).resolve().parents[2] / "docs" / "feeds.md"
    if not docs.exists():
        pytest.skip("docs/feeds.md not present")
    documented = []
    for line in docs.read_text(encoding="utf-8").splitlines():
        if line.startswith("| `"):
            documented += re.findall(r"`([a-z_0-9]+)`", line.split("|")[1])
    assert documented == DOCUMENTED_COLUMNS


def test_sources_manifest(population):
    manifest = json.loads((population.directory / "sources.json").read_text(encoding="utf-8"))
    trust = {entry["code"]: entry["trust_level"] for entry in manifest["sources"]}
    assert trust == {"nhs_demographics": 9, "child_benefit": 8, "school_census": 7, "social_care": 6}
    assert all(entry["name"] and entry["file"] == f"{entry['code']}.csv" for entry in manifest["sources"])
    assert [spec.code for spec in SOURCES] == [entry["code"] for entry in manifest["sources"]]
    assert manifest["reference_date"] == REFERENCE_DATE.isoformat() == "2026-09-01"


def test_summary_counts_match_the_files(tmp_path):
    summary = generate(200, 5, tmp_path)
    for source in SOURCE_FILES:
        _, rows = read_csv(tmp_path / f"{source}.csv")
        assert summary.records[source] == len(rows)
    assert summary.total_records == sum(summary.records.values())
    assert summary.households > 0


def test_every_field_passes_the_documented_validation(population):
    oldest = date(REFERENCE_DATE.year - 26, REFERENCE_DATE.month, REFERENCE_DATE.day)
    for row in population.all_records():
        assert 1 <= len(row["source_record_id"]) <= 64 and row["source_record_id"].isprintable()
        for column in ("given_names", "family_name", "carer_given_names", "carer_family_name",
                       "practitioner_name", "practitioner_role"):
            assert len(row[column]) <= 100
        for column in ("address_line_1", "address_line_2", "town"):
            assert len(row[column]) <= 120
        assert all(len(name) <= 100 for name in row["former_family_names"].split(";"))
        if row["date_of_birth"]:
            born = date.fromisoformat(row["date_of_birth"])
            assert oldest < born <= REFERENCE_DATE
        assert row["sex"] in {"F", "M", "U", ""}
        if row["postcode"]:
            assert POSTCODE.match(postcode_key(row["postcode"])), row["postcode"]
        if row["nhs_number"]:
            assert is_valid_nhs_number(row["nhs_number"]), row["nhs_number"]
        if row["upn"]:
            assert is_valid_upn(row["upn"]), row["upn"]
        if row["local_authority"]:
            assert re.fullmatch(r"[EWSN]\d{8}", row["local_authority"])
        assert row["retention_condition"] in {"", "care_leaver", "sen"}
        assert len(row["carer_relationship"]) <= 40
        for column in ("carer_phone", "practitioner_phone"):
            assert not row[column] or PHONE.match(row[column]), row[column]
        for column in ("carer_email", "practitioner_email"):
            assert not row[column] or EMAIL.match(row[column]), row[column]
        assert row["service_type"] in SERVICE_TYPES | {""}
        assert len(row["organisation_code"]) <= 20 and len(row["organisation_name"]) <= 200
        if row["involvement_start"]:
            assert date.fromisoformat(row["involvement_start"]) <= REFERENCE_DATE
        if row["involvement_end"]:
            assert row["involvement_start"] <= row["involvement_end"]
            assert date.fromisoformat(row["involvement_end"]) <= REFERENCE_DATE
        assert row["consent_recorded"] in {"", "Y", "N"}
        if row["consent_recorded"]:
            assert row["service_type"] in SENSITIVE


def test_synthetic_contact_details_cannot_reach_real_people(population):
    for row in population.all_records():
        for column in ("carer_email", "practitioner_email"):
            if row[column]:
                assert re.search(r"example\.(com|org|net)$", row[column]), row[column]
        if row["nhs_number"]:
            assert row["nhs_number"].replace(" ", "").startswith("999")  # the never-issued test range


# --- truth --------------------------------------------------------------------------------------


def test_truth_covers_every_record_exactly_once(population):
    truth_keys = [(row["source"], row["source_record_id"]) for row in population.truth]
    assert len(truth_keys) == len(set(truth_keys))
    record_keys = [(row["_source"], row["source_record_id"]) for row in population.all_records()]
    assert len(record_keys) == len(set(record_keys))  # ids unique within each source
    assert set(truth_keys) == set(record_keys)
    assert all(re.fullmatch(r"P\d{7}", row["person_id"]) for row in population.truth)


def test_source_record_ids_have_source_styles_and_do_not_follow_person_order(population):
    prefixes = {"nhs_demographics": "NHS-", "child_benefit": "CB-", "school_census": "SC-", "social_care": "LA-"}
    for source, rows in population.records.items():
        assert all(row["source_record_id"].startswith(prefixes[source]) for row in rows)
        by_id = [row["_person"] for row in sorted(rows, key=lambda row: row["source_record_id"])]
        assert by_id != sorted(by_id)


def test_rows_are_not_in_person_order(population):
    order = [row["_person"] for row in population.records["nhs_demographics"]]
    assert order != sorted(order)


# --- coverage -----------------------------------------------------------------------------------


def test_source_coverage_is_realistic(population):
    share = {source: len(population.persons_in(source)) / CHILDREN for source in SOURCE_FILES}
    assert share["nhs_demographics"] > 0.97
    assert 0.80 < share["child_benefit"] < 0.95
    assert 0.60 < share["school_census"] < 0.85  # the 4–17 year olds, less independent schools etc.
    assert 0.03 < share["social_care"] < 0.08


def test_each_source_contributes_its_own_involvement(population):
    services = {source: Counter(row["service_type"] for row in rows) for source, rows in population.records.items()}
    assert set(services["child_benefit"]) == {""}
    assert set(services["school_census"]) == {"school"}
    assert set(services["social_care"]) == {"social_care"}
    assert {"gp", "health_visitor", "mental_health"} <= set(services["nhs_demographics"])
    for row in population.records["school_census"]:
        assert re.fullmatch(r"\d{6}", row["organisation_code"]) and row["organisation_name"]
    for row in population.records["nhs_demographics"]:
        if row["service_type"] == "gp":
            assert re.fullmatch(r"[A-Z]\d{5}", row["organisation_code"])
    for row in population.records["social_care"]:
        assert row["practitioner_name"] and row["practitioner_role"]
    claimants = [row for row in population.records["child_benefit"] if row["carer_given_names"]]
    assert len(claimants) > 0.95 * len(population.records["child_benefit"])
    assert Counter(row["carer_relationship"] for row in claimants).most_common(1)[0][0] == "mother"


def test_school_census_holds_school_age_children_with_upns(population):
    rows = population.records["school_census"]
    latest_reception_birthday = date(REFERENCE_DATE.year - 4, 8, 31)
    born = [date.fromisoformat(row["date_of_birth"]) for row in rows if row["date_of_birth"]]
    assert sum(1 for day in born if day <= latest_reception_birthday) > 0.98 * len(born)
    assert sum(1 for row in rows if row["upn"]) > 0.97 * len(rows)
    assert not any(row["upn"] for row in population.records["nhs_demographics"] + population.records["child_benefit"])


def test_retention_conditions(population):
    school = population.records["school_census"]
    sen = sum(1 for row in school if row["retention_condition"] == "sen") / len(school)
    assert 0.015 < sen < 0.05
    care_leavers = [row for row in population.records["social_care"] if row["retention_condition"] == "care_leaver"]
    assert care_leavers
    assert {row["retention_condition"] for row in population.all_records() if row["_source"] != "school_census"} <= {
        "", "care_leaver"
    }


def test_health_visitors_see_under_fives_and_mental_health_records_carry_consent(population):
    nhs = population.records["nhs_demographics"]
    visits = [row for row in nhs if row["service_type"] == "health_visitor"]
    assert visits
    cutoff = date(REFERENCE_DATE.year - 6, 1, 1)  # under 5, with room for a noisy birth year
    assert all(date.fromisoformat(row["date_of_birth"]) > cutoff for row in visits if row["date_of_birth"])
    mental = [row for row in nhs if row["service_type"] == "mental_health"]
    assert mental
    assert {row["consent_recorded"] for row in mental} >= {"Y", "N"}


# --- households -----------------------------------------------------------------------------------


def test_twins_share_birthday_surname_and_address_but_stay_different_people(population):
    groups: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    first_names: dict[str, str] = {}
    for row in population.records["nhs_demographics"]:
        if row["service_type"] == "gp" and row["date_of_birth"] and row["postcode"]:
            key = (row["date_of_birth"], row["family_name"].upper(), postcode_key(row["postcode"]))
            groups[key].add(row["_person"])
            first_names.setdefault(row["_person"], first_name(row).upper())
    twins = [sorted(people) for people in groups.values() if len(people) == 2]
    assert len(twins) >= 10  # about 3% of children are twins
    assert all(first_names[a] != first_names[b] for a, b in twins)


def test_siblings_share_carers_contact_details(population):
    by_phone: dict[str, set[str]] = defaultdict(set)
    for row in population.records["child_benefit"]:
        if row["carer_phone"]:
            by_phone[row["carer_phone"].replace(" ", "").replace("+44", "0")].add(row["_person"])
    assert sum(1 for people in by_phone.values() if len(people) > 1) > 100


# --- noise ----------------------------------------------------------------------------------------


def test_within_source_duplicates_exist_in_every_source(population):
    for source in ("nhs_demographics", "child_benefit", "school_census", "social_care"):
        rows = population.records[source]
        if source == "nhs_demographics":
            rows = [row for row in rows if row["service_type"] == "gp"]
        per_person = Counter(row["_person"] for row in rows)
        duplicated = sum(1 for count in per_person.values() if count > 1)
        assert duplicated >= 1, source
        assert duplicated < 0.06 * len(per_person), source


def test_nicknames_typos_and_phonetic_variants(population):
    nickname_pairs = {(formal, short) for formal, shorts in NICKNAMES.items() for short in shorts}
    nicknamed = typoed = variant_given = variant_family = 0
    for rows in population.by_person.values():
        firsts = {first_name(row) for row in rows if row["given_names"] and not row["given_names"].isupper()}
        families = {row["family_name"] for row in rows if row["family_name"] and not row["family_name"].isupper()}
        if any((a, b) in nickname_pairs for a in firsts for b in firsts):
            nicknamed += 1
        if any(b in VARIANTS.get(a, ()) for a in firsts for b in firsts):
            variant_given += 1
        if any(b in VARIANTS.get(a, ()) for a in families for b in families):
            variant_family += 1
        if any(
            0 < edit_distance(a, b) <= 2 and (a, b) not in nickname_pairs and b not in VARIANTS.get(a, ())
            for a in firsts for b in firsts
        ):
            typoed += 1
    people = len(population.by_person)
    assert 0.005 < nicknamed / people < 0.08
    assert typoed / people > 0.005
    assert variant_given >= 5 and variant_family >= 5


def test_transposed_and_mistyped_dates_of_birth(population):
    transposed = disagreeing = 0
    for rows in population.by_person.values():
        dobs = {date.fromisoformat(row["date_of_birth"]) for row in rows if row["date_of_birth"]}
        if len(dobs) > 1:
            disagreeing += 1
            if any(a.year == b.year and a.day == b.month and a.month == b.day for a in dobs for b in dobs if a != b):
                transposed += 1
    assert transposed >= 1
    assert disagreeing / len(population.by_person) < 0.05


def test_surname_changes_are_known_to_some_sources_only(population):
    changed = 0
    for rows in population.by_person.values():
        formers = {row["former_family_names"].upper() for row in rows if row["former_family_names"]}
        if formers and any(row["family_name"].upper() in formers for row in rows):
            changed += 1
    assert changed >= 3


def test_hyphenated_surnames_are_written_differently(population):
    hyphenated = [rows for rows in population.by_person.values() if any("-" in row["family_name"] for row in rows)]
    assert len(hyphenated) > 0.01 * len(population.by_person)
    assert any(any(row["family_name"] and "-" not in row["family_name"] for row in rows) for rows in hyphenated)


def test_moves_leave_old_addresses_in_some_sources(population):
    moved = sum(
        1
        for rows in population.by_person.values()
        if len({postcode_key(row["postcode"]) for row in rows if row["postcode"]}) > 1
    )
    assert 0.01 < moved / len(population.by_person) < 0.2


def test_missing_values_occur_at_realistic_rates(population):
    def blank(source: str, column: str) -> float:
        rows = population.records[source]
        return sum(1 for row in rows if not row[column]) / len(rows)

    assert blank("nhs_demographics", "postcode") < 0.03
    assert 0.002 < blank("nhs_demographics", "nhs_number") < 0.05
    assert 0.3 < blank("child_benefit", "carer_email") < 0.8
    assert 0.3 < blank("nhs_demographics", "address_line_2") < 0.7
    assert 0.02 < blank("social_care", "postcode") + blank("social_care", "date_of_birth") < 0.2
    assert blank("child_benefit", "given_names") == 0  # names are never blank in these sources


def test_a_few_nhs_numbers_belong_to_another_child(population):
    holders: dict[str, set[str]] = defaultdict(set)
    for row in population.all_records():
        if row["nhs_number"]:
            holders[row["nhs_number"].replace(" ", "")].add(row["_person"])
    shared = sum(1 for people in holders.values() if len(people) > 1)
    assert shared >= 1
    assert shared < 0.01 * len(holders)


# --- options --------------------------------------------------------------------------------------


def test_progress_is_reported(tmp_path):
    seen: list[int] = []
    generate(2500, 1, tmp_path, progress=seen.append)
    assert seen == [1000, 2000, 2500]


def test_other_local_authorities_use_their_own_postcodes_and_la_number(tmp_path):
    generate(300, 1, tmp_path, local_authority="E08000003")
    _, rows = read_csv(tmp_path / "school_census.csv")
    assert all(postcode_key(row["postcode"]).startswith("M") for row in rows if row["postcode"])
    assert sum(1 for row in rows if row["upn"][1:4] == "352") > 0.8 * len(rows)
    assert {row["local_authority"] for row in rows} <= {"E08000003", ""}


def test_unknown_local_authority_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="unsupported local authority"):
        generate(10, 1, tmp_path, local_authority="E09999999")


def test_zero_children_writes_empty_feeds(tmp_path):
    summary = generate(0, 1, tmp_path)
    assert summary.total_records == 0
    header, rows = read_csv(tmp_path / "nhs_demographics.csv")
    assert header == DOCUMENTED_COLUMNS and rows == []


def test_a_national_sized_area_still_gets_uniquely_named_schools_and_practices():
    # At a million children the plain school names run out; generation must still finish, every
    # school with a name, URN and establishment number of its own (it once looped for ever).
    from contactpoint.synth.generator import _Generator
    from contactpoint.synth.places import AREAS

    generator = _Generator(50, 1, AREAS["E08000025"])
    schools = generator._build_schools(1500, secondary=False)
    assert len({school.name for school in schools}) == 1500
    assert len({school.code for school in schools}) == 1500
    assert all(2000 <= school.establishment <= 3999 for school in schools)
    practices = generator._build_practices(1400)
    assert len({practice.name for practice in practices}) == len({practice.code for practice in practices}) == 1400


def test_more_children_than_one_authority_can_hold_is_refused(tmp_path):
    from contactpoint.synth.generator import MAX_CHILDREN

    with pytest.raises(ValueError, match="codes would run out"):
        generate(MAX_CHILDREN + 1, 1, tmp_path)


def test_the_synth_command_says_why_it_refuses(tmp_path):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="unsupported local authority"):
        call_command("synth", "--children", "10", "--seed", "1", "--out", str(tmp_path), "--local-authority", "X")


def test_an_area_with_one_gp_code_prefix_holds_fewer_children(tmp_path):
    from contactpoint.synth.generator import max_children
    from contactpoint.synth.places import AREAS

    assert max_children(AREAS["E08000003"]) == 1_200_000 < max_children(AREAS["E08000025"])
    with pytest.raises(ValueError, match="at most 1,200,000 children in"):
        generate(1_200_001, 1, tmp_path, local_authority="E08000003")
