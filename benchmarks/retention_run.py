"""Benchmark: a retention run over N children (set-based), and erasure time per child.

    CONTACTPOINT_HOME=var/bench-home .venv/bin/python benchmarks/retention_run.py [--children N] [--reuse]

Creates a scratch database (``bench_contactpoint_retention``, migrated) and a scratch key store
(``bench_contactpoint_retention_keys``) and inserts N children set-based, each with a current name, an
address, a source record and a link event, dates of birth spread over 0–24 years (about a quarter adults,
a tenth with a source asserting ``sen``). Then times:

0. ``create_data_keys``: a wrapped data key per child in the key store (local master key; one COPY);
1. ``run_retention`` archiving the adults (one transaction);
2. a second run the same day (idempotent: nothing to do);
3. ``run_retention`` six years on, erasing every archived child (set-based erasure), per child;
4. ``erase_child`` one child at a time (the latency of a single erasure), over 50 children.
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import time
from pathlib import Path

BENCH_DATABASE = "bench_contactpoint_retention"
TODAY = datetime.date(2026, 11, 25)

SEED_SQL = """
INSERT INTO directory_child (contactpoint_id, status, given_names, family_name, date_of_birth, sex, address_line_1,
                             address_line_2, town, postcode, nhs_number, upn, retention_condition, is_shielded,
                             created_at, updated_at)
SELECT ids.id, 'active', 'Given' || g, 'Family' || g,
       date %(today)s - (g %% 8900) * interval '1 day', 'U', g || ' Bench Road', '', 'Town', 'B1 1AA', '', '', '',
       false, now(), now()
FROM unnest(%(ids)s::text[]) WITH ORDINALITY AS ids(id, g);
INSERT INTO directory_childname (child_id, kind, given_names, family_name)
SELECT id, 'current', given_names, family_name FROM directory_child;
INSERT INTO directory_childaddress (child_id, is_current, address_line_1, address_line_2, town, postcode)
SELECT id, true, address_line_1, '', town, postcode FROM directory_child;
INSERT INTO feeds_sourcerecord (source_id, source_record_id, given_names, family_name, former_family_names,
    date_of_birth, sex, address_line_1, address_line_2, town, postcode, nhs_number, upn, local_authority,
    retention_condition, carer_details, involvement_details, content_hash, first_batch_id, last_batch_id,
    updated_at, child_id, link_method, link_model_version, link_pinned)
SELECT %(source)s, 'R' || c.id, c.given_names, c.family_name, '', c.date_of_birth, 'U', c.address_line_1, '', c.town,
       c.postcode, '', '', '', CASE WHEN c.id %% 10 = 0 THEN 'sen' ELSE '' END, '{}', '{}', md5(c.id::text),
       %(batch)s, %(batch)s, now(), c.id, 'new', '', false
FROM directory_child c;
INSERT INTO matching_linkevent (source_record_id, to_child_id, method, model_version, explanation, was_pinned,
                                created_at)
SELECT id, child_id, 'new', '', '[]', false, now() FROM feeds_sourcerecord;
ANALYZE;
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--reuse", action="store_true", help="keep and reuse the scratch database")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactpoint.settings")
    os.environ.setdefault("CONTACTPOINT_MODE", "test")
    import django

    django.setup()
    from django.db import connection, connections

    from contactpoint.core.identifiers import new_contactpoint_id
    from contactpoint.core.keys import LocalKeyWrapper
    from contactpoint.feeds.models import FeedBatch, SourceSystem
    from contactpoint.keystore import datakeys
    from contactpoint.retention.rules import years_before
    from contactpoint.retention.services import erase_child, run_retention

    connection.settings_dict["TEST"]["NAME"] = BENCH_DATABASE
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=args.reuse, serialize=False)
    key_store = connections["keys"]
    key_store.settings_dict["TEST"]["NAME"] = f"{BENCH_DATABASE}_keys"
    key_store.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=args.reuse, serialize=False)
    try:
        source = SourceSystem.objects.create(code="bench", name="bench")
        batch = FeedBatch.objects.create(source=source, file_name="bench", file_sha256="0" * 64, mode="delta")
        started = time.perf_counter()
        with connection.cursor() as cursor:
            ids = [new_contactpoint_id() for _ in range(args.children)]
            cursor.execute(SEED_SQL, {"ids": ids, "today": TODAY, "source": source.pk, "batch": batch.pk})
        print(f"seeded {args.children:,} children in {time.perf_counter() - started:.1f} s")

        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM directory_child")
            child_ids = [row[0] for row in cursor.fetchall()]
        wrapper = LocalKeyWrapper(os.urandom(32))
        started = time.perf_counter()
        datakeys.create_data_keys(child_ids=child_ids, wrapper=wrapper)
        create_s = time.perf_counter() - started
        started = time.perf_counter()
        fetched = datakeys.fetch_data_keys(child_ids=child_ids, wrapper=wrapper)
        fetch_s = time.perf_counter() - started
        print(f"key store: created {len(child_ids):,} data keys in {create_s:.2f} s, "
              f"fetched and unwrapped {len(fetched):,} in {fetch_s:.2f} s")

        started = time.perf_counter()
        report = run_retention(today=TODAY, system_actor="bench")
        archive_s = time.perf_counter() - started
        print(f"run 1 (archive): archived {report.archived:,} (kept on a condition {report.kept_extended:,}) "
              f"in {archive_s:.2f} s")

        started = time.perf_counter()
        again = run_retention(today=TODAY, system_actor="bench")
        print(f"run 2 (same day): archived {again.archived}, erased {again.erasure.children} "
              f"in {time.perf_counter() - started:.2f} s")

        started = time.perf_counter()
        later = run_retention(today=years_before(TODAY, -6), system_actor="bench")
        erase_s = time.perf_counter() - started
        erased = later.erasure.children
        print(f"run 3 (six years on): erased {erased:,} children, {sum(later.erasure.rows.values()):,} rows, "
              f"archived {later.archived:,} more, in {erase_s:.2f} s "
              f"({1000 * erase_s / max(erased, 1):.3f} ms per erased child, archiving included)")

        with connection.cursor() as cursor:
            cursor.execute("SELECT contactpoint_id FROM directory_child ORDER BY id LIMIT 50")
            ids = [row[0] for row in cursor.fetchall()]
        times = []
        for identifier in ids:
            started = time.perf_counter()
            erase_child(contactpoint_id=identifier, reason="benchmark", system_actor="bench")
            times.append(time.perf_counter() - started)
        print(f"erase_child one at a time ({len(times)}): median {1000 * statistics.median(times):.1f} ms, "
              f"max {1000 * max(times):.1f} ms")
    finally:
        if not args.reuse:
            connection.creation.destroy_test_db(BENCH_DATABASE, verbosity=0)
            key_store.creation.destroy_test_db(f"{BENCH_DATABASE}_keys", verbosity=0)


if __name__ == "__main__":
    main()
