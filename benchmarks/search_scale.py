"""Search at ten times the size: the 100k benchmark directory copied into a scratch database and
multiplied in SQL, then the same queries timed and scored.

Building a 1,000,000-child directory through ``load_feed`` (``search_quality.py --million``) takes about
an hour on a small machine; this gives the search's scaling in minutes. Each child gets ``--factor - 1``
namesakes: the same names, a date of birth moved by up to three years either way, and a postcode in the
same district (so that postcodes are not ten times as crowded). That keeps name frequencies realistic
and makes every name ten times as common, which is what drives the size of the candidate lookups.

It is a stress test of the index and the lookups, not of matching: the namesakes are separate children.

Usage (after ``search_quality.py`` has built its directory)::

    CONTACTPOINT_HOME=var/search-bench-home .venv/bin/python benchmarks/search_scale.py --factor 10
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("CONTACTPOINT_MODE", "test")
os.environ.setdefault("CONTACTPOINT_HOME", str(ROOT / "var" / "search-bench-home"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactpoint.settings")

SCRATCH = "cp_search_scale"
ID_STEP = 100_000_000  # copy k of child n gets id n + k * ID_STEP


def multiply(cursor: Any, factor: int) -> None:
    for k in range(1, factor):
        shift = f"((({k} * 7919 + c.id) % 2191) - 1095)::int"  # days, -1095..1095, different per child and copy
        cursor.execute(
            f"""
            INSERT INTO directory_child (id, contactpoint_id, status, local_authority_id, given_names, family_name,
                date_of_birth, sex, address_line_1, address_line_2, town, postcode, nhs_number, upn,
                retention_condition, is_shielded, created_at, updated_at)
            SELECT c.id + {k} * {ID_STEP}, left(c.contactpoint_id, 10) || lpad('{k}', 2, '0'), c.status,
                   c.local_authority_id, c.given_names, c.family_name, c.date_of_birth + {shift}, c.sex,
                   c.address_line_1, c.address_line_2, c.town,
                   CASE WHEN c.postcode LIKE '% ___' THEN split_part(c.postcode, ' ', 1) || ' ' || '{k % 10}'
                        || right(c.postcode, 2) ELSE c.postcode END,
                   '', '', c.retention_condition, c.is_shielded, c.created_at, c.updated_at
            FROM directory_child c WHERE c.id < {ID_STEP}
            """
        )
        cursor.execute(
            f"""
            INSERT INTO directory_searchname (child_id, is_current, family, family_dm, given, given_all, given_dm,
                given_canon, dob, birth_year)
            SELECT s.child_id + {k} * {ID_STEP}, s.is_current, s.family, s.family_dm, s.given, s.given_all,
                   s.given_dm, s.given_canon, c.date_of_birth, extract(year FROM c.date_of_birth)::smallint
            FROM directory_searchname s JOIN directory_child c ON c.id = s.child_id + {k} * {ID_STEP}
            WHERE s.child_id < {ID_STEP}
            """
        )
        cursor.execute(
            f"""
            INSERT INTO directory_childaddress (child_id, is_current, address_line_1, address_line_2, town, postcode)
            SELECT a.child_id + {k} * {ID_STEP}, a.is_current, a.address_line_1, a.address_line_2, a.town,
                   CASE WHEN a.postcode LIKE '% ___' THEN split_part(a.postcode, ' ', 1) || ' ' || '{k % 10}'
                        || right(a.postcode, 2) ELSE a.postcode END
            FROM directory_childaddress a WHERE a.child_id < {ID_STEP}
            ON CONFLICT DO NOTHING
            """
        )
        print(f"  copy {k} of {factor - 1}", flush=True)
    fresh_identifiers(cursor)
    cursor.execute("ANALYZE")


def fresh_identifiers(cursor: Any) -> None:
    """Real (check-character) directory identifiers for the copies, which the audit trail insists on."""
    from contactpoint.core.identifiers import new_contactpoint_id

    cursor.execute(f"SELECT id FROM directory_child WHERE id >= {ID_STEP}")
    ids = [row[0] for row in cursor.fetchall()]
    cursor.execute("CREATE TEMP TABLE fresh_ids (id bigint, contactpoint_id text)")
    with cursor.cursor.copy("COPY fresh_ids (id, contactpoint_id) FROM STDIN") as copy:
        for child_id in ids:
            copy.write_row((child_id, new_contactpoint_id()))
    cursor.execute(
        "UPDATE directory_child c SET contactpoint_id = f.contactpoint_id FROM fresh_ids f WHERE c.id = f.id"
    )
    cursor.execute("DROP TABLE fresh_ids")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--factor", type=int, default=10)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--children", type=int, default=100_000, help="size of the directory to copy")
    parser.add_argument("--sources", default="nhs_demographics,child_benefit")
    parser.add_argument("--reuse", action="store_true", help="use the scaled copy made by an earlier run")
    parser.add_argument("--fix-identifiers", action="store_true", help="with --reuse: give copies real identifiers")
    parser.add_argument("--api-queries", type=int, default=300, help="searches timed through the API")
    parser.add_argument("--skip-baseline", action="store_true", help="time only directory search, not pg_trgm")
    args = parser.parse_args()

    import django

    django.setup()
    import search_quality as bench
    from django.db import connection

    source_db = connection.settings_dict["NAME"]
    if not args.reuse:
        bench.say(f"copying {source_db} to {SCRATCH}")
        with connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {SCRATCH}")
            cursor.execute(f'CREATE DATABASE {SCRATCH} TEMPLATE "{source_db}"')
        connection.close()
        connection.settings_dict["NAME"] = SCRATCH
        started = time.perf_counter()
        with connection.cursor() as cursor:
            multiply(cursor, args.factor)
        bench.say(f"multiplied by {args.factor} in {time.perf_counter() - started:.0f}s")
    elif args.fix_identifiers:
        connection.close()
        connection.settings_dict["NAME"] = SCRATCH
        with connection.cursor() as cursor:
            fresh_identifiers(cursor)
    connection.close()
    connection.settings_dict["NAME"] = SCRATCH
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM directory_child WHERE status = 'active'")
        children = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM directory_searchname")
        rows = cursor.fetchone()[0]
    bench.say(f"{children:,} children, {rows:,} index rows; making {args.queries} queries")
    sources = tuple(code for code in bench.SOURCE_ORDER if code in args.sources.split(","))
    feeds_dir = ROOT / "var" / "search-bench" / f"feeds-{args.children // 1000}k"
    queries = bench.make_queries(feeds_dir, args.queries, args.seed, sources)
    if args.skip_baseline:
        bench.trigram_baseline = lambda criteria, parsed: []
    quality = bench.measure_quality(queries)
    api = bench.measure_api(queries[: args.api_queries], bench.bench_account())
    table = quality["table"]["all"]
    s, t = quality["latency_search"], quality["latency_trigram"]
    text = "\n".join([
        f"Scaled directory: {children:,} children ({rows:,} search index rows), {len(queries)} queries.",
        "",
        "| | recall@1 | recall@10 | p50 ms | p95 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|",
        f"| directory search | {table['search@1']:.3f} | {table['search@10']:.3f} | {s['p50']:.1f} | "
        f"{s['p95']:.1f} | {s['p99']:.1f} |",
        f"| pg_trgm baseline | {table['trigram@1']:.3f} | {table['trigram@10']:.3f} | {t['p50']:.1f} | "
        f"{t['p95']:.1f} | {t['p99']:.1f} |",
        f"| through the API (test client, token, policy, audit) | | | {api['p50']:.1f} | {api['p95']:.1f} | "
        f"{api['p99']:.1f} |",
        "",
        f"Shown to the user: the right child listed for {quality['shown_recall']:.3f} of queries; "
        f"'too many matches' for {quality['too_many_share']:.3f}.",
    ])
    print(text)
    out = ROOT / "var" / "search-bench" / f"result-scaled-x{args.factor}.md"
    out.write_text(text + "\n", encoding="utf-8")
    bench.say(f"written to {out}")


if __name__ == "__main__":
    main()
