"""Per-child data keys in the key store: create, fetch (unwrapped), destroy and count, one or many at once.

Each child gets a random 256-bit data key; its identifying fields are encrypted under it
(:func:`contactpoint.core.keys.encrypt_field`). The key is stored only *wrapped* by the master key
(:mod:`contactpoint.core.keys`), in :class:`~contactpoint.keystore.models.DataKey`, in the database
``keys`` — never in the main database, so that no backup of the main database holds a key. Destroying
a child's key makes every copy of its ciphertext unreadable: the live rows, the main database's backups
and its write-ahead log (docs/retention.md).

The bulk functions are set-based (one ``COPY`` to create, ``= ANY(array)`` in chunks to fetch and
destroy): encrypting a whole directory needs a million keys at a time.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator
from typing import Any

import psycopg
from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from contactpoint.core.keys import KEY_BYTES, KeyStoreError, KeyWrapper, configured_wrapper
from contactpoint.keystore.models import DataKey
from contactpoint.keystore.router import KEYS_DATABASE

# Children per statement when fetching or destroying many (keeps each array parameter a few hundred kB).
CHUNK = 20_000

_TABLE = DataKey._meta.db_table


def _context(child_id: int) -> bytes:
    """What the wrapper binds in: a wrapped key unwraps only as this child's key."""
    return f"contactpoint child key v1:{child_id}".encode()


def _chunks(child_ids: Iterable[int]) -> Iterator[list[int]]:
    ids = list(dict.fromkeys(int(i) for i in child_ids))
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def create_data_keys(*, child_ids: Iterable[int], wrapper: KeyWrapper | None = None) -> dict[int, bytes]:
    """Make, wrap and store a new data key for each child (one ``COPY``); return them unwrapped.

    All or nothing: :class:`KeyStoreError` (and nothing stored) when a child already has a key.
    """
    wrapper = wrapper or configured_wrapper()
    ids = list(dict.fromkeys(int(i) for i in child_ids))
    data_keys = {child_id: secrets.token_bytes(KEY_BYTES) for child_id in ids}
    if not ids:
        return data_keys
    now = timezone.now()
    try:
        with transaction.atomic(using=KEYS_DATABASE), connections[KEYS_DATABASE].cursor() as cursor:
            raw = cursor.cursor  # the psycopg cursor underneath Django's wrapper, for COPY
            with raw.copy(f"COPY {_TABLE} (child_id, wrapped_key, wrapped_by, created_at) FROM STDIN") as copy:
                for child_id, data_key in data_keys.items():
                    copy.write_row((child_id, wrapper.wrap(data_key, context=_context(child_id)), wrapper.name, now))
    except (IntegrityError, psycopg.IntegrityError):
        raise KeyStoreError("a child already has a data key; nothing was stored") from None
    return data_keys


def create_data_key(*, child_id: int, wrapper: KeyWrapper | None = None) -> bytes:
    """Make, wrap and store a new data key for one child; return it (unwrapped, for immediate use)."""
    return create_data_keys(child_ids=[child_id], wrapper=wrapper)[int(child_id)]


def fetch_data_keys(*, child_ids: Iterable[int], wrapper: KeyWrapper | None = None) -> dict[int, bytes]:
    """The data keys of these children, unwrapped. A child without a key (erased, never made) is absent."""
    wrapper = wrapper or configured_wrapper()
    found: dict[int, bytes] = {}
    with connections[KEYS_DATABASE].cursor() as cursor:
        for chunk in _chunks(child_ids):
            cursor.execute(f"SELECT child_id, wrapped_key FROM {_TABLE} WHERE child_id = ANY(%s::bigint[])", [chunk])
            for child_id, wrapped in cursor.fetchall():
                found[child_id] = wrapper.unwrap(bytes(wrapped), context=_context(child_id))
    return found


def fetch_data_key(*, child_id: int, wrapper: KeyWrapper | None = None) -> bytes:
    """The child's data key, unwrapped. :class:`KeyStoreError` when it has none (erased, or never made)."""
    found = fetch_data_keys(child_ids=[child_id], wrapper=wrapper)
    if int(child_id) not in found:
        raise KeyStoreError("the child has no data key (erased, or never made)")
    return found[int(child_id)]


def destroy_data_keys(*, child_ids: Iterable[int]) -> int:
    """Delete these children's keys from the key store, committed before returning; the number deleted.

    Called by erasure *before* the main database's transaction commits (docs/retention.md: crypto-shred
    first). The key store's transaction is separate from the main database's: the deletion is durable
    whatever the caller's main-database transaction does next (never wrap this in an atomic block on
    ``keys``, which would delay it to that block's commit).
    """
    deleted = 0
    with transaction.atomic(using=KEYS_DATABASE), connections[KEYS_DATABASE].cursor() as cursor:
        for chunk in _chunks(child_ids):
            cursor.execute(f"DELETE FROM {_TABLE} WHERE child_id = ANY(%s::bigint[])", [chunk])
            deleted += cursor.rowcount
    return deleted


def destroy_data_key(*, child_id: int) -> bool:
    """Delete one child's key; whether it had one."""
    return destroy_data_keys(child_ids=[child_id]) == 1


def destroy_all_data_keys() -> int:
    """Empty the key store (decommissioning), committed before returning; the number of keys destroyed."""
    with transaction.atomic(using=KEYS_DATABASE), connections[KEYS_DATABASE].cursor() as cursor:
        cursor.execute(f"LOCK TABLE {_TABLE} IN ACCESS EXCLUSIVE MODE")
        cursor.execute(f"SELECT count(*) FROM {_TABLE}")
        count = int(cursor.fetchone()[0])
        cursor.execute(f"TRUNCATE {_TABLE}")
    return count


def count_data_keys(*, child_ids: Iterable[int] | None = None) -> int:
    """How many keys the key store holds (of these children, when given)."""
    with connections[KEYS_DATABASE].cursor() as cursor:
        if child_ids is None:
            cursor.execute(f"SELECT count(*) FROM {_TABLE}")
            return int(cursor.fetchone()[0])
        total = 0
        for chunk in _chunks(child_ids):
            cursor.execute(f"SELECT count(*) FROM {_TABLE} WHERE child_id = ANY(%s::bigint[])", [chunk])
            total += int(cursor.fetchone()[0])
        return total


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
        if superuser:
            cursor.execute("DELETE FROM pg_statistic WHERE starelid = %s::regclass", [_TABLE])
        cursor.execute(f"ANALYZE {_TABLE}")
        cursor.execute(f"VACUUM (INDEX_CLEANUP ON) {_TABLE}")  # see retention.services.compact_erased_tables
        cursor.execute(f"VACUUM (FULL) {_TABLE}")
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
