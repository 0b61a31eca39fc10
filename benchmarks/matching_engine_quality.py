"""Quality and speed of the matching engine on synthetic feeds, next to a plain Splink model.

Generates a synthetic population (``contactpoint.synth``), loads every source feed as one set of
records, and reports pairwise precision / recall / F1 against ``truth.csv`` for:

* the engine with its default (untrained) model: prepare_records + score_within + decide;
* the engine with a model trained on the same records (train_model, unsupervised);
* plain Splink: standard comparisons on lightly cleaned columns, EM-trained, pairs at match
  probability >= 0.9 joined by connected components.

Pairwise: a pair of records counts as linked when the method puts both in one cluster, and as true
when truth gives both the same person.

Usage::

    PYTHONPATH=src python benchmarks/matching_engine_quality.py --children 20000 --seed 7
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from contactpoint.matching.engine import (
    LINK_THRESHOLD,
    REVIEW_THRESHOLD,
    decide,
    default_model,
    prepare_records,
    score_within,
    train_model,
)

SOURCES = ("nhs_demographics", "child_benefit", "school_census", "social_care")
IDENTITY_COLUMNS = (
    "given_names", "family_name", "former_family_names", "date_of_birth", "sex", "address_line_1",
    "town", "postcode", "nhs_number", "upn",
)


def load_feeds(children: int, seed: int, out_dir: Path) -> tuple[pd.DataFrame, float]:
    """Generate the feeds (timed) and read them back as one frame with ``record_key`` and ``person_id``."""
    from contactpoint.synth.generator import generate

    started = time.perf_counter()
    generate(children, seed, out_dir)
    generated = time.perf_counter() - started
    frames = []
    for source in SOURCES:
        frame = pd.read_csv(out_dir / f"{source}.csv", dtype=str, keep_default_na=False)
        frames.append(frame.assign(source=source))
    records = pd.concat(frames, ignore_index=True)
    truth = pd.read_csv(out_dir / "truth.csv", dtype=str, keep_default_na=False)
    records = records.merge(truth, on=["source", "source_record_id"], how="left", validate="one_to_one")
    records["record_key"] = np.arange(len(records), dtype=np.int64)
    return records[["record_key", "source", *IDENTITY_COLUMNS, "person_id"]], generated


def _pairs(sizes: pd.Series) -> int:
    values = sizes.to_numpy(dtype=np.int64)
    return int((values * (values - 1) // 2).sum())


def pairwise_scores(clusters: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float]:
    """Pairwise precision, recall and F1 of ``clusters`` (record_key, cluster_key) against truth."""
    joined = clusters.merge(truth[["record_key", "person_id"]], on="record_key", validate="one_to_one")
    true_positive = _pairs(joined.groupby(["cluster_key", "person_id"]).size())
    predicted = _pairs(joined.groupby("cluster_key").size())
    actual = _pairs(joined.groupby("person_id").size())
    precision = true_positive / predicted if predicted else 1.0
    recall = true_positive / actual if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision, "recall": recall, "f1": f1,
        "true_pairs": actual, "linked_pairs": predicted, "false_links": predicted - true_positive,
    }


def run_engine(records: pd.DataFrame, model: dict[str, Any] | None, timings: dict[str, float]) -> Any:
    """prepare + score + decide; returns (features, pairs, decision)."""
    started = time.perf_counter()
    features = prepare_records(records)
    timings["prepare"] = time.perf_counter() - started
    started = time.perf_counter()
    model = default_model() if model is None else model
    pairs = score_within(features, model, min_match_probability=0.01)
    timings["score"] = time.perf_counter() - started
    started = time.perf_counter()
    decision = decide(pairs, records=features)
    timings["decide"] = time.perf_counter() - started
    return features, pairs, decision


def plain_splink(records: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, float]:
    """A straightforward Splink 5 dedupe: standard comparisons, EM training, 0.9, connected components."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    started = time.perf_counter()
    df = pd.DataFrame(
        {
            "unique_id": records["record_key"],
            "first_name": records["given_names"].str.split().str[0].str.lower().replace("", None),
            "surname": records["family_name"].str.strip().str.lower().replace("", None),
            "dob": records["date_of_birth"].replace("", None),
            "sex": records["sex"].replace({"": None, "U": None}),
            "postcode": records["postcode"].str.upper().str.replace(" ", "", regex=False)
            .str.replace(r"^(.*)(\d[A-Z]{2})$", r"\1 \2", regex=True).replace("", None),
            "address_line_1": records["address_line_1"].str.lower().replace("", None),
            "nhs_number": records["nhs_number"].str.replace(" ", "", regex=False).replace("", None),
            "upn": records["upn"].replace("", None),
        }
    )
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("first_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.ExactMatch("sex"),
            cl.PostcodeComparison("postcode"),
            cl.LevenshteinAtThresholds("address_line_1", 2),
            cl.ExactMatch("nhs_number"),
            cl.ExactMatch("upn"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("nhs_number"),
            block_on("upn"),
            block_on("first_name", "surname"),
            block_on("dob", "surname"),
            block_on("dob", "first_name"),
            block_on("postcode", "first_name"),
        ],
    )
    db_api = DuckDBAPI()
    linker = Linker(db_api.register(df), settings, log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("first_name", "surname", "dob"), block_on("nhs_number", "dob")], recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=5e6, seed=seed)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("first_name", "surname"))
    predictions = linker.inference.predict(threshold_match_probability=0.9)
    clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, 0.9)
    clusters = clustered.as_pandas_dataframe()[["unique_id", "cluster_id"]]
    clusters = clusters.rename(columns={"unique_id": "record_key", "cluster_id": "cluster_key"})
    return clusters, time.perf_counter() - started


