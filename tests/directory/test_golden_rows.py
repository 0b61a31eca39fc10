"""The golden-record rebuild writes only what changed, and ends with exactly the rows a full rebuild gives.

``identity.rebuild_golden_records`` compares each child's names, addresses and search-index rows with
what they should be and deletes or inserts only the difference (most children a feed touches are
unchanged). Whatever those tables held before, the result must be what deleting and rebuilding them
from the source records gives, and unchanged rows must not be rewritten (same id, same xmin).
"""

from __future__ import annotations

import pytest
from django.db import connection

from contactpoint.core.sealing import open_sealed
from contactpoint.directory import identity
from contactpoint.feeds.models import SourceRecord
from contactpoint.keystore import datakeys

from .builders import child_row, load_children

pytestmark = pytest.mark.django_db

# What a row says: a name or address row's digest is a keyed hash of its (sealed) fields, so equal digests
# are equal contents; the token index row is its tokens.
TABLES = {
    "directory_childname": "child_id, kind, digest",
    "directory_childaddress": "child_id, is_current, digest",
    "directory_searchtoken": "child_id, tokens",
}


def reseal(record_id: int, **changes: str) -> None:
    """Change what a stored source record says (as a feed would), sealed under its own key."""
    key = datakeys.fetch_record_keys(record_ids=[record_id])[record_id]
    record = SourceRecord.objects.get(pk=record_id)
    fields = open_sealed(key, record.sealed, table="feeds_sourcerecord", owner_id=record_id)
    SourceRecord.objects.filter(pk=record_id).update(sealed=identity.seal_record(key, record_id, {**fields, **changes}))


def rows(table: str, child_ids: list[int]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {TABLES[table]} FROM {table} WHERE child_id = ANY(%s) ORDER BY {TABLES[table]}", [child_ids]
        )
        return cursor.fetchall()


def ids(table: str, child_ids: list[int]) -> set[int]:
    key = "child_id" if table == "directory_searchtoken" else "id"  # one token row per child
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {key}, xmin::text FROM {table} WHERE child_id = ANY(%s)", [child_ids])
        return {(row[0], row[1]) for row in cursor.fetchall()}  # a rewritten row has a new xmin


def rebuilt_from_scratch(child_ids: list[int]) -> dict[str, list[tuple]]:
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"DELETE FROM {table} WHERE child_id = ANY(%s)", [child_ids])
    identity.rebuild_golden_records(child_ids)
    return {table: rows(table, child_ids) for table in TABLES}


@pytest.fixture
def children(tmp_path):
    loaded = load_children(tmp_path, [
        child_row("1", given_names="Amelia Rose", family_name="Okafor-Smith", former_family_names="Jones"),
        child_row("2", given_names="Tomasz", family_name="Wiśniewski", date_of_birth="2012-07-01",
                  postcode="B13 9AH", address_line_1="3 Oak Lane"),
        child_row("3", given_names="Bill", family_name="Harper", date_of_birth="2016-11-20", postcode="B8 1AA",
                  address_line_1="1 Station Road"),
    ])
    return sorted({child.id for child in loaded.values()})


def test_an_unchanged_child_keeps_its_rows(children):
    before = {table: ids(table, children) for table in TABLES}
    identity.rebuild_golden_records(children)
    assert {table: ids(table, children) for table in TABLES} == before


def test_whatever_the_tables_held_the_result_is_a_full_rebuild(children):
    first, second, third = children
    with connection.cursor() as cursor:
        # Rows missing, rows wrong, rows that should not be there, and source records that changed.
        cursor.execute("UPDATE directory_searchtoken SET tokens = tokens[2:] WHERE child_id = %s", [first])
        cursor.execute("UPDATE directory_searchtoken SET tokens = tokens || 42::bigint WHERE child_id = %s", [second])
        cursor.execute("INSERT INTO directory_childname (child_id, kind, digest, sealed) "
                       "SELECT %s, kind, digest, sealed FROM directory_childname WHERE child_id = %s", [third, first])
        cursor.execute("DELETE FROM directory_childname WHERE child_id = %s AND kind = 'former'", [first])
        cursor.execute("UPDATE directory_childaddress SET is_current = NOT is_current WHERE child_id = %s", [second])
    [third_record] = SourceRecord.objects.filter(child_id=third).values_list("pk", flat=True)
    reseal(third_record, family_name="Harper-Lewis", postcode="B9 4AA")
    untouched = ids("directory_childname", [second])

    identity.rebuild_golden_records(children)
    result = {table: rows(table, children) for table in TABLES}

    assert ids("directory_childname", [second]) == untouched
    assert result == rebuilt_from_scratch(children)
    assert ("former", "Amelia Rose", "Jones") in identity.read_names(first)
    assert ("current", "Bill", "Harper-Lewis") in identity.read_names(third)
    assert "B9 4AA" in {a.postcode for a in identity.read_addresses(third)}
    assert 42 not in dict(result["directory_searchtoken"])[second]
    # The search finds the child under its new family name, and each part of it, through the tokens.
    found = identity.find_search_candidates(identity.CandidateQuery(
        keys=identity.search_query_keys(given_names="Bill", family_name="Lewis"), given_canons=("BILL", "WILLIAM"),
        birth_years=(2016, 2016)))
    assert third in {candidate.child_id for candidate in found}
