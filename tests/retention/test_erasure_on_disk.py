"""After erasure and compaction, the erased child's values are nowhere in the database's live files.

The scan is real: the other child's values, seeded the same way, are found.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection

from contactpoint.core.embedded_db import contactpoint_home
from contactpoint.retention.services import compact_erased_tables, erase_child

from .test_erasure import ERASED, KEPT, load

pytestmark = [pytest.mark.django_db(transaction=True, databases=["default", "keys"]), pytest.mark.slow]


def database_directory() -> Path:
    """This database's directory (base/<oid>) on disk; skip when it cannot be read."""
    with connection.cursor() as cursor:
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


def found(directory: Path, values: list[str]) -> set[str]:
    needles = {v: [v.encode(), v.upper().encode()] for v in values}
    hits = set()
    for path in directory.iterdir():
        if not path.is_file():
            continue
        data = path.read_bytes()
        hits |= {v for v, forms in needles.items() if any(form in data for form in forms)}
    return hits


def test_an_erased_childs_values_are_not_in_the_live_database_files(tmp_path: Path) -> None:
    directory = database_directory()
    erased, _ = load(tmp_path)
    erased_values = [ERASED[k] for k in ("given_names", "family_name", "former_family_names", "address_line_1",
                                         "postcode", "carer_email")]
    kept_values = [KEPT[k] for k in ("given_names", "family_name", "address_line_1", "postcode")]
    compact_erased_tables()
    assert found(directory, erased_values) == set(erased_values)  # before: there, so the scan can see them

    erase_child(contactpoint_id=erased.contactpoint_id, reason="order ABC/123", system_actor="ops")
    report = compact_erased_tables()

    assert report.statistics_compacted and report.checkpointed
    assert report.key_store["table_rewritten"]  # the key store is compacted too
    assert found(directory, erased_values) == set()
    assert found(directory, kept_values) == set(kept_values)
