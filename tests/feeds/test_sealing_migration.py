"""Migrating a directory stored in clear (before decision 5) seals it, and loses nothing.

The database is taken back to the last migrations with clear columns, given a child the way the old code
stored one (a source record with a carer and an involvement, the golden record, a former name, two
addresses, a carer row), then migrated forward: every value reads back unsealed, the clear columns are
gone, and the change-detection hash is the keyed one a feed load computes for the same row (so the next
load of an unchanged file changes nothing).
"""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from contactpoint.core.sealing import content_hash_key
from contactpoint.directory import identity
from contactpoint.directory.models import Child
from contactpoint.feeds.format import FEED_FIELDS, content_hash

pytestmark = [pytest.mark.django_db(transaction=True, databases=["default", "keys"]), pytest.mark.slow]

BEFORE = [("feeds", "0004_covering_child_indexes"), ("directory", "0009_search_tokens"),
          ("matching", "0003_blocking_keys")]

FEED_ROW = {name: "" for name in FEED_FIELDS} | {
    "source_record_id": "R1", "given_names": "Zephyrine", "family_name": "Quillbramble",
    "former_family_names": "Wexcombe", "date_of_birth": "2014-06-09", "sex": "F",
    "address_line_1": "77 Marrowgate Lane", "town": "Frogmore", "postcode": "B98 7QX", "nhs_number": "9434765919",
    "local_authority": "E08000025", "carer_given_names": "Ottoline", "carer_family_name": "Quillbramble",
    "carer_relationship": "mother", "carer_phone": "07700 900461", "carer_email": "o@example.org",
    "service_type": "school", "organisation_code": "103456", "organisation_name": "Elm Primary",
}


def migrate(targets: list[tuple[str, str]]) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def store_the_old_way() -> int:
    """One child as the code before sealing stored it; returns the child's id."""
    row = FEED_ROW
    carer = {"given_names": "Ottoline", "family_name": "Quillbramble", "relationship": "mother",
             "phone": "07700 900461", "email": "o@example.org"}
    involvement = {name: row[name] for name in FEED_FIELDS[19:]}
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO feeds_sourcesystem (code, name, trust, created_at) "
                       "VALUES ('nhs_demographics', 'NHS', 9, now()) RETURNING id")
        source = cursor.fetchone()[0]
        cursor.execute("INSERT INTO feeds_feedbatch (source_id, file_name, file_sha256, mode, status, started_at, "
                       "loaded_by, summary, message) VALUES (%s, 'f.csv', '', 'full', 'loaded', now(), '', '{}', '') "
                       "RETURNING id", [source])
        batch = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO directory_child (contactpoint_id, status, given_names, family_name, date_of_birth, sex, "
            "address_line_1, address_line_2, town, postcode, nhs_number, upn, retention_condition, is_shielded, "
            "created_at, updated_at) VALUES ('CP0000000001', 'active', 'Zephyrine', 'Quillbramble', '2014-06-09', "
            "'F', '77 Marrowgate Lane', '', 'Frogmore', 'B98 7QX', '9434765919', '', '', false, now(), now()) "
            "RETURNING id")
        child = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO feeds_sourcerecord (source_id, source_record_id, given_names, family_name, "
            "former_family_names, date_of_birth, sex, address_line_1, address_line_2, town, postcode, nhs_number, "
            "upn, local_authority, retention_condition, carer_details, involvement_details, content_hash, "
            "first_batch_id, last_batch_id, updated_at, child_id, link_method, link_model_version, link_pinned) "
            "VALUES (%s, 'R1', 'Zephyrine', 'Quillbramble', 'Wexcombe', '2014-06-09', 'F', '77 Marrowgate Lane', '', "
            "'Frogmore', 'B98 7QX', '9434765919', '', 'E08000025', '', %s, %s, 'old-unkeyed-sha256', %s, %s, now(), "
            "%s, 'new', '', false) RETURNING id",
            [source, json.dumps(carer), json.dumps(involvement), batch, batch, child])
        record = cursor.fetchone()[0]
        cursor.execute("INSERT INTO directory_childname (child_id, kind, given_names, family_name) VALUES "
                       "(%s, 'current', 'Zephyrine', 'Quillbramble'), (%s, 'former', 'Zephyrine', 'Wexcombe')",
                       [child, child])
        cursor.execute("INSERT INTO directory_childaddress (child_id, is_current, address_line_1, address_line_2, "
                       "town, postcode) VALUES (%s, true, '77 Marrowgate Lane', '', 'Frogmore', 'B98 7QX')", [child])
        cursor.execute("INSERT INTO directory_carer (child_id, source_record_id, given_names, family_name, "
                       "relationship, phone, email) VALUES (%s, %s, 'Ottoline', 'Quillbramble', 'mother', "
                       "'07700 900461', 'o@example.org')", [child, record])
    return child


def test_a_clear_directory_is_sealed_by_migrating_and_loses_nothing() -> None:
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    migrate(BEFORE)
    try:
        child_id = store_the_old_way()
    finally:
        migrate(latest)

    child = Child.objects.get(pk=child_id)
    who = identity.read_identity(child)
    assert (who.given_names, who.family_name, who.address_line_1, who.town, who.postcode, who.nhs_number) == (
        "Zephyrine", "Quillbramble", "77 Marrowgate Lane", "Frogmore", "B98 7QX", "9434765919")
    assert set(identity.read_names(child_id)) == {("current", "Zephyrine", "Quillbramble"),
                                                 ("former", "Zephyrine", "Wexcombe")}
    assert [a.postcode for a in identity.read_addresses(child_id)] == ["B98 7QX"]
    [carer] = identity.read_carers(child_id)
    assert (carer.given_names, carer.relationship, carer.phone, carer.email) == (
        "Ottoline", "mother", "07700 900461", "o@example.org")
    [record] = identity.read_source_identities([child_id])
    assert (record["former_family_names"], record["postcode"]) == ("Wexcombe", "B98 7QX")
    with connection.cursor() as cursor:
        cursor.execute("SELECT content_hash FROM feeds_sourcerecord")
        assert cursor.fetchone()[0] == content_hash(FEED_ROW, content_hash_key())  # what a load of it computes
        cursor.execute("SELECT count(*) FROM information_schema.columns WHERE table_name IN "
                       "('feeds_sourcerecord', 'directory_child', 'directory_childname', 'directory_childaddress', "
                       "'directory_carer') AND column_name IN ('given_names', 'family_name', 'postcode', "
                       "'address_line_1', 'nhs_number', 'phone', 'email', 'carer_details')")
        assert cursor.fetchone()[0] == 0  # the clear columns are gone
        cursor.execute("SELECT count(*) FROM directory_searchtoken WHERE child_id = %s", [child_id])
        assert cursor.fetchone()[0] == 1  # and it can be searched
        cursor.execute("SELECT count(*) FROM matching_blockingkeys")
        assert cursor.fetchone()[0] == 1  # and matched against
