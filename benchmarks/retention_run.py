"""Benchmark: a retention run over N children (set-based), and erasure time per child, on sealed rows.

    CONTACTPOINT_HOME=var/bench-home .venv/bin/python benchmarks/retention_run.py [--children N] [--reuse]
        [--compact]

Creates a scratch database (``bench_contactpoint_retention``, migrated) and a scratch key store
(``bench_contactpoint_retention_keys``) and seeds N children **the way the service stores them**, sealed:

* the children's clear columns (status, date of birth spread over 0–24 years: about a quarter adults)
  set-based in SQL;
* one source record per child, its identifying fields (names, an address, a carer) sealed under a data
  key of its own (``datakeys.create_record_keys``, ``identity.seal_record``; the keyed content hash of
  ``feeds.format.content_hash``), a tenth asserting ``sen``; the record's carer row sealed under the
  same key (``identity.seal_carer``); a link event per record;
* a data key per child (``datakeys.create_data_keys``), then the golden record, names, addresses and
  search tokens made by ``identity.rebuild_golden_records`` itself (unseal the records, survivorship,
  seal under the child's key), in transactions of 50,000 children;
* the records' blocking keys (``matching.blocking.rebuild_all_keys``).

This is what ``load_feed`` writes for new records, without validation and matching (the records are
known to be distinct children), so that a million children seed in minutes rather than an hour. Then
times:

0. the key store: fetching and unwrapping every child's and every record's key;
1. ``run_retention`` archiving the adults (one transaction);
2. a second run the same day (idempotent: nothing to do);
3. ``run_retention`` six years on, erasing every archived child (set-based erasure: the rows, then the
   children's and their records' keys in the key store), per child;
4. ``erase_child`` one child at a time (the latency of a single erasure), over 50 children;
5. with ``--compact``: ``compact_erased_tables`` (VACUUM FULL of every table erasure deletes from, and
   of the key store's tables).
"""

from __future__ import annotations

import argparse
import datetime
import os
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

BENCH_DATABASE = "bench_contactpoint_retention"
TODAY = datetime.date(2026, 11, 25)
CHUNK = 50_000  # children sealed, and golden records rebuilt, per step

CHILDREN_SQL = """
INSERT INTO directory_child (contactpoint_id, status, date_of_birth, sex, retention_condition, is_shielded,
                             created_at, updated_at)
SELECT ids.id, 'active', date %(today)s - (g %% 8900) * interval '1 day', 'U', '', false, now(), now()
FROM unnest(%(ids)s::text[]) WITH ORDINALITY AS ids(id, g)
"""

LINKS_SQL = """
INSERT INTO matching_linkevent (source_record_id, to_child_id, method, model_version, explanation, was_pinned,
                                created_at)
SELECT id, child_id, 'new', '', '[]', false, now() FROM feeds_sourcerecord
"""


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def seed_records(children: list[tuple[int, datetime.date]], *, source_id: int, batch_id: int) -> dict[str, float]:
    """One sealed source record (with a sealed carer) per child, as ``load_feed`` stores a new record."""
    from django.db import connection
    from django.utils import timezone

    from contactpoint.core.sealing import content_hash_key
    from contactpoint.directory import identity
    from contactpoint.feeds.format import FEED_FIELDS, content_hash
    from contactpoint.keystore import datakeys

    hash_key = content_hash_key()
    now = timezone.now()
    took = {"record keys": 0.0, "sealing": 0.0, "writing": 0.0}
    for start in range(0, len(children), CHUNK):
        chunk = children[start:start + CHUNK]
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval(pg_get_serial_sequence('feeds_sourcerecord', 'id')) "
                           "FROM generate_series(1, %s)", [len(chunk)])
            record_ids = [row[0] for row in cursor.fetchall()]
        started = time.perf_counter()
        keys = datakeys.create_record_keys(record_ids=record_ids)
        took["record keys"] += time.perf_counter() - started
        started = time.perf_counter()
        records, carers = [], []
        for (child_id, date_of_birth), record_id in zip(chunk, record_ids, strict=True):
            carer = {"given_names": "Carer", "family_name": f"Family{child_id}", "relationship": "mother",
                     "phone": f"0121 {child_id:07d}", "email": f"carer{child_id}@example.org"}
            fields = {"given_names": f"Given{child_id}", "family_name": f"Family{child_id}",
                      "former_family_names": "", "address_line_1": f"{child_id} Bench Road", "address_line_2": "",
                      "town": "Town", "postcode": "B1 1AA", "nhs_number": "", "upn": "", "carer": carer,
                      "involvement": {}}
            condition = "sen" if child_id % 10 == 0 else ""
            values = dict.fromkeys(FEED_FIELDS, "") | {
                name: value for name, value in fields.items() if isinstance(value, str)
            } | {"source_record_id": f"R{child_id}", "date_of_birth": date_of_birth.isoformat(), "sex": "U",
                 "retention_condition": condition, "carer_given_names": carer["given_names"],
                 "carer_family_name": carer["family_name"], "carer_relationship": carer["relationship"],
                 "carer_phone": carer["phone"], "carer_email": carer["email"]}
            key = keys[record_id]
            records.append((record_id, source_id, f"R{child_id}", identity.seal_record(key, record_id, fields),
                            date_of_birth, "U", "", condition, content_hash(values, hash_key), batch_id, batch_id,
                            now, child_id, "new", "", False))
            carers.append((child_id, record_id, carer["relationship"], identity.seal_carer(key, record_id, carer)))
        took["sealing"] += time.perf_counter() - started
        started = time.perf_counter()
        with connection.cursor() as cursor:
            with cursor.cursor.copy(
                "COPY feeds_sourcerecord (id, source_id, source_record_id, sealed, date_of_birth, sex, "
                "local_authority, retention_condition, content_hash, first_batch_id, last_batch_id, updated_at, "
                "child_id, link_method, link_model_version, link_pinned) FROM STDIN"
            ) as copy:
                for row in records:
                    copy.write_row(row)
            with cursor.cursor.copy("COPY directory_carer (child_id, source_record_id, relationship, sealed) "
                                    "FROM STDIN") as copy:
                for row in carers:
                    copy.write_row(row)
        took["writing"] += time.perf_counter() - started
    return took


