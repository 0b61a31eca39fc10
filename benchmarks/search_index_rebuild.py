"""How long the golden-record rebuild takes with each search index, over every child of a built directory.

Deletes the index rows of the mode in use (``CONTACTPOINT_SEARCH_INDEX``), times
``identity.rebuild_golden_records`` over every child (golden record, names, addresses and the index),
then times it again with nothing to change, and rolls everything back. Run it against a home built by
``search_quality.py`` with the same index::

    CONTACTPOINT_HOME=var/search-bench-tokens CONTACTPOINT_SEARCH_INDEX=tokens \\
        .venv/bin/python benchmarks/search_index_rebuild.py
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("CONTACTPOINT_MODE", "test")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactpoint.settings")


class Rollback(Exception):
    pass


def main() -> None:
    import django

    django.setup()
    from django.db import connection, transaction

    from contactpoint.directory import identity

    mode = identity.search_index_mode()
    table = "directory_searchtoken" if mode == "tokens" else "directory_searchname"
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT id FROM directory_child ORDER BY id")
            ids = [row[0] for row in cursor.fetchall()]
            load = os.getloadavg()[0]
            started = time.perf_counter()
            identity.rebuild_golden_records(ids)
            unchanged = time.perf_counter() - started
            cursor.execute(f"DELETE FROM {table}")
            started = time.perf_counter()
            identity.rebuild_golden_records(ids)
            rebuilt = time.perf_counter() - started
            print(f"{mode} index, {len(ids):,} children (load average {load:.2f} → {os.getloadavg()[0]:.2f}): "
                  f"rebuild with nothing to change {unchanged:.1f} s; with the index rows all missing {rebuilt:.1f} s")
            raise Rollback
    except Rollback:
        pass


if __name__ == "__main__":
    main()
