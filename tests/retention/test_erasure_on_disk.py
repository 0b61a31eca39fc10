"""After erasure and compaction, nothing of the erased child is in the database's live files.

Its clear values never were (they are stored sealed); its sealed rows — the ciphertext, which a stolen
key could still open — are gone too, and so are its wrapped keys from the key store's files. The scan is
real: the other child's sealed rows and keys, seeded and stored the same way, are found.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection, connections

from contactpoint.core.embedded_db import contactpoint_home
from contactpoint.retention.services import compact_erased_tables, erase_child

from .test_erasure import ERASED, KEPT, load

pytestmark = [pytest.mark.django_db(transaction=True, databases=["default", "keys"]), pytest.mark.slow]


def database_directory(alias: str = "default") -> Path:
    """A database's directory (base/<oid>) on disk; skip when it cannot be read."""
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT oid FROM pg_database WHERE datname = current_database()")
        oid = cursor.fetchone()[0]
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        superuser = cursor.fetchone()[0]
        try:
            cursor.execute("SHOW data_directory")
            data = Path(cursor.fetchone()[0])
        except Exception:  # noqa: BLE001 - not permitted: fall back to the embedded server's
            data = contactpoint_home() / "pgdata"
    if not superuser:
        pytest.skip("VACUUM FULL pg_statistic and CHECKPOINT need a superuser; the database user is not one")
    directory = data / "base" / str(oid)
    try:
        files = list(directory.iterdir())
        files[0].read_bytes()
    except (OSError, IndexError) as error:
        pytest.skip(f"the database's files ({directory}) are not readable by this process: {error}")
    return directory


def found(directory: Path, values: list[str] | list[bytes]) -> set[str] | set[bytes]:
    needles = {v: ([v.encode(), v.upper().encode()] if isinstance(v, str) else [v]) for v in values}
    hits = set()
    for path in directory.iterdir():
        if not path.is_file():
            continue
        data = path.read_bytes()
        hits |= {v for v, forms in needles.items() if any(form in data for form in forms)}
    return hits  # type: ignore[return-value]


def sealed_rows_of(child_id: int) -> list[bytes]:
    """Every sealed blob the child owns or its source records own (golden record, names, addresses, carers)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sealed FROM directory_child WHERE id = %(c)s "
            "UNION ALL SELECT sealed FROM directory_childname WHERE child_id = %(c)s "
            "UNION ALL SELECT sealed FROM directory_childaddress WHERE child_id = %(c)s "
            "UNION ALL SELECT sealed FROM directory_carer WHERE child_id = %(c)s "
            "UNION ALL SELECT sealed FROM feeds_sourcerecord WHERE child_id = %(c)s", {"c": child_id})
        return [bytes(row[0]) for row in cursor.fetchall()]


def wrapped_keys_of(child_id: int) -> list[bytes]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM feeds_sourcerecord WHERE child_id = %s", [child_id])
        records = [row[0] for row in cursor.fetchall()]
    with connections["keys"].cursor() as cursor:
        cursor.execute("SELECT wrapped_key FROM keystore_datakey WHERE child_id = %s "
                       "UNION ALL SELECT wrapped_key FROM keystore_recordkey WHERE record_id = ANY(%s)",
                       [child_id, records])
        return [bytes(row[0]) for row in cursor.fetchall()]


def test_an_erased_childs_values_are_not_in_the_live_database_files(tmp_path: Path) -> None:
    directory, key_directory = database_directory(), database_directory("keys")
    erased, kept = load(tmp_path)
    clear_values = [ERASED[k] for k in ("given_names", "family_name", "former_family_names", "address_line_1",
                                        "postcode", "carer_email")] + [KEPT[k] for k in ("given_names", "postcode")]
    erased_blobs, kept_blobs = sealed_rows_of(erased.pk), sealed_rows_of(kept.pk)
    erased_keys, kept_keys = wrapped_keys_of(erased.pk), wrapped_keys_of(kept.pk)
    assert len(erased_blobs) >= 5 and len(erased_keys) == 2  # child, names, address, carer, record; two keys
    compact_erased_tables()
    assert found(directory, clear_values) == set()  # stored sealed: never in clear on disk
    # Before: the ciphertext and keys are there, so the scan can see them.
    assert found(directory, erased_blobs) == set(erased_blobs)
    assert found(key_directory, erased_keys) == set(erased_keys)

    erase_child(contactpoint_id=erased.contactpoint_id, reason="order ABC/123", system_actor="ops")
    report = compact_erased_tables()

    assert report.statistics_compacted and report.checkpointed
    assert report.key_store["table_rewritten"]  # the key store is compacted too
    assert found(directory, erased_blobs) == set()
    assert found(key_directory, erased_keys) == set()
    assert found(directory, kept_blobs) == set(kept_blobs)
    assert found(key_directory, kept_keys) == set(kept_keys)
    assert found(directory, clear_values) == set()
