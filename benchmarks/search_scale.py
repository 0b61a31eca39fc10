"""Search at ten times the size: the 100k benchmark directory copied into a scratch database (and its key
store into a scratch key store), multiplied, then the same queries timed and scored.

Building a 1,000,000-child directory through ``load_feed`` (``search_quality.py --million``) takes about
an hour on a small machine; this gives the search's scaling in less. Each child gets ``--factor - 1``
namesakes: the same names, a date of birth moved by up to three years either way, and a postcode in the
same district (so that postcodes are not ten times as crowded). That keeps name frequencies realistic
and makes every name ten times as common, which is what drives the size of the candidate lookups.

Names are sealed, so the copies cannot be made in SQL: each of the original child's current source
records is unsealed (``identity.read_source_identities``), changed as above, and stored as a new record
sealed under a key of its own (``datakeys.create_record_keys``, ``identity.seal_record``), linked to a new
child; ``identity.rebuild_golden_records`` then makes the namesakes' keys, sealed golden rows and search
tokens exactly as a feed load does. No NHS numbers or UPNs are copied (they would not be unique).

It is a stress test of the index and the lookups, not of matching: the namesakes are separate children.

Usage (after ``search_quality.py`` has built its directory)::

    CONTACTPOINT_HOME=var/search-bench-home .venv/bin/python benchmarks/search_scale.py --factor 10
"""

from __future__ import annotations

import argparse
import datetime
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
ID_STEP = 100_000_000  # copy k of child (or record) n gets id n + k * ID_STEP
CHUNK = 50_000  # records sealed, and golden records rebuilt, per step


def _shift(k: int, child_id: int) -> int:
    """Days, -1095..1095, different per child and copy."""
    return ((k * 7919 + child_id) % 2191) - 1095


def _moved_postcode(postcode: str, k: int) -> str:
    outward, _, inward = postcode.partition(" ")
    return f"{outward} {k % 10}{inward[1:]}" if len(inward) == 3 else postcode


