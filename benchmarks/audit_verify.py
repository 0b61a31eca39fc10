"""Benchmark: verify an audit log of 1M events (target: under a minute on a 2-core machine).

    CONTACTPOINT_HOME=var/bench-home .venv/bin/python benchmarks/audit_verify.py [--events N] [--keep]

Creates a scratch database (``bench_contactpoint_audit`` on the configured server, migrated), inserts
N events set-based (INSERT … SELECT generate_series), seals them, signs a checkpoint, then times
``verify`` in a fresh process so its peak memory is its own. Prints events/s, wall time and peak
memory (ru_maxrss) for each phase. The scratch database is dropped at the end unless --keep.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

BENCH_DATABASE = "bench_contactpoint_audit"


def _setup_django(database: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactpoint.settings")
    os.environ.setdefault("CONTACTPOINT_MODE", "test")
    import django
    from django.conf import settings

    django.setup()
    settings.DATABASES["default"]["NAME"] = database  # before any connection is opened


def _peak_mib(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux: KiB


def _own_peak_mib() -> float:
    """This process's peak RSS (VmHWM). ru_maxrss of a child starts from its parent's peak at fork."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return _peak_mib(resource.RUSAGE_SELF)


INSERT_SQL = """
INSERT INTO audit_auditevent (occurred_at, action, outcome, actor_username, actor_role, actor_organisation,
                              requester, children, client_address, reason, details)
SELECT timestamptz '2026-01-01 00:00:00+00' + g * interval '31 milliseconds',
       (ARRAY['access:child:search', 'access:child:view', 'directory:involvement:change',
              'account:session:sign_in', 'feed:batch:load'])[1 + g %% 5],
       CASE WHEN g %% 50 = 0 THEN 'failure' ELSE 'success' END,
       'user' || (g %% 20000), 'practitioner', 'ORG' || lpad((g %% 900)::text, 4, '0'),
       CASE WHEN g %% 10 = 0 THEN 'PC ' || (g %% 777) ELSE '' END,
       CASE WHEN g %% 3 = 0 THEN ARRAY[upper(substr(md5(g::text), 1, 12))]::varchar[]
            ELSE ARRAY[upper(substr(md5(g::text), 1, 12)), upper(substr(md5((g + 1)::text), 1, 12))]::varchar[] END,
       '10.' || (g %% 250) || '.' || (g %% 199) || '.7',
       CASE WHEN g %% 4 = 0 THEN 'section 47 enquiry' ELSE '' END,
       -- Most details repeat (counts, field names); one event in 100 has details of its own.
       CASE WHEN g %% 100 = 0 THEN jsonb_build_object('batch', 'B-' || g, 'rows', g %% 5000, 'rejected', g %% 7)
            ELSE jsonb_build_object('result_count', g %% 50,
                                    'fields_shown', (ARRAY['["involvements"]', '["involvements", "carers"]',
                                                           '["services"]', '[]']::jsonb[])[1 + g %% 4]) END
FROM generate_series(1, %s) AS g
"""


def build(events: int) -> dict[str, float]:
    from django.db import connection

    from contactpoint.audit.integrity import create_checkpoint, seal_events

    figures: dict[str, float] = {}
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(INSERT_SQL, [events])
        cursor.execute("VACUUM ANALYZE audit_auditevent")
    figures["insert_s"] = time.perf_counter() - started
    started = time.perf_counter()
    sealed = seal_events()
    figures["seal_s"] = time.perf_counter() - started
    assert sealed.sealed == events, sealed
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE audit_auditevent")
    started = time.perf_counter()
    create_checkpoint()
    figures["checkpoint_s"] = time.perf_counter() - started
    figures["build_peak_mib"] = _own_peak_mib()
    return figures


def verify_only() -> None:
    from contactpoint.audit.integrity import verify_log

    started = time.perf_counter()
    result = verify_log(seal_afterwards=False)
    elapsed = time.perf_counter() - started
    print(
        json.dumps(
            {
                "ok": result.ok,
                "events": result.events,
                "seconds": elapsed,
                "peak_mib": _own_peak_mib(),
                "summary": result.summary(),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database afterwards")
    parser.add_argument("--verify-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--database", default=BENCH_DATABASE, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.verify_only:  # also handy by hand on a database kept with --keep
        _setup_django(args.database)
        verify_only()
        return

    _setup_django(args.database)
    from django.db import connection

    # The test-database machinery creates and migrates a scratch database and drops it afterwards.
    connection.settings_dict["TEST"]["NAME"] = args.database
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        figures = build(args.events)
        connection.close()
        started = time.perf_counter()
        completed = subprocess.run(
            [sys.executable, __file__, "--verify-only", "--database", args.database],
            check=True,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - started
        outcome = json.loads(completed.stdout.strip().splitlines()[-1])
        assert outcome["ok"] and outcome["events"] == args.events, outcome
        print(f"events:           {args.events:,}")
        print(f"insert (SQL):     {figures['insert_s']:.1f} s")
        print(f"seal:             {figures['seal_s']:.1f} s ({args.events / figures['seal_s']:,.0f} events/s)")
        print(f"checkpoint:       {figures['checkpoint_s']:.1f} s")
        print(f"build peak RSS:   {figures['build_peak_mib']:.0f} MiB")
        print(
            f"verify:           {outcome['seconds']:.1f} s ({args.events / outcome['seconds']:,.0f} events/s); "
            f"process wall time {wall:.1f} s"
        )
        print(f"verify peak RSS:  {outcome['peak_mib']:.0f} MiB (the verifying process, Django included)")
        print(f"verify says:      {outcome['summary']}")
    finally:
        if not args.keep:
            connection.creation.destroy_test_db(args.database, verbosity=0)


if __name__ == "__main__":
    main()
