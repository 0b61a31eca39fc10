"""Data keys in the key store, per child and per source record: create, fetch (unwrapped), destroy and
count, one or many at once.

Each child and each source record gets a random 256-bit data key; its identifying fields are sealed
under it (:mod:`contactpoint.core.sealing`). The key is stored only *wrapped* by the master key
(:mod:`contactpoint.core.keys`), in :class:`~contactpoint.keystore.models.DataKey`, in the database
``keys`` — never in the main database, so that no backup of the main database holds a key. Destroying
a child's key makes every copy of its ciphertext unreadable: the live rows, the main database's backups
and its write-ahead log (docs/retention.md).

The bulk functions are set-based (one ``COPY`` to create, ``= ANY(array)`` in chunks to fetch and
destroy): encrypting a whole directory needs a million keys at a time.
"""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from contactpoint.core.keys import KEY_BYTES, KeyStoreError, KeyWrapper, configured_wrapper
from contactpoint.keystore.models import DataKey, RecordKey
from contactpoint.keystore.router import KEYS_DATABASE

# Children (or records) per statement when fetching or destroying many (keeps each array parameter a few
# hundred kB).
CHUNK = 20_000


@dataclass(frozen=True)
class _Kind:
    """One kind of key: its table, the column naming its owner, and what the wrapper binds in."""

    table: str
    owner: str
    context_prefix: str
    noun: str

    def context(self, owner_id: int) -> bytes:
        """What the wrapper binds in: a wrapped key unwraps only as this owner's key."""
        return f"{self.context_prefix}:{owner_id}".encode()


CHILD = _Kind(DataKey._meta.db_table, "child_id", "contactpoint child key v1", "child")
RECORD = _Kind(RecordKey._meta.db_table, "record_id", "contactpoint source record key v1", "source record")
_KINDS = (CHILD, RECORD)


def _chunks(owner_ids: Iterable[int]) -> Iterator[list[int]]:
    ids = list(dict.fromkeys(int(i) for i in owner_ids))
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def _create(kind: _Kind, owner_ids: Iterable[int], wrapper: KeyWrapper | None) -> dict[int, bytes]:
    wrapper = wrapper or configured_wrapper()
    ids = list(dict.fromkeys(int(i) for i in owner_ids))
    data_keys = {owner_id: secrets.token_bytes(KEY_BYTES) for owner_id in ids}
    if not ids:
        return data_keys
    # One call for all: the Vault wrapper sends them in batches (a few HTTP calls, not one per key).
    wrapped = wrapper.wrap_many([(key, kind.context(owner_id)) for owner_id, key in data_keys.items()])
    now = timezone.now()
    try:
        with transaction.atomic(using=KEYS_DATABASE), connections[KEYS_DATABASE].cursor() as cursor:
            raw = cursor.cursor  # the psycopg cursor underneath Django's wrapper, for COPY
            with raw.copy(f"COPY {kind.table} ({kind.owner}, wrapped_key, wrapped_by, created_at) FROM STDIN") as copy:
                for owner_id, wrapped_key in zip(ids, wrapped, strict=True):
                    copy.write_row((owner_id, wrapped_key, wrapper.name, now))
    except (IntegrityError, psycopg.IntegrityError):
        raise KeyStoreError(f"a {kind.noun} already has a data key; nothing was stored") from None
    return data_keys


def _fetch(kind: _Kind, owner_ids: Iterable[int], wrapper: KeyWrapper | None) -> dict[int, bytes]:
    wrapper = wrapper or configured_wrapper()
    found: dict[int, bytes] = {}
    with connections[KEYS_DATABASE].cursor() as cursor:
        for chunk in _chunks(owner_ids):
            cursor.execute(f"SELECT {kind.owner}, wrapped_key FROM {kind.table} WHERE {kind.owner} = ANY(%s::bigint[])",
                           [chunk])
            rows = cursor.fetchall()
            keys = wrapper.unwrap_many([(bytes(wrapped), kind.context(owner_id)) for owner_id, wrapped in rows])
            found.update(zip((row[0] for row in rows), keys, strict=True))
    return found


