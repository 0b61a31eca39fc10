"""Link quality and load time at a million records, next to plain Splink on the same records.

``search_quality.py --children 1360000 --sources nhs_demographics --build-only`` loads one synthetic feed
of about 1.1 million records (1.36 million people, a million of them in the NHS feed) through
``ingest.load_feed`` — validation, storage, matching, golden records, search index, involvements — into
its own embedded PostgreSQL, and stores the load's timings in the batch summary. This script then:

1. reads that batch's record count and timings;
2. exports the links (``matching.exports.export_links``, what ``contactpoint links export`` runs) and
   scores them pairwise against ``truth.csv``;
3. runs plain Splink (``matching_engine_quality.plain_splink``: standard comparisons, EM training,
   threshold 0.9, connected components) on the same file, timed, and scores it the same way;
4. prints both, the ratio of the load's time to Splink's, and this process's peak memory.

A within-source load: this is deduplication of one national feed, the first thing the directory does.

Usage::

    CONTACTPOINT_HOME=var/search-bench-home-1m .venv/bin/python benchmarks/matching_million.py \
        --feeds var/search-bench/feeds-1360k --source nhs_demographics
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("CONTACTPOINT_MODE", "test")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactpoint.settings")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=Path, required=True, help="the synthetic feeds the directory was built from")
    parser.add_argument("--source", default="nhs_demographics")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--no-baseline", action="store_true", help="skip plain Splink")
    args = parser.parse_args()

    import django

    django.setup()
    import pandas as pd
    from matching_engine_quality import pairwise_scores, plain_splink

    from contactpoint.feeds.models import FeedBatch
    from contactpoint.matching.exports import export_links

    batch = FeedBatch.objects.filter(source__code=args.source).order_by("-id").first()
    if batch is None:
        raise SystemExit(f"no batch from {args.source} in this directory: build it first (see the docstring)")
    print(f"load of {args.source}: {batch.summary}")

    truth = pd.read_csv(args.feeds / "truth.csv", dtype=str, keep_default_na=False)
    truth = truth[truth["source"] == args.source]
    with tempfile.TemporaryDirectory() as scratch:
        links_path = Path(scratch) / "links.csv"
        started = time.perf_counter()
        export_links(path=links_path, system_actor="benchmark")
        links = pd.read_csv(links_path, dtype=str, keep_default_na=False)
        print(f"exported {len(links):,} links in {time.perf_counter() - started:.1f} s")
    links = links[links["source"] == args.source].merge(
        truth, on=["source", "source_record_id"], how="inner", validate="one_to_one"
    )
    links["record_key"] = range(len(links))
    ours = pairwise_scores(links.rename(columns={"contactpoint_id": "cluster_key"})[["record_key", "cluster_key"]],
                           links[["record_key", "person_id"]])

    def row(name: str, scores: dict[str, float], seconds: float | None, records: int) -> None:
        took = f"{seconds:.1f} s" if seconds is not None else "-"
        print(f"| {name} | {records:,} | {scores['precision']:.5f} | {scores['recall']:.4f} | {scores['f1']:.4f} | "
              f"{scores['false_links']:,} | {took} |")

    print("\n| method | records | precision | recall | F1 | false-link pairs | wall time |")
    print("|---|---|---|---|---|---|---|")
    # The stored timings end before the commit (deferred foreign-key checks), which the load's own
    # output line includes: quote that line's figure alongside.
    timings = batch.summary.get("timings", {}) if isinstance(batch.summary, dict) else {}
    load_seconds = float(timings["total"]) if "total" in timings else None
    row("ContactPoint load_feed (validate, store, match, golden, index)", ours, load_seconds, len(links))

    if not args.no_baseline:
        records = pd.read_csv(args.feeds / f"{args.source}.csv", dtype=str, keep_default_na=False)
        # The same records the directory holds: rows the feed's validation rejected are left out.
        records = records[records["source_record_id"].isin(links["source_record_id"])]
        records = records.merge(truth, on="source_record_id", how="left", validate="one_to_one")
        records["record_key"] = range(len(records))
        clusters, seconds = plain_splink(records.assign(source=args.source), args.seed)
        keyed = dict(zip(clusters["record_key"], clusters["cluster_key"], strict=True))
        records["cluster_key"] = [str(keyed.get(k, f"single-{k}")) for k in records["record_key"]]
        splink = pairwise_scores(records[["record_key", "cluster_key"]], records[["record_key", "person_id"]])
        row("plain Splink (same records)", splink, seconds, len(records))
        if load_seconds:
            print(f"\nload time / plain Splink time: {load_seconds / seconds:.2f}x")
    print(f"peak RSS of this process: {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
