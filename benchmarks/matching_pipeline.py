"""The directory's whole feed path (validate → store → match → golden records) against plain Splink.

Generates a synthetic population, then:

1. **Initial load**: loads every source's feed through ``contactpoint.ingest.load_feed`` into an empty
   directory (PostgreSQL), holding back ``--delta`` records of the school census; wall time and peak
   memory (this process, which includes DuckDB, plus the PostgreSQL server's share is not counted).
2. **Delta**: loads the held-back records as a delta feed into that directory; wall time.
3. **Quality**: exports the links (``links export``) and scores them pairwise against ``truth.csv``
   (precision, recall, F1), over the records of the initial load and again after the delta.
4. **Plain Splink** on the same initial records: standard comparisons, EM training, threshold 0.9,
   connected components (the baseline in ``matching_engine_quality.py``); its time and quality.

Usage (a fresh embedded database under a temporary CONTACTPOINT_HOME unless DATABASE_URL is set)::

    .venv/bin/python benchmarks/matching_pipeline.py --children 40000 --delta 10000
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
SOURCES = ("nhs_demographics", "child_benefit", "school_census", "social_care")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def split_delta(feed: Path, delta: int, out_initial: Path, out_delta: Path) -> int:
    with feed.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    keep, held = body[: len(body) - delta], body[len(body) - delta :]
    for path, part in ((out_initial, keep), (out_delta, held)):
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(part)
    return len(held)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--children", type=int, default=40_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--delta", type=int, default=10_000, help="school census records held back as a delta")
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="cp-bench-"))
    os.environ.setdefault("CONTACTPOINT_HOME", str(work / "home"))
    os.environ["CONTACTPOINT_MODE"] = "demo"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactpoint.settings")
    sys.path.insert(0, str(BENCHMARKS))
    import django

    django.setup()
    from django.core.management import call_command
    from linkquality import pairwise_scores, read_links, read_truth

    from contactpoint.feeds.services import add_source
    from contactpoint.ingest.pipeline import load_feed
    from contactpoint.matching.exports import export_links
    from contactpoint.synth.generator import SOURCES as SYNTH_SOURCES
    from contactpoint.synth.generator import generate

    call_command("migrate", verbosity=0)
    feeds = work / "feeds"
    started = time.perf_counter()
    summary = generate(args.children, args.seed, feeds)
    print(f"generated {args.children} children, {summary.total_records} records in "
          f"{time.perf_counter() - started:.1f} s")
    held = split_delta(feeds / "school_census.csv", args.delta, feeds / "school_census_initial.csv",
                       feeds / "school_census_delta.csv")
    trust = {s.code: s.trust_level for s in SYNTH_SOURCES}
    initial_records = summary.total_records - held

    started = time.perf_counter()
    for code in SOURCES:
        add_source(code=code, name=code, trust=trust.get(code, 5), system_actor="benchmark")
        path = feeds / ("school_census_initial.csv" if code == "school_census" else f"{code}.csv")
        t = time.perf_counter()
        result = load_feed(source_code=code, path=path, mode="full", loaded_by="benchmark")
        print(f"  {code:<18} {result.accepted:>8} records {time.perf_counter() - t:7.1f} s  {result.timings}")
    initial_seconds = time.perf_counter() - started
    print(f"initial load + match: {initial_records} records in {initial_seconds:.1f} s, "
          f"peak RSS {peak_rss_mb():.0f} MB")
    truth = read_truth(feeds / "truth.csv")
    export_links(path=work / "links-initial.csv", system_actor="benchmark")
    initial_scores = pairwise_scores(read_links(work / "links-initial.csv"), truth)

    t = time.perf_counter()
    result = load_feed(source_code="school_census", path=feeds / "school_census_delta.csv", mode="delta",
                       loaded_by="benchmark")
    delta_seconds = time.perf_counter() - t
    print(f"delta: {result.accepted} records in {delta_seconds:.1f} s ({result.linked_to_existing} linked, "
          f"{result.new_children} new, {result.sent_to_review} to review)  {result.timings}")
    export_links(path=work / "links-final.csv", system_actor="benchmark")
    final_scores = pairwise_scores(read_links(work / "links-final.csv"), truth)

    print("\n| method | records | precision | recall | F1 | wall time |")
    print("|---|---|---|---|---|---|")

    def row(name: str, s: dict[str, float], seconds: float) -> None:
        print(f"| {name} | {s['records']} | {s['precision']:.4f} | {s['recall']:.4f} | {s['f1']:.4f} | "
              f"{seconds:.1f} s |")

    row("ContactPoint initial load", initial_scores, initial_seconds)
    row("ContactPoint after delta", final_scores, delta_seconds)
    if not args.no_baseline:
        import pandas as pd
        from matching_engine_quality import plain_splink

        frames = []
        for code in SOURCES:
            path = feeds / ("school_census_initial.csv" if code == "school_census" else f"{code}.csv")
            frames.append(pd.read_csv(path, dtype=str, keep_default_na=False).assign(source=code))
        records = pd.concat(frames, ignore_index=True)
        records["record_key"] = range(len(records))
        clusters, seconds = plain_splink(records, args.seed)
        keyed = dict(zip(clusters["record_key"], clusters["cluster_key"], strict=True))
        predicted = {(s, r): str(keyed.get(k, f"single-{k}")) for s, r, k in
                     zip(records["source"], records["source_record_id"], records["record_key"], strict=True)}
        row("plain Splink (same initial records)", pairwise_scores(predicted, truth), seconds)
        print(f"\ninitial load time / plain Splink time: {initial_seconds / seconds:.2f}x")
    print(f"peak RSS of this process: {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