def _destroy(kind: _Kind, owner_ids: Iterable[int]) -> int:
    deleted = 0
    with transaction.atomic(using=KEYS_DATABASE), connections[KEYS_DATABASE].cursor() as cursor:
        for chunk in _chunks(owner_ids):
            cursor.execute(f"DELETE FROM {kind.table} WHERE {kind.owner} = ANY(%s::bigint[])", [chunk])
            deleted += cursor.rowcount
    return deleted


def _count(kind: _Kind, owner_ids: Iterable[int] | None) -> int:
    with connections[KEYS_DATABASE].cursor() as cursor:
        if owner_ids is None:
            cursor.execute(f"SELECT count(*) FROM {kind.table}")
            return int(cursor.fetchone()[0])
        total = 0
        for chunk in _chunks(owner_ids):
            cursor.execute(f"SELECT count(*) FROM {kind.table} WHERE {kind.owner} = ANY(%s::bigint[])", [chunk])
            total += int(cursor.fetchone()[0])
        return total


# Children's keys -------------------------------------------------------------------------------------


def create_data_keys(*, child_ids: Iterable[int], wrapper: KeyWrapper | None = None) -> dict[int, bytes]:
    """Make, wrap and store a new data key for each child (one ``COPY``); return them unwrapped.

    All or nothing: :class:`KeyStoreError` (and nothing stored) when a child already has a key.
    """
    return _create(CHILD, child_ids, wrapper)


def create_data_key(*, child_id: int, wrapper: KeyWrapper | None = None) -> bytes:
    """Make, wrap and store a new data key for one child; return it (unwrapped, for immediate use)."""
    return create_data_keys(child_ids=[child_id], wrapper=wrapper)[int(child_id)]


def fetch_data_keys(*, child_ids: Iterable[int], wrapper: KeyWrapper | None = None) -> dict[int, bytes]:
    """The data keys of these children, unwrapped. A child without a key (erased, never made) is absent."""
    return _fetch(CHILD, child_ids, wrapper)


def fetch_data_key(*, child_id: int, wrapper: KeyWrapper | None = None) -> bytes:
    """The child's data key, unwrapped. :class:`KeyStoreError` when it has none (erased, or never made)."""
    found = fetch_data_keys(child_ids=[child_id], wrapper=wrapper)
    if int(child_id) not in found:
        raise KeyStoreError("the child has no data key (erased, or never made)")
    return found[int(child_id)]


def fetch_or_create_data_keys(*, child_ids: Iterable[int], wrapper: KeyWrapper | None = None) -> dict[int, bytes]:
    """The data keys of these children, making one for each child that has none yet (a new child)."""
    wrapper = wrapper or configured_wrapper()
    ids = list(dict.fromkeys(int(i) for i in child_ids))
    found = fetch_data_keys(child_ids=ids, wrapper=wrapper)
    found.update(create_data_keys(child_ids=[i for i in ids if i not in found], wrapper=wrapper))
    return found


def destroy_data_keys(*, child_ids: Iterable[int]) -> int:
    """Delete these children's keys from the key store, committed before returning; the number deleted.

    Called by erasure *before* the main database's transaction commits (docs/retention.md: crypto-shred
    first). The key store's transaction is separate from the main database's: the deletion is durable
    whatever the caller's main-database transaction does next (never wrap this in an atomic block on
    ``keys``, which would delay it to that block's commit).
    """
    return _destroy(CHILD, child_ids)


def destroy_data_key(*, child_id: int) -> bool:
    """Delete one child's key; whether it had one."""
    return destroy_data_keys(child_ids=[child_id]) == 1


def count_data_keys(*, child_ids: Iterable[int] | None = None) -> int:
    """How many children's keys the key store holds (of these children, when given)."""
    return _count(CHILD, child_ids)


# Source records' keys ----------------------------------------------------------------------------------