def sweep(pairs: pd.DataFrame, features: pd.DataFrame, truth: pd.DataFrame) -> None:
    """Precision/recall of the engine at other link thresholds (for choosing the default)."""
    print("\nlink threshold sweep (review threshold fixed at its default where below):")
    for threshold in (0.5, 0.9, 0.99, 0.999, 0.9999):
        decision = decide(
            pairs, link_threshold=threshold, review_threshold=min(REVIEW_THRESHOLD, threshold), records=features
        )
        scores = pairwise_scores(decision.clusters, truth)
        print(
            f"  {threshold:<7} precision {scores['precision']:.4f} recall {scores['recall']:.4f} "
            f"F1 {scores['f1']:.4f} false links {scores['false_links']} review {len(decision.review)}"
        )


def review_yield(review: pd.DataFrame, truth: pd.DataFrame) -> str:
    person = truth.set_index("record_key")["person_id"]
    if review.empty:
        return "0 pairs"
    same = person.loc[review["record_key_l"]].to_numpy() == person.loc[review["record_key_r"]].to_numpy()
    by_reason = review.assign(same=same).groupby("reason")["same"].agg(["size", "sum"])
    parts = [f"{reason}: {int(row['size'])} ({int(row['sum'])} true)" for reason, row in by_reason.iterrows()]
    return ", ".join(parts)


def report(name: str, scores: dict[str, float], seconds: float, extra: str = "") -> None:
    print(
        f"{name:<28} precision {scores['precision']:.4f}  recall {scores['recall']:.4f}  F1 {scores['f1']:.4f}"
        f"  false links {scores['false_links']:>5}  time {seconds:6.1f}s {extra}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--children", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out-dir", type=Path, default=None, help="where to write the feeds (default: temp)")
    parser.add_argument("--no-baseline", action="store_true", help="skip plain Splink")
    parser.add_argument("--no-train", action="store_true", help="skip the trained-model run")
    parser.add_argument("--sweep", action="store_true", help="also print a link-threshold sweep")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        out_dir = args.out_dir or Path(tmp)
        records, generated = load_feeds(args.children, args.seed, out_dir)
    truth = records[["record_key", "person_id"]]
    print(
        f"{args.children} children, {len(records)} records, {records['person_id'].nunique()} persons "
        f"(generated in {generated:.1f}s); link threshold {LINK_THRESHOLD}, review threshold {REVIEW_THRESHOLD}"
    )
    inputs = records.drop(columns=["person_id"])

    runs: list[tuple[str, Callable[[], Any]]] = [("engine, default model", lambda: None)]
    if not args.no_train:
        runs.append(("engine, trained model", lambda: train_model(inputs, seed=args.seed)))
    for name, make_model in runs:
        timings: dict[str, float] = {}
        started = time.perf_counter()
        model = make_model()
        timings["train"] = time.perf_counter() - started
        features, pairs, decision = run_engine(inputs, model, timings)
        total = sum(timings.values())
        detail = ", ".join(f"{k} {v:.1f}s" for k, v in timings.items() if v > 0.05)
        report(name, pairwise_scores(decision.clusters, truth), total, f"({detail}; {len(pairs)} pairs)")
        print(f"{'':<28} review: {review_yield(decision.review, truth)}")
        if args.sweep:
            sweep(pairs, features, truth)

    if not args.no_baseline:
        clusters, seconds = plain_splink(inputs, args.seed)
        report("plain Splink (0.9, CC)", pairwise_scores(clusters, truth), seconds)


if __name__ == "__main__":
    main()
