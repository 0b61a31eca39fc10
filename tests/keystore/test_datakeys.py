"""The key store: data keys live wrapped in the database ``keys``, never in the main database; erasure destroys them."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connections

from contactpoint.core.keys import KeyStoreError, LocalKeyWrapper
from contactpoint.core.sealing import open_sealed
from contactpoint.directory import identity
from contactpoint.directory.models import Child
from contactpoint.keystore import datakeys
from contactpoint.keystore.models import DataKey
from contactpoint.keystore.router import KeyStoreRouter
from contactpoint.retention.services import erase_child
from directory.builders import child_row, load_children

pytestmark = pytest.mark.django_db(databases=["default", "keys"])

WRAPPER = LocalKeyWrapper(b"m" * 32)


def table_exists(alias: str, table: str) -> bool:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [table])
        return bool(cursor.fetchone()[0])


def stored_in_key_store() -> dict[int, bytes]:
    """The wrapped keys, read with SQL on the key store's own connection (not through the router)."""
    with connections["keys"].cursor() as cursor:
        cursor.execute("SELECT child_id, wrapped_key FROM keystore_datakey ORDER BY child_id")
        return {child_id: bytes(wrapped) for child_id, wrapped in cursor.fetchall()}


def test_keys_are_stored_wrapped_in_the_key_store_and_the_main_database_has_no_key_table() -> None:
    created = datakeys.create_data_keys(child_ids=[11, 12, 13], wrapper=WRAPPER)
    stored = stored_in_key_store()
    assert sorted(stored) == [11, 12, 13]
    assert all(created[child_id] not in wrapped for child_id, wrapped in stored.items())  # wrapped, never clear
    assert not table_exists("default", "keystore_datakey") and not table_exists("default", "retention_childkey")
    assert DataKey.objects.filter(wrapped_by=WRAPPER.name).count() == 3  # the ORM reads them there too


def test_the_router_sends_the_key_store_and_only_it_to_keys() -> None:
    router = KeyStoreRouter()
    assert router.db_for_read(DataKey) == "keys" and router.db_for_write(DataKey) == "keys"
    assert router.db_for_read(Child) is None and router.db_for_write(Child) is None  # the default database
    assert router.allow_migrate("keys", "keystore") and not router.allow_migrate("default", "keystore")
    assert router.allow_migrate("keys", "directory") is False and router.allow_migrate("keys", "auth") is False
    assert router.allow_relation(DataKey(), Child()) is False


def test_the_key_store_database_holds_the_key_tables_and_nothing_else() -> None:
    with connections["keys"].cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        assert {row[0] for row in cursor.fetchall()} == {"django_migrations", "keystore_datakey",
                                                        "keystore_recordkey"}


def test_a_key_round_trips_and_a_missing_one_is_an_error() -> None:
    data_key = datakeys.create_data_key(child_id=7, wrapper=WRAPPER)
    assert len(data_key) == 32 and datakeys.fetch_data_key(child_id=7, wrapper=WRAPPER) == data_key
    with pytest.raises(KeyStoreError, match="no data key"):
        datakeys.fetch_data_key(child_id=8, wrapper=WRAPPER)


def test_many_keys_at_once_in_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(datakeys, "CHUNK", 2)  # five children: three statements each way
    created = datakeys.create_data_keys(child_ids=range(1, 6), wrapper=WRAPPER)
    assert len(set(created.values())) == 5
    assert datakeys.fetch_data_keys(child_ids=[1, 2, 3, 4, 5, 99], wrapper=WRAPPER) == created  # 99: none, absent
    assert datakeys.count_data_keys(child_ids=[1, 2, 99]) == 2
    assert datakeys.destroy_data_keys(child_ids=[1, 3, 5, 99]) == 3
    assert sorted(stored_in_key_store()) == [2, 4]
    assert datakeys.destroy_data_key(child_id=2) and not datakeys.destroy_data_key(child_id=2)


def test_creating_keys_is_all_or_nothing() -> None:
    first = datakeys.create_data_key(child_id=1, wrapper=WRAPPER)
    with pytest.raises(KeyStoreError, match="already has a data key"):
        datakeys.create_data_keys(child_ids=[2, 1, 3], wrapper=WRAPPER)
    assert sorted(stored_in_key_store()) == [1]  # neither 2 nor 3 was stored
    assert datakeys.fetch_data_key(child_id=1, wrapper=WRAPPER) == first  # and the old key is untouched


def test_a_wrapped_key_is_bound_to_its_child() -> None:
    datakeys.create_data_keys(child_ids=[1, 2], wrapper=WRAPPER)
    DataKey.objects.filter(child_id=2).update(wrapped_key=stored_in_key_store()[1])  # child 1's key, moved
    with pytest.raises(KeyStoreError, match="does not unwrap"):
        datakeys.fetch_data_key(child_id=2, wrapper=WRAPPER)


def test_erasing_a_child_destroys_its_key_in_the_key_store(tmp_path: Path) -> None:
    loaded = load_children(tmp_path, [child_row("E1"), child_row("K1", given_names="Ian", family_name="Brook")])
    erased, kept = loaded["E1"], loaded["K1"]
    assert sorted(stored_in_key_store()) == sorted([erased.pk, kept.pk])  # made when the feed was loaded
    erased.refresh_from_db()
    sealed = bytes(erased.sealed)
    key = datakeys.fetch_data_key(child_id=erased.pk)
    assert open_sealed(key, sealed, table="directory_child", owner_id=erased.pk)["family_name"] == "Okafor"

    report = erase_child(contactpoint_id=erased.contactpoint_id, reason="test", system_actor="ops")

    assert report.rows["keystore_datakey"] == 1
    assert report.rows["keystore_recordkey"] == 1  # its source record's key too
    assert sorted(stored_in_key_store()) == [kept.pk]  # the other child's key stays
    with pytest.raises(KeyStoreError):
        datakeys.fetch_data_key(child_id=erased.pk)
    # The ciphertext may live on in a backup of the main database; without the key it is noise.


@pytest.mark.django_db(transaction=True, databases=["default", "keys"])
def test_keys_go_first_a_failed_erasure_leaves_rows_without_keys_and_erasing_again_finishes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The key store commits before the main database: a failure after it leaves unreadable rows, never a key."""
    from contactpoint.retention import services

    child = load_children(tmp_path, [child_row("E1")])["E1"]

    def fail(**_: object) -> None:
        raise RuntimeError("the main transaction fails after the keys were destroyed")

    monkeypatch.setattr(services, "record_event", fail)
    with pytest.raises(RuntimeError):
        erase_child(contactpoint_id=child.contactpoint_id, reason="test", system_actor="ops")
    assert Child.objects.filter(pk=child.pk).exists()  # the main transaction rolled back…
    assert datakeys.count_data_keys(child_ids=[child.pk]) == 0  # …but the key is gone for good
    with pytest.raises(identity.IdentityUnavailable):  # so its surviving rows can't be read
        identity.read_identity(Child.objects.get(pk=child.pk))

    monkeypatch.undo()
    erase_child(contactpoint_id=child.contactpoint_id, reason="test", system_actor="ops")
    assert not Child.objects.filter(pk=child.pk).exists()
