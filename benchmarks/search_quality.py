"""Search quality and speed on a directory built from synthetic feeds, next to a plain pg_trgm query.

1. **Build** (once per home; skipped when already loaded): ``contactpoint.synth.generate`` writes the four
   source feeds of N children; each is loaded with ``ingest.pipeline.load_feed`` exactly as production
   does (validation, matching, golden records and the search index).
2. **Queries**: for a sample of people in ``truth.csv``, the query a practitioner might type, taken from
   the person's most trusted record and then given realistic errors (one or two typos, a nickname, a
   phonetic spelling, given/family swapped, a former surname, day/month transposed, a moved-from
   postcode, a year of birth only), in fixed proportions with a fixed seed.
3. **Quality**: recall@1 and recall@10 — a hit when a child linked to one of the person's records is
   first / in the first ten — for directory search (``directory.search``, no cap or window, so that
   recall@10 is measurable) and for a plain pg_trgm similarity query on the same names and dates.
4. **Speed**: latency p50/p95/p99 of the search alone (``search.find_matches``), of the full access-
   checked, audited path through the API (Django test client, bearer token), and throughput with 8
   concurrent clients against a live gunicorn server.

Usage::

    CONTACTPOINT_HOME=var/search-bench-home .venv/bin/python benchmarks/search_quality.py            # 100k
    CONTACTPOINT_HOME=var/search-bench-home-1m .venv/bin/python benchmarks/search_quality.py --million
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import random
import statistics
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("CONTACTPOINT_MODE", "test")
os.environ.setdefault("CONTACTPOINT_HOME", str(ROOT / "var" / "search-bench-home"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactpoint.settings")

SOURCE_ORDER = ("nhs_demographics", "child_benefit", "school_census", "social_care")
TRUST = {"nhs_demographics": 9, "child_benefit": 8, "school_census": 7, "social_care": 6}


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# Build ------------------------------------------------------------------------------------------------


def build(children: int, seed: int, feeds_dir: Path) -> None:
    """Generate (if needed) and load the feeds; skipped for sources already loaded from the same file."""
    from django.core.management import call_command

    from contactpoint.feeds.format import file_sha256
    from contactpoint.feeds.models import FeedBatch, SourceSystem
    from contactpoint.feeds.services import add_source
    from contactpoint.ingest.pipeline import load_feed
    from contactpoint.orgs.models import LocalAuthority
    from contactpoint.synth.generator import generate

    call_command("migrate", verbosity=0)
    if not (feeds_dir / "truth.csv").exists():
        say(f"generating {children:,} children into {feeds_dir}")
        generate(children, seed, feeds_dir)
    manifest = json.loads((feeds_dir / "sources.json").read_text())
    LocalAuthority.objects.get_or_create(
        code=manifest["local_authority"],
        defaults={"name": "Benchmark area", "directory_team_phone": "0121 000 0000",
                  "directory_team_email": "directory-team@example.org"},
    )
    for code in SOURCE_ORDER:
        path = feeds_dir / f"{code}.csv"
        if not SourceSystem.objects.filter(code=code).exists():
            add_source(code=code, name=code.replace("_", " "), trust=TRUST[code])
        if FeedBatch.objects.filter(source__code=code, file_sha256=file_sha256(path), status="loaded").exists():
            say(f"{code}: already loaded")
            continue
        started = time.perf_counter()
        summary = load_feed(source_code=code, path=path, mode="full", progress=lambda m: say(f"  {m}"))
        say(f"{code}: {summary.accepted:,} records, {summary.new_children:,} new children "
            f"in {time.perf_counter() - started:.0f}s")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE directory_searchname")
        cursor.execute("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--million", action="store_true", help="1,000,000 children (slow to build)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--feeds", type=Path, default=None, help="where the synthetic feeds are (or go)")
    parser.add_argument("--build-only", action="store_true")
    args = parser.parse_args()
    children = 1_000_000 if args.million else args.children
    feeds_dir = args.feeds or ROOT / "var" / "search-bench" / f"feeds-{children // 1000}k"

    import django

    django.setup()
    build(children, args.seed, feeds_dir)
    if args.build_only:
        return


if __name__ == "__main__":
    main()
