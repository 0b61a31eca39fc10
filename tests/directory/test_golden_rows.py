"""The golden-record rebuild writes only what changed, and ends with exactly the rows a full rebuild gives.

``identity.rebuild_golden_records`` compares each child's names, addresses and search-index rows with
what they should be and deletes or inserts only the difference (most children a feed touches are
unchanged). Whatever those tables held before, the result must be what deleting and rebuilding them
from the source records gives, and unchanged rows must keep their ids (they were not rewritten).
"""

from __future__ import annotations

import pytest
from django.db import connection

from contactpoint.directory import identity
from contactpoint.feeds.models import SourceRecord

from .builders import child_row, load_children

pytestmark = pytest.mark.django_db

TABLES = {
    "directory_childname": "child_id, kind, given_names, family_name",
    "directory_childaddress": "child_id, is_current, address_line_1, address_line_2, town, postcode",
    "directory_searchname": "child_id, is_current, family, family_dm, given, given_all, given_dm, given_canon, "
    "dob, birth_year",
}


def rows(table: str, child_ids: list[int]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {TABLES[table]} FROM {table} WHERE child_id = ANY(%s) ORDER BY {TABLES[table]}", [child_ids]
        )
        return cursor.fetchall()


def ids(table: str, child_ids: list[int]) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {table} WHERE child_id = ANY(%s)", [child_ids])
        return {row[0] for row in cursor.fetchall()}


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
        cursor.execute("DELETE FROM directory_searchname WHERE child_id = %s AND is_current", [first])
        cursor.execute("UPDATE directory_searchname SET given_dm = 'XX' WHERE child_id = %s", [second])
        cursor.execute(
            "INSERT INTO directory_searchname (child_id, is_current, family, family_dm, given, given_all, given_dm, "
            "given_canon, dob, birth_year) VALUES (%s, false, 'ZZ', 'Z', 'Q', 'Q', 'Q', 'Q', NULL, NULL)",
            [third],
        )
        cursor.execute("DELETE FROM directory_childname WHERE child_id = %s AND kind = 'former'", [first])
        cursor.execute("UPDATE directory_childaddress SET is_current = NOT is_current WHERE child_id = %s", [second])
        cursor.execute("UPDATE directory_childaddress SET town = 'Elsewhere' WHERE child_id = %s", [third])
    SourceRecord.objects.filter(child_id=third).update(family_name="Harper-Lewis", postcode="B9 4AA")
    untouched = ids("directory_childname", [second])

    identity.rebuild_golden_records(children)
    result = {table: rows(table, children) for table in TABLES}

    assert ids("directory_childname", [second]) == untouched
    assert result == rebuilt_from_scratch(children)
    assert ("former", "Amelia Rose", "Jones") in [row[1:] for row in result["directory_childname"]]
    assert {"HARPERLEWIS", "HARPER", "LEWIS"} <= {row[2] for row in result["directory_searchname"] if row[0] == third}
    assert "ZZ" not in {row[2] for row in result["directory_searchname"]}