def multiply(factor: int) -> None:
    from django.db import connection, transaction
    from django.utils import timezone

    from contactpoint.core.sealing import content_hash_key
    from contactpoint.directory import identity
    from contactpoint.feeds.format import FEED_FIELDS, content_hash
    from contactpoint.keystore import datakeys

    hash_key = content_hash_key()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM feeds_sourcerecord WHERE id < {ID_STEP} AND retired_at IS NULL "
                       "AND child_id IS NOT NULL ORDER BY id")
        record_ids = [row[0] for row in cursor.fetchall()]
        cursor.execute(f"SELECT id, source_record_id, source_id, local_authority, retention_condition, first_batch_id "
                       f"FROM feeds_sourcerecord WHERE id < {ID_STEP}")
        clear = {row[0]: row[1:] for row in cursor.fetchall()}
    for k in range(1, factor):
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO directory_child (id, contactpoint_id, status, local_authority_id, date_of_birth, sex,
                    retention_condition, is_shielded, created_at, updated_at)
                SELECT c.id + {k} * {ID_STEP}, left(c.contactpoint_id, 10) || lpad('{k}', 2, '0'), c.status,
                       c.local_authority_id, c.date_of_birth + ((({k} * 7919 + c.id) % 2191) - 1095)::int, c.sex,
                       c.retention_condition, c.is_shielded, c.created_at, c.updated_at
                FROM directory_child c WHERE c.id < {ID_STEP}
                """
            )
        now = timezone.now()
        for start in range(0, len(record_ids), CHUNK):
            originals = identity.read_source_identities(record_ids=record_ids[start:start + CHUNK])
            new_ids = [row["record_key"] + k * ID_STEP for row in originals]
            keys = datakeys.create_record_keys(record_ids=new_ids)
            rows = []
            for row, record_id in zip(originals, new_ids, strict=True):
                srid, source_id, local_authority, condition, batch_id = clear[row["record_key"]]
                date_of_birth = (row["date_of_birth"] + datetime.timedelta(days=_shift(k, row["child_id"]))
                                 if row["date_of_birth"] else None)
                fields = {name: row[name] for name in ("given_names", "family_name", "former_family_names",
                                                       "address_line_1", "address_line_2", "town")}
                fields |= {"postcode": _moved_postcode(row["postcode"], k), "nhs_number": "", "upn": "",
                           "carer": {}, "involvement": {}}
                values = dict.fromkeys(FEED_FIELDS, "") | {n: v for n, v in fields.items() if isinstance(v, str)}
                values |= {"source_record_id": f"{srid}-x{k}", "sex": row["sex"],
                           "date_of_birth": date_of_birth.isoformat() if date_of_birth else ""}
                rows.append((record_id, source_id, f"{srid}-x{k}", identity.seal_record(keys[record_id], record_id,
                                                                                       fields),
                             date_of_birth, row["sex"], local_authority, condition, content_hash(values, hash_key),
                             batch_id, batch_id, now, row["child_id"] + k * ID_STEP, "new", "", False))
            with connection.cursor() as cursor, cursor.cursor.copy(
                "COPY feeds_sourcerecord (id, source_id, source_record_id, sealed, date_of_birth, sex, "
                "local_authority, retention_condition, content_hash, first_batch_id, last_batch_id, updated_at, "
                "child_id, link_method, link_model_version, link_pinned) FROM STDIN"
            ) as copy:
                for record in rows:
                    copy.write_row(record)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT id FROM directory_child WHERE id BETWEEN {k * ID_STEP} AND {(k + 1) * ID_STEP - 1} "
                           "ORDER BY id")
            child_ids = [row[0] for row in cursor.fetchall()]
            cursor.execute("ANALYZE feeds_sourcerecord")
        for start in range(0, len(child_ids), CHUNK):
            with transaction.atomic():
                identity.rebuild_golden_records(child_ids[start:start + CHUNK])
        print(f"  copy {k} of {factor - 1} in {time.perf_counter() - started:.0f}s", flush=True)
    with connection.cursor() as cursor:
        fresh_identifiers(cursor)
        cursor.execute("VACUUM ANALYZE directory_searchtoken")
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


def _use_scratch(connections: Any, names: dict[str, str]) -> None:
    for alias, name in names.items():
        connections[alias].close()
        connections[alias].settings_dict["NAME"] = name


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
    parser.add_argument("--feeds", type=Path, default=None, help="where search_quality.py's feeds are")
    args = parser.parse_args()

    import django

    django.setup()
    import search_quality as bench
    from django.db import connection, connections

    # The key store is copied with the directory: the copies' sealed rows open only with its keys.
    source_names = {alias: connections[alias].settings_dict["NAME"] for alias in ("default", "keys")}
    scratch_names = {"default": SCRATCH, "keys": f"{SCRATCH}_keys"}
    if not args.reuse:
        bench.say(f"copying {source_names['default']} to {SCRATCH} and {source_names['keys']} to {SCRATCH}_keys")
        # A database can't be a template while anyone is connected to it: this process works from the
        # server's "postgres" database meanwhile (and the copy fails if another process is connected).
        _use_scratch(connections, {"default": "postgres", "keys": "postgres"})
        with connection.cursor() as cursor:
            for alias in ("default", "keys"):
                cursor.execute(f"DROP DATABASE IF EXISTS {scratch_names[alias]}")
                cursor.execute(f'CREATE DATABASE {scratch_names[alias]} TEMPLATE "{source_names[alias]}"')
        _use_scratch(connections, scratch_names)
        started = time.perf_counter()
        multiply(args.factor)
        bench.say(f"multiplied by {args.factor} in {time.perf_counter() - started:.0f}s")
    elif args.fix_identifiers:
        _use_scratch(connections, scratch_names)
        with connection.cursor() as cursor:
            fresh_identifiers(cursor)
    _use_scratch(connections, scratch_names)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM directory_child WHERE status = 'active'")
        children = cursor.fetchone()[0]
        cursor.execute("SELECT count(*), sum(cardinality(tokens)) FROM directory_searchtoken")
        rows, tokens = cursor.fetchone()
    bench.say(f"{children:,} children, {rows:,} token rows ({tokens:,} tokens); making {args.queries} queries")
    sources = tuple(code for code in bench.SOURCE_ORDER if code in args.sources.split(","))
    feeds_dir = args.feeds or ROOT / "var" / "search-bench" / f"feeds-{args.children // 1000}k"
    queries = bench.make_queries(feeds_dir, args.queries, args.seed, sources)
    quality = bench.measure_quality(queries)
    api = bench.measure_api(queries[: args.api_queries], bench.bench_account())
    table = quality["table"]["all"]
    s = quality["latency_search"]
    text = "\n".join([
        f"Scaled directory: {children:,} children ({rows:,} token rows, {tokens:,} tokens), {len(queries)} queries.",
        "",
        "| | recall@1 | recall@10 | p50 ms | p95 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|",
        f"| directory search | {table['search@1']:.3f} | {table['search@10']:.3f} | {s['p50']:.1f} | "
        f"{s['p95']:.1f} | {s['p99']:.1f} |",
        f"| through the API (test client, token, policy, audit) | | | {api['p50']:.1f} | {api['p95']:.1f} | "
        f"{api['p99']:.1f} |",
        "",
        f"Shown to the user: the right child listed for {quality['shown_recall']:.3f} of queries; "
        f"'too many matches' for {quality['too_many_share']:.3f}.",
    ])
    print(text)
    out = ROOT / "var" / "search-bench" / f"result-scaled-x{args.factor}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n", encoding="utf-8")
    bench.say(f"written to {out}")


if __name__ == "__main__":
    main()