def create_record_keys(*, record_ids: Iterable[int], wrapper: KeyWrapper | None = None) -> dict[int, bytes]:
    """Make, wrap and store a new data key for each source record; return them unwrapped. All or nothing."""
    return _create(RECORD, record_ids, wrapper)


def fetch_record_keys(*, record_ids: Iterable[int], wrapper: KeyWrapper | None = None) -> dict[int, bytes]:
    """The data keys of these source records, unwrapped; a record without one (erased) is absent."""
    return _fetch(RECORD, record_ids, wrapper)


def destroy_record_keys(*, record_ids: Iterable[int]) -> int:
    """Delete these records' keys, committed before returning (as :func:`destroy_data_keys`)."""
    return _destroy(RECORD, record_ids)


def count_record_keys(*, record_ids: Iterable[int] | None = None) -> int:
    """How many source records' keys the key store holds (of these records, when given)."""
    return _count(RECORD, record_ids)


def key_owners(kind: str, *, created_before: datetime.datetime) -> list[int]:
    """The owners (child or record ids, by ``kind``: ``"child"`` or ``"record"``) of keys made before a time."""
    chosen = CHILD if kind == "child" else RECORD
    with connections[KEYS_DATABASE].cursor() as cursor:
        cursor.execute(f"SELECT {chosen.owner} FROM {chosen.table} WHERE created_at < %s", [created_before])
        return [row[0] for row in cursor.fetchall()]


def destroy_all_data_keys() -> dict[str, int]:
    """Empty the key store (decommissioning), committed before returning; the keys destroyed, per table."""
    counts: dict[str, int] = {}
    with transaction.atomic(using=KEYS_DATABASE), connections[KEYS_DATABASE].cursor() as cursor:
        for kind in _KINDS:
            cursor.execute(f"LOCK TABLE {kind.table} IN ACCESS EXCLUSIVE MODE")
            cursor.execute(f"SELECT count(*) FROM {kind.table}")
            counts[kind.table] = int(cursor.fetchone()[0])
            cursor.execute(f"TRUNCATE {kind.table}")
    return counts


def compact_key_store() -> dict[str, Any]:
    """Rewrite the key table so destroyed keys leave the key store's live files and planner statistics.

    The statistics of ``wrapped_key`` (histogram bounds) are sample *values*: deleted first, then
    re-analysed from the live rows, and ``pg_statistic`` rewritten (superuser). Must run outside a
    transaction (``VACUUM``).
    """
    connection = connections[KEYS_DATABASE]
    if connection.in_atomic_block:
        raise KeyStoreError("compaction cannot run inside a transaction (VACUUM)")
    done: dict[str, Any] = {"database": connection.settings_dict.get("NAME", ""), "table_rewritten": False,
                            "statistics_compacted": False, "checkpointed": False, "skipped": []}
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper, pg_has_role(current_user, 'pg_checkpoint', 'MEMBER') "
                       "FROM pg_roles WHERE rolname = current_user")
        superuser, may_checkpoint = cursor.fetchone()
        for kind in _KINDS:
            if superuser:
                cursor.execute("DELETE FROM pg_statistic WHERE starelid = %s::regclass", [kind.table])
            cursor.execute(f"ANALYZE {kind.table}")
            cursor.execute(f"VACUUM (INDEX_CLEANUP ON) {kind.table}")  # see retention.services.compact_erased_tables
            cursor.execute(f"VACUUM (FULL) {kind.table}")
        done["table_rewritten"] = True
        if superuser:
            cursor.execute("VACUUM (INDEX_CLEANUP ON) pg_catalog.pg_statistic")
            cursor.execute("VACUUM (FULL) pg_catalog.pg_statistic")
            done["statistics_compacted"] = True
        else:
            done["skipped"].append("key store: VACUUM FULL pg_statistic (needs a superuser)")
        if superuser or may_checkpoint:
            cursor.execute("CHECKPOINT")
            done["checkpointed"] = True
        else:
            done["skipped"].append("key store: CHECKPOINT (needs a superuser or pg_checkpoint)")
    return done