def seed(children: int, *, source_id: int, batch_id: int) -> dict[str, float]:
    from django.db import connection, transaction

    from contactpoint.core.identifiers import new_contactpoint_id
    from contactpoint.directory import identity
    from contactpoint.keystore import datakeys
    from contactpoint.matching.blocking import rebuild_all_keys

    took: dict[str, float] = {}
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(CHILDREN_SQL, {"ids": [new_contactpoint_id() for _ in range(children)], "today": TODAY})
        cursor.execute("SELECT id, date_of_birth FROM directory_child ORDER BY id")
        rows: list[tuple[int, Any]] = cursor.fetchall()
    took["children"] = time.perf_counter() - started
    took |= seed_records(rows, source_id=source_id, batch_id=batch_id)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(LINKS_SQL)
        cursor.execute("ANALYZE")
    took["link events"] = time.perf_counter() - started
    child_ids = [row[0] for row in rows]
    started = time.perf_counter()
    datakeys.create_data_keys(child_ids=child_ids)
    took["child keys"] = time.perf_counter() - started
    started = time.perf_counter()
    for start in range(0, len(child_ids), CHUNK):
        with transaction.atomic():
            identity.rebuild_golden_records(child_ids[start:start + CHUNK])
    took["golden records"] = time.perf_counter() - started
    started = time.perf_counter()
    with transaction.atomic():
        rebuild_all_keys()
    took["blocking keys"] = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return took


