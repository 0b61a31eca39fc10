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
from pathlib import Path

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


def _backend_cpu_seconds(pid: int) -> float | None:
    """CPU time of the PostgreSQL backend serving us, when it runs on this machine (else None)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def verify_only(workers: int | None) -> None:
    from django.db import connection

    from contactpoint.audit.integrity import verify_log

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    backend_before = _backend_cpu_seconds(backend)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = usage.ru_utime + usage.ru_stime
    started = time.perf_counter()
    result = verify_log(seal_afterwards=False, workers=workers)
    elapsed = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)  # verifying worker processes, if any
    backend_after = _backend_cpu_seconds(backend)
    print(
        json.dumps(
            {
                "ok": result.ok,
                "events": result.events,
                "seconds": elapsed,
                "cpu_seconds": usage.ru_utime + usage.ru_stime - cpu_before,
                "worker_cpu_seconds": workers.ru_utime + workers.ru_stime,
                "database_cpu_seconds": (
                    backend_after - backend_before if backend_before is not None and backend_after is not None else None
                ),
                "load_average": os.getloadavg(),
                "peak_mib": _own_peak_mib(),
                "summary": result.summary(),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database afterwards")
    parser.add_argument("--runs", type=int, default=3, help="how many times to time verify")
    parser.add_argument("--reuse", action="store_true", help="time verify on a database kept with --keep")
    parser.add_argument(
        "--workers", type=int, default=None, help="verifying processes (default: verify's own choice; 1: serial)"
    )
    parser.add_argument("--verify-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--database", default=BENCH_DATABASE, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.verify_only:  # also handy by hand on a database kept with --keep
        _setup_django(args.database)
        verify_only(args.workers)
        return

    _setup_django(args.database)
    from django.db import connection

    # The test-database machinery creates and migrates a scratch database and drops it afterwards.
    connection.settings_dict["TEST"]["NAME"] = args.database
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=args.reuse, serialize=False)
    try:
        if args.reuse:
            figures = {"insert_s": float("nan"), "seal_s": float("nan"), "checkpoint_s": float("nan")}
            figures["build_peak_mib"] = float("nan")
        else:
            figures = build(args.events)
        connection.close()
        runs = []
        for _ in range(args.runs):
            completed = subprocess.run(
                [sys.executable, __file__, "--verify-only", "--database", args.database]
                + ([] if args.workers is None else ["--workers", str(args.workers)]),
                check=True,
                capture_output=True,
                text=True,
            )
            outcome = json.loads(completed.stdout.strip().splitlines()[-1])
            assert outcome["ok"] and outcome["events"] == args.events, outcome
            runs.append(outcome)
        print(f"events:           {args.events:,}")
        print(f"insert (SQL):     {figures['insert_s']:.1f} s")
        print(f"seal:             {figures['seal_s']:.1f} s ({args.events / figures['seal_s']:,.0f} events/s)")
        print(f"checkpoint:       {figures['checkpoint_s']:.1f} s")
        print(f"build peak RSS:   {figures['build_peak_mib']:.0f} MiB")
        for number, outcome in enumerate(runs, start=1):
            database_cpu = outcome["database_cpu_seconds"]
            print(
                f"verify run {number}:     {outcome['seconds']:.1f} s wall "
                f"({args.events / outcome['seconds']:,.0f} events/s); CPU: verifier {outcome['cpu_seconds']:.1f} s "
                f"+ workers {outcome['worker_cpu_seconds']:.1f} s, verifier's own database connection "
                f"{'n/a' if database_cpu is None else f'{database_cpu:.1f} s'}; "
                f"peak RSS {outcome['peak_mib']:.0f} MiB; "
                f"load average {outcome['load_average'][0]:.1f}"
            )
        print(f"verify says:      {runs[-1]['summary']}")
    finally:
        if not args.keep:
            connection.creation.destroy_test_db(args.database, verbosity=0)


if __name__ == "__main__":
    main()
