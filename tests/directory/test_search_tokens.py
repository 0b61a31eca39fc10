"""The token search index: keyed, clear names never stored, one-edit typos found, folding as the SQL does.

The directory's search index holds only keyed hashes (``directory_searchtoken``); see docs/search.md,
"The token index".
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import random

import jellyfish
import pytest
from django.db import connection

from contactpoint.access.models import Role
from contactpoint.core import keys
from contactpoint.directory import identity, queries, search_tokens
from contactpoint.directory.models import SearchToken
from contactpoint.directory.search import SearchCriteria
from contactpoint.directory.search_tokens import FoldedName, Kind
from directory.builders import child_row, load_children, user

PEOPLE = [
    child_row("W1", given_names="William James", family_name="Hartley", date_of_birth="2014-05-08",
              sex="M", postcode="B13 9AH", nhs_number="9434765919"),
    child_row("N1", given_names="Noah", family_name="Wiśniewski", former_family_names="Kowalczyk",
              date_of_birth="2011-09-30", sex="M", postcode="B18 4SS", nhs_number="9434765846"),
    child_row("H1", given_names="Isla", family_name="Pemberton-Clarke", date_of_birth="2017-07-23", sex="F",
              postcode="B17 0HG"),
]
CLEAR_VALUES = ("HARTLEY", "WILLIAM", "WISNIEWSKI", "KOWALCZYK", "PEMBERTON", "CLARKE", "ISLA", "NOAH")


@pytest.fixture
def directory(tmp_path):
    return load_children(tmp_path, PEOPLE)


def found(**criteria: str) -> list[str]:
    outcome = queries.search_children(user=user(Role.PRACTITIONER), criteria=SearchCriteria(**criteria))
    return [r.contactpoint_id for r in outcome.results]


def stored_tokens(child_id: int) -> set[int]:
    return set(SearchToken.objects.get(child_id=child_id).tokens)


# Folding and typos: pure functions -----------------------------------------------------------------


@pytest.mark.django_db
def test_python_folding_is_the_sql_folding():
    names = ["Smith-Jones", "  o'brien ", "O’Neill", "Zoë", "Łukasz", "Wiśniewski", "Strauß", "Mary  Ann",
             "St. John", "123", "Æsa Œuvre", "Nguyễn", "Şükrü Çelik", "Ðorđe", "José-María", "D`Arcy", "ı"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT v, cp_search_fold(v) FROM unnest(%s::text[]) AS v", [names])
        in_sql = dict(cursor.fetchall())
    assert {name: search_tokens.fold(name) for name in names} == in_sql


def test_every_name_one_edit_away_shares_a_deletion_variant():
    rng = random.Random(5)
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for _ in range(2000):
        name = "".join(rng.choice(letters) for _ in range(rng.randint(2, 12)))
        i = rng.randrange(len(name))
        edits = [name[:i] + rng.choice(letters) + name[i + 1:],  # substitution
                 name[:i] + rng.choice(letters) + name[i:],  # insertion
                 name[:i] + name[i + 1:]]  # deletion
        if i + 1 < len(name):
            edits.append(name[:i] + name[i + 1] + name[i] + name[i + 2:])  # adjacent transposition
        for typed in edits:
            if typed and jellyfish.damerau_levenshtein_distance(typed, name) == 1:
                assert set(search_tokens.deletion_variants(typed)) & set(search_tokens.deletion_variants(name))


# Keyed ---------------------------------------------------------------------------------------------


def test_tokens_depend_on_the_key():
    name = FoldedName(True, "HARTLEY", "HRTL", "WILLIAM", "WILLIAM JAMES", "ALM", "WILLIAM")
    one, other = b"\x01" * 32, b"\x02" * 32
    made = {key: search_tokens.child_tokens(key, names=[name], date_of_birth=datetime.date(2014, 5, 8),
                                            postcodes=["B13 9AH"], nhs_number="9434765919")
            for key in (one, other)}
    assert made[one] and len(made[one]) == len(made[other])
    assert not set(made[one]) & set(made[other])
    # Not an unkeyed hash of the same message either.
    unkeyed = int.from_bytes(hashlib.sha256("\x1f".join((Kind.POSTCODE, "B13 9AH")).encode()).digest()[:8], "big",
                             signed=True)
    assert unkeyed not in made[one]
    assert search_tokens.token(one, Kind.POSTCODE, "B13 9AH") in made[one]


@pytest.mark.django_db
def test_the_stored_tokens_are_under_the_index_key_and_another_key_finds_nothing(directory, monkeypatch):
    child = directory["W1"]
    assert found(given_name="William", family_name="Hartley", date_of_birth="2014-05-08") == [child.contactpoint_id]
    index_key = keys.index_key()
    assert search_tokens.token(index_key, Kind.FAMILY_CANON_YEAR, "HARTLEY", "WILLIAM", 2014) in stored_tokens(child.id)

    # Under another master key (hence another index key), the same search finds nothing.
    monkeypatch.setenv(keys.MASTER_KEY_VARIABLE, base64.b64encode(b"\x07" * 32).decode())
    assert keys.index_key() != index_key
    assert found(given_name="William", family_name="Hartley", date_of_birth="2014-05-08") == []


# No clear names --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_no_clear_name_reaches_the_index(directory):
    ids = [child.id for child in directory.values()]
    assert SearchToken.objects.filter(child_id__in=ids).count() == len(ids)
    with connection.cursor() as cursor:
        cursor.execute("SELECT string_agg(t::text, ' ') FROM directory_searchtoken t WHERE child_id = ANY(%s)", [ids])
        text = cursor.fetchone()[0].upper()
    assert not [value for value in CLEAR_VALUES if value in text]
    assert "B13" not in text
    with connection.cursor() as cursor:  # and the clear index of earlier versions is gone
        cursor.execute("SELECT to_regclass('directory_searchname')")
        assert cursor.fetchone()[0] is None


# Typos -----------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("given", "family"),
    [
        ("William", "Hartly"),  # a letter left out
        ("William", "Hartlley"),  # a letter doubled
        ("William", "Hratley"),  # two letters swapped
        ("William", "Bartley"),  # the first letter wrong
        ("William", "Hartlee"),  # a letter wrong at the end
        ("Wiliam", "Hartley"),  # a typo in the given name
        ("Qilliam", "Hartley"),  # its first letter wrong
    ],
)
def test_a_one_edit_typo_is_found_with_only_the_year(directory, given, family):
    # Only the year: the date-of-birth lookup cannot help; the deletion tokens must.
    assert directory["W1"].contactpoint_id in found(given_name=given, family_name=family, date_of_birth="2014")


@pytest.mark.django_db
def test_a_one_edit_typo_is_found_with_the_date_and_no_given_name(directory):
    assert found(family_name="Wisniewsky", date_of_birth="2011-09-30") == [directory["N1"].contactpoint_id]


@pytest.mark.django_db
def test_postcodes_identifiers_and_name_parts_are_tokens_too(directory):
    assert found(family_name="Hartley", postcode="b13 9ah") == [directory["W1"].contactpoint_id]
    assert found(nhs_number="943 476 5846") == [directory["N1"].contactpoint_id]
    assert found(given_name="Isla", family_name="Clarke", date_of_birth="2017") == [directory["H1"].contactpoint_id]
    assert found(given_name="Noah", family_name="Kowalczyk", date_of_birth="2011-09-30") == [
        directory["N1"].contactpoint_id]


@pytest.mark.django_db
def test_the_rebuild_writes_only_what_changed_and_repairs_the_rest(directory):
    ids = sorted(child.id for child in directory.values())
    with connection.cursor() as cursor:
        cursor.execute("SELECT child_id, xmin::text FROM directory_searchtoken WHERE child_id = ANY(%s)", [ids])
        before = dict(cursor.fetchall())
    identity.rebuild_golden_records(ids)
    with connection.cursor() as cursor:
        cursor.execute("SELECT child_id, xmin::text FROM directory_searchtoken WHERE child_id = ANY(%s)", [ids])
        assert dict(cursor.fetchall()) == before  # not rewritten
    right = {child_id: stored_tokens(child_id) for child_id in ids}
    first, second, third = ids
    SearchToken.objects.filter(child_id=first).delete()
    SearchToken.objects.filter(child_id=second).update(tokens=[1, 2, 3])
    identity.rebuild_golden_records(ids)
    assert {child_id: stored_tokens(child_id) for child_id in ids} == right


@pytest.mark.django_db
def test_the_command_rebuilds_every_childs_tokens_from_the_sealed_rows(directory):
    from django.core.management import call_command

    from contactpoint.audit.models import AuditEvent
    from contactpoint.audit.tags import AuditAction

    ids = [child.id for child in directory.values()]
    right = {child_id: stored_tokens(child_id) for child_id in ids}
    SearchToken.objects.filter(child_id__in=ids).delete()
    assert found(given_name="Wiliam", family_name="Hartley", date_of_birth="2014") == []
    call_command("search-index", "rebuild", "--by", "ops", "--batch-size", "2")
    assert {child_id: stored_tokens(child_id) for child_id in ids} == right
    assert found(given_name="Wiliam", family_name="Hartley", date_of_birth="2014") == [
        directory["W1"].contactpoint_id]
    event = AuditEvent.objects.filter(action=str(AuditAction.DIRECTORY_SEARCH_INDEX_REBUILD)).get()
    assert event.details == {"index": "tokens", "children": len(ids)}
