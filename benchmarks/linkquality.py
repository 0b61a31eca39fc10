"""Pairwise precision, recall and F1 of a clustering against the synthetic truth.

A pair of source records is "predicted linked" when they share a cluster, "truly linked" when they
share a person_id in truth.csv. Counted without materialising pairs: sum over cluster×person
intersections of n·(n−1)/2.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Mapping
from pathlib import Path


def read_truth(path: Path) -> dict[tuple[str, str], str]:
    with path.open(newline="", encoding="utf-8") as handle:
        return {(row["source"], row["source_record_id"]): row["person_id"] for row in csv.DictReader(handle)}


def read_links(path: Path) -> dict[tuple[str, str], str]:
    with path.open(newline="", encoding="utf-8") as handle:
        return {(row["source"], row["source_record_id"]): row["contactpoint_id"] for row in csv.DictReader(handle)}


def _pairs(counts: Counter[object]) -> int:
    return sum(n * (n - 1) // 2 for n in counts.values())


def pairwise_scores(predicted: Mapping[tuple[str, str], str], truth: Mapping[tuple[str, str], str]) -> dict[str, float]:
    """Precision, recall and F1 over the records present in both mappings."""
    keys = [k for k in predicted if k in truth]
    predicted_pairs = _pairs(Counter(predicted[k] for k in keys))
    true_pairs = _pairs(Counter(truth[k] for k in keys))
    both = _pairs(Counter((predicted[k], truth[k]) for k in keys))
    precision = both / predicted_pairs if predicted_pairs else 1.0
    recall = both / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "records": len(keys),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "true_pairs": true_pairs,
        "predicted_pairs": predicted_pairs,
    }
