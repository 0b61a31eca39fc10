"""How long rebuilding every child's golden rows and search tokens takes, over a built directory.

Times, inside one transaction that is rolled back at the end:

1. ``identity.rebuild_golden_records`` over every child with nothing to change (unseal the children's
   source records into a temporary table, survivorship, seal the golden record, names and addresses, make
   the tokens, compare digests and tokens; writes only the golden record's blob, whose nonce is new);
2. the same with every ``directory_searchtoken`` row deleted first (the tokens all rewritten);
3. ``identity.rebuild_search_index`` (tokens only, from the children's sealed rows: what a master-key
   rotation runs) with the token rows deleted again.

The rolled-back rows stay behind as dead tuples, in the tables and in their indexes (the GIN index
included), until a ``VACUUM``. We saw searches on such a database slow down tens of times (a token query
running 0.5 s; 2,000 searches not done after 2.5 minutes that otherwise take 8 s) until ``VACUUM ANALYZE``
of these tables; we did not find out which table's dead rows did it. So the benchmark vacuums the tables
it touched before it ends.

Run it against a home built by ``search_quality.py``::

    CONTACTPOINT_HOME=var/search-bench-home .venv/bin/python benchmarks/search_index_rebuild.py
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

    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT id FROM directory_child ORDER BY id")
            ids = [row[0] for row in cursor.fetchall()]
            load = os.getloadavg()[0]
            started = time.perf_counter()
            identity.rebuild_golden_records(ids)
            unchanged = time.perf_counter() - started
            cursor.execute("DELETE FROM directory_searchtoken")
            started = time.perf_counter()
            identity.rebuild_golden_records(ids)
            rebuilt = time.perf_counter() - started
            cursor.execute("DELETE FROM directory_searchtoken")
            started = time.perf_counter()
            identity.rebuild_search_index()  # its per-batch transactions are savepoints here: rolled back too
            tokens_only = time.perf_counter() - started
            print(f"{len(ids):,} children (load average {load:.2f} → {os.getloadavg()[0]:.2f}): "
                  f"golden rebuild with nothing to change {unchanged:.1f} s; with the token rows all missing "
                  f"{rebuilt:.1f} s; search index only (rebuild_search_index) {tokens_only:.1f} s")
            raise Rollback
    except Rollback:
        pass
    with connection.cursor() as cursor:
        for table in ("directory_searchtoken", "directory_child", "directory_childname", "directory_childaddress"):
            cursor.execute(f"VACUUM ANALYZE {table}")


if __name__ == "__main__":
    main()
