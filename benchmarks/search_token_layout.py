"""Two storage layouts for the token search index, measured on a directory built by ``search_quality.py``.

``directory_searchtoken`` keeps one row per child with a ``bigint[]`` of its tokens and a GIN index
(``tokens && ARRAY[...]``). The alternative is one row per (token, child) with a btree on the token
(``token = ANY(ARRAY[...])``). From the real token rows of a directory built by ``search_quality.py``
(the token index is the only one), this builds both as scratch tables and measures:

1. a bulk build (the initial load): create the table and its index;
2. an incremental write (a delta feed): insert the rows of ``--delta`` children into the indexed table;
3. size, table and index;
4. lookup time for ``--lookups`` lookups of 20 tokens each, drawn from real children, as search does
   them (capped at 300 rows).

The scratch tables are dropped at the end. Usage::

    CONTACTPOINT_HOME=var/search-bench-home .venv/bin/python benchmarks/search_token_layout.py
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("CONTACTPOINT_MODE", "test")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactpoint.settings")

LAYOUTS = {
    "array + GIN (one row per child)": (
        "CREATE TABLE bench_layout AS SELECT child_id, tokens FROM directory_searchtoken WHERE child_id % 10 <> 0",
        "CREATE INDEX bench_layout_index ON bench_layout USING gin (tokens)",
        # The insert goes to the GIN index's pending list: merging it into the index is part of its cost.
        "INSERT INTO bench_layout SELECT child_id, tokens FROM directory_searchtoken WHERE child_id % 10 = 0; "
        "SELECT gin_clean_pending_list('bench_layout_index')",
        # As identity._find_candidates_by_tokens does it: one token at a time (see the comment there).
        "WITH found AS MATERIALIZED (SELECT s.child_id FROM unnest(%s::bigint[]) AS q(token), "
        "LATERAL (SELECT child_id FROM bench_layout WHERE tokens && ARRAY[q.token]) s) "
        "SELECT DISTINCT child_id FROM (SELECT child_id FROM found LIMIT 300) capped",
    ),
    "btree (one row per token and child)": (
        "CREATE TABLE bench_layout AS SELECT unnest(tokens) AS token, child_id FROM directory_searchtoken "
        "WHERE child_id % 10 <> 0",
        "CREATE INDEX bench_layout_index ON bench_layout (token, child_id)",
        "INSERT INTO bench_layout SELECT unnest(tokens), child_id FROM directory_searchtoken WHERE child_id % 10 = 0",
        "SELECT DISTINCT child_id FROM (SELECT child_id FROM bench_layout WHERE token = ANY(%s::bigint[]) LIMIT 300) "
        "capped",
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lookups", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection, transaction

    rng = random.Random(args.seed)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), sum(cardinality(tokens)) FROM directory_searchtoken")
        children, tokens = cursor.fetchone()
        cursor.execute("SELECT tokens FROM directory_searchtoken TABLESAMPLE SYSTEM (5) LIMIT %s", [args.lookups])
        samples = [rng.sample(row[0], min(20, len(row[0]))) for row in cursor.fetchall()]
    print(f"{children:,} children, {tokens:,} tokens; {len(samples)} lookups of up to 20 tokens; "
          f"load average {os.getloadavg()[0]:.2f}")
    print("| layout | build 90% (s) | insert 10% (s) | table MB | index MB | lookup p50 ms | p95 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, (create, index, insert, lookup) in LAYOUTS.items():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_layout")
            started = time.perf_counter()
            cursor.execute(create)
            cursor.execute(index)
            built = time.perf_counter() - started
            started = time.perf_counter()
            cursor.execute(insert)
            inserted = time.perf_counter() - started
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE bench_layout")
            cursor.execute("SELECT pg_relation_size('bench_layout'), pg_relation_size('bench_layout_index')")
            table_bytes, index_bytes = cursor.fetchone()
            timings = []
            for sample in samples:
                started = time.perf_counter()
                cursor.execute(lookup, [sample])
                cursor.fetchall()
                timings.append((time.perf_counter() - started) * 1000)
            cursor.execute("DROP TABLE bench_layout")
        timings.sort()
        p50, p95, p99 = (timings[min(len(timings) - 1, int(q * len(timings)))] for q in (0.5, 0.95, 0.99))
        print(f"| {name} | {built:.1f} | {inserted:.1f} | {table_bytes / 1e6:.0f} | {index_bytes / 1e6:.0f} | "
              f"{p50:.2f} | {p95:.2f} | {p99:.2f} |")


if __name__ == "__main__":
    main()