def table_counts() -> dict[str, int]:
    from django.db import connection

    from contactpoint.keystore import datakeys

    counts = {}
    with connection.cursor() as cursor:
        for table in ("directory_child", "directory_childname", "directory_childaddress", "directory_carer",
                      "directory_searchtoken", "feeds_sourcerecord", "matching_linkevent", "matching_blockingkeys"):
            cursor.execute(f"SELECT count(*) FROM {table}")
            counts[table] = cursor.fetchone()[0]
    counts["keystore child keys"] = datakeys.count_data_keys()
    counts["keystore record keys"] = datakeys.count_record_keys()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--reuse", action="store_true", help="keep and reuse the scratch database")
    parser.add_argument("--compact", action="store_true", help="time compact_erased_tables after the erasures")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactpoint.settings")
    os.environ.setdefault("CONTACTPOINT_MODE", "test")
    import django

    django.setup()
    from django.db import connection, connections

    from contactpoint.feeds.models import FeedBatch, SourceSystem
    from contactpoint.keystore import datakeys
    from contactpoint.retention.rules import years_before
    from contactpoint.retention.services import compact_erased_tables, erase_child, run_retention

    say(f"load average {os.getloadavg()[0]:.2f}")
    connection.settings_dict["TEST"]["NAME"] = BENCH_DATABASE
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=args.reuse, serialize=False)
    key_store = connections["keys"]
    key_store.settings_dict["TEST"]["NAME"] = f"{BENCH_DATABASE}_keys"
    key_store.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=args.reuse, serialize=False)
    try:
        if not SourceSystem.objects.filter(code="bench").exists():
            source = SourceSystem.objects.create(code="bench", name="bench")
            batch = FeedBatch.objects.create(source=source, file_name="bench", file_sha256="0" * 64, mode="delta")
            started = time.perf_counter()
            took = seed(args.children, source_id=source.pk, batch_id=batch.pk)
            say(f"seeded {args.children:,} children, sealed, in {time.perf_counter() - started:.1f} s ("
                + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in took.items()) + ")")
        counts = table_counts()
        say("rows: " + ", ".join(f"{table} {count:,}" for table, count in counts.items()))

        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM directory_child")
            child_ids = [row[0] for row in cursor.fetchall()]
            cursor.execute("SELECT id FROM feeds_sourcerecord")
            record_ids = [row[0] for row in cursor.fetchall()]
        started = time.perf_counter()
        fetched = datakeys.fetch_data_keys(child_ids=child_ids)
        fetch_children = time.perf_counter() - started
        started = time.perf_counter()
        fetched_records = datakeys.fetch_record_keys(record_ids=record_ids)
        fetch_records = time.perf_counter() - started
        say(f"key store: fetched and unwrapped {len(fetched):,} child keys in {fetch_children:.2f} s, "
            f"{len(fetched_records):,} record keys in {fetch_records:.2f} s")

        load = os.getloadavg()[0]
        started = time.perf_counter()
        report = run_retention(today=TODAY, system_actor="bench")
        archive_s = time.perf_counter() - started
        say(f"run 1 (archive): archived {report.archived:,} (kept on a condition {report.kept_extended:,}) "
            f"in {archive_s:.2f} s (load average {load:.2f})")

        started = time.perf_counter()
        again = run_retention(today=TODAY, system_actor="bench")
        say(f"run 2 (same day): archived {again.archived}, erased {again.erasure.children} "
            f"in {time.perf_counter() - started:.2f} s")

        load = os.getloadavg()[0]
        started = time.perf_counter()
        later = run_retention(today=years_before(TODAY, -6), system_actor="bench")
        erase_s = time.perf_counter() - started
        erased = later.erasure.children
        say(f"run 3 (six years on): erased {erased:,} children, {sum(later.erasure.rows.values()):,} rows, "
            f"archived {later.archived:,} more, in {erase_s:.2f} s "
            f"({1000 * erase_s / max(erased, 1):.3f} ms per erased child, archiving included; "
            f"load average {load:.2f} → {os.getloadavg()[0]:.2f})")
        say("run 3 rows: " + ", ".join(f"{table} {count:,}" for table, count in sorted(later.erasure.rows.items())))
        after = table_counts()
        say("keys left: " + f"{after['keystore child keys']:,} children's (of {after['directory_child']:,} children), "
            f"{after['keystore record keys']:,} records' (of {after['feeds_sourcerecord']:,} records)")

        with connection.cursor() as cursor:
            cursor.execute("SELECT contactpoint_id FROM directory_child ORDER BY id LIMIT 50")
            ids = [row[0] for row in cursor.fetchall()]
        load = os.getloadavg()[0]
        times = []
        for identifier in ids:
            started = time.perf_counter()
            erase_child(contactpoint_id=identifier, reason="benchmark", system_actor="bench")
            times.append(time.perf_counter() - started)
        say(f"erase_child one at a time ({len(times)}): median {1000 * statistics.median(times):.1f} ms, "
            f"max {1000 * max(times):.1f} ms (load average {load:.2f})")

        if args.compact:
            load = os.getloadavg()[0]
            started = time.perf_counter()
            compaction = compact_erased_tables()
            say(f"compact_erased_tables: {compaction.tables} tables and the key store in "
                f"{time.perf_counter() - started:.1f} s (statistics compacted {compaction.statistics_compacted}, "
                f"checkpointed {compaction.checkpointed}; load average {load:.2f})")
        say(f"peak RSS of this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    finally:
        if not args.reuse:
            connection.creation.destroy_test_db(BENCH_DATABASE, verbosity=0)
            key_store.creation.destroy_test_db(f"{BENCH_DATABASE}_keys", verbosity=0)


if __name__ == "__main__":
    main()
