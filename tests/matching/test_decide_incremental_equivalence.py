"""The vectorised incremental assignment decides exactly as the per-group loop it replaced.

``reference_decide_incremental`` below is the engine's ``decide_incremental`` as it was before the
per-group pandas loop became one sort and a loop over arrays (commit 559ca45). It is kept here, not in
the engine, as the oracle: both must give identical assignments and review items on hand-made tricky
cases (ties, margins of exactly the ambiguity threshold, conflicts through an unscored member of the
child, groups of several new records, never-linked or conflicting pairs) and on many random ones.
No Django, no database.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from contactpoint.matching.engine import (
    AMBIGUITY_MARGIN_BITS,
    LINK_THRESHOLD,
    REVIEW_THRESHOLD,
    IncrementalDecision,
    decide,
    decide_incremental,
    prepare_records,
    score_against,
    score_within,
)
from contactpoint.matching.engine.decide import (
    _check_thresholds,
    _ConflictOracle,
    _IdentityStore,
    _review_frame,
    _scored,
    pair_conflicts,
)


def reference_decide_incremental(
    against_pairs: pd.DataFrame,
    existing_clusters: pd.DataFrame | pd.Series,
    *,
    new_records: pd.DataFrame | None = None,
    existing_records: pd.DataFrame | None = None,
    within_new_pairs: pd.DataFrame | None = None,
    link_threshold: float = LINK_THRESHOLD,
    review_threshold: float = REVIEW_THRESHOLD,
    margin_bits: float = AMBIGUITY_MARGIN_BITS,
) -> IncrementalDecision:
    """The per-group loop as it was before vectorising (commit 559ca45), kept as the oracle."""
    _check_thresholds(link_threshold, review_threshold)
    if isinstance(existing_clusters, pd.Series):
        cluster_map: dict[int, Hashable] = existing_clusters.to_dict()
    else:
        cluster_map = dict(zip(existing_clusters["record_key"], existing_clusters["cluster_key"], strict=True))
    members_of: dict[Hashable, list[int]] = defaultdict(list)
    for record_key, cluster_key in cluster_map.items():
        members_of[cluster_key].append(record_key)

    # 1. New records that are the same child as each other move together.
    within = within_new_pairs if within_new_pairs is not None else against_pairs.iloc[0:0]
    batch = decide(within, link_threshold=link_threshold, review_threshold=review_threshold, records=new_records)
    if new_records is not None:
        new_keys = new_records["record_key"].tolist()
    else:
        new_keys = pd.unique(
            pd.concat([against_pairs["record_key_l"], within["record_key_l"], within["record_key_r"]])
        ).tolist()
    group_of = dict(zip(batch.clusters["record_key"], batch.clusters["cluster_key"], strict=True))
    groups: dict[int, list[int]] = defaultdict(list)
    for key in new_keys:
        groups[group_of.setdefault(key, key)].append(key)

    # 2. Candidate existing children for each group.
    pairs = against_pairs.reset_index(drop=True)
    flags = pair_conflicts(pairs)
    pairs = pairs.assign(
        cluster_key=pairs["record_key_r"].map(cluster_map),
        group_key=pairs["record_key_l"].map(group_of),
        conflict=flags["conflict"].to_numpy(),
        reviewable=flags["reviewable"].to_numpy(),
    )
    if pairs["cluster_key"].isna().any():
        raise ValueError("a record in against_pairs has no cluster in existing_clusters")
    probability = pairs["match_probability"].to_numpy()
    linkable = pairs[(probability >= link_threshold) & ~pairs["conflict"].to_numpy()]

    stores = [_IdentityStore(r) for r in (new_records, existing_records) if r is not None]
    conflicts = _ConflictOracle(_scored(pairs, flags["conflict"]), stores)

    assigned: dict[int, tuple[Hashable, int, float]] = {}
    refused: list[pd.DataFrame] = []
    for group_key, candidates in linkable.groupby("group_key", sort=True):
        per_cluster = candidates.sort_values(["match_weight", "record_key_r"], ascending=[False, True])
        per_cluster = per_cluster.drop_duplicates("cluster_key")
        eligible: list[Any] = []
        for label, cluster_key, existing_key in zip(
            per_cluster.index, per_cluster["cluster_key"], per_cluster["record_key_r"], strict=True
        ):
            members = members_of.get(cluster_key, [existing_key])
            if any(conflicts(n, e) for n in groups[group_key] for e in members):
                refused.append(pairs.loc[[label]].assign(reason="would_chain"))
            else:
                eligible.append(label)
        if not eligible:
            continue
        best = pairs.loc[eligible[0]]
        if len(eligible) > 1 and best["match_weight"] - pairs.loc[eligible[1], "match_weight"] < margin_bits:
            refused.append(pairs.loc[eligible[:2]].assign(reason="ambiguous"))
            continue
        assigned[group_key] = (best["cluster_key"], best["record_key_r"], float(best["match_probability"]))

    # 3. One row per new record.
    best_per_record = pairs.sort_values(["match_weight", "record_key_r"], ascending=[False, True])
    best_per_record = best_per_record.drop_duplicates(["record_key_l", "cluster_key"])
    own_best = {
        (row.record_key_l, row.cluster_key): (row.record_key_r, float(row.match_probability))
        for row in best_per_record.itertuples()
    }
    rows: list[tuple[Any, ...]] = []
    for key in new_keys:
        group_key = group_of[key]
        if group_key in assigned:
            cluster_key, deciding_key, deciding_probability = assigned[group_key]
            matched, matched_probability = own_best.get((key, cluster_key), (deciding_key, deciding_probability))
            rows.append((key, cluster_key, None, matched, matched_probability, "existing"))
        else:
            rows.append((key, None, group_key, None, None, "new"))
    assignments = pd.DataFrame(
        rows,
        columns=["record_key", "cluster_key", "new_cluster_key", "matched_record_key", "match_probability", "outcome"],
    )

    # 4. Review: new x existing pairs worth a look, less those the assignment has settled.
    reviewable = pairs["reviewable"].to_numpy()
    in_band = (probability >= review_threshold) & (probability < link_threshold) & reviewable
    conflicted = (probability >= link_threshold) & pairs["conflict"].to_numpy() & reviewable
    candidates = pd.concat(
        [*refused, pairs[conflicted].assign(reason="conflict"), pairs[in_band].assign(reason="uncertain")]
    ) if (refused or conflicted.any() or in_band.any()) else pairs.iloc[0:0].assign(reason="")
    settled = [
        group_key in assigned and assigned[group_key][0] == cluster_key
        for group_key, cluster_key in zip(candidates["group_key"], candidates["cluster_key"], strict=True)
    ]
    review = _review_frame([batch.review, candidates[~np.asarray(settled, dtype=bool)]])
    return IncrementalDecision(assignments=assignments, review=review)


# --------------------------------------------------------------------------------------------------
# helpers

_GAMMA_CHOICES = {
    # (values, weights): mostly agreeing levels, sometimes a conflicting one
    "forename": ([7, 6, 5, 4, 3, 2, 1, 0, -1], [40, 8, 5, 5, 3, 3, 4, 6, 4]),
    "family_name": ([5, 4, 3, 0, -1], [50, 5, 5, 10, 5]),
    "dob": ([6, 5, 4, 3, 2, 1, 0, -1], [50, 4, 4, 4, 4, 4, 6, 4]),
    "sex": ([1, 0, -1], [60, 6, 10]),
    "postcode": ([3, 2, 1, 0, -1], [30, 5, 5, 20, 10]),
    "address_line_1": ([2, 1, 0, -1], [30, 5, 20, 10]),
    "nhs_number": ([1, 0, -1], [20, 4, 40]),
    "upn": ([2, 1, 0, -1], [10, 3, 3, 40]),
}
# Few distinct weights, so that ties and margins of exactly AMBIGUITY_MARGIN_BITS come up often.
_WEIGHTS = [-3.0, 0.0, 2.0, 3.5, 5.0, 8.0, 10.0, 10.0 + AMBIGUITY_MARGIN_BITS, 13.0, 15.0, 18.0, 20.0]


def _pair_rows(rng: np.random.Generator, left: list[int], right: list[int], count: int) -> pd.DataFrame:
    chosen = {(int(rng.choice(left)), int(rng.choice(right))) for _ in range(count)}
    chosen = {(a, b) for a, b in chosen if a != b}
    rows = []
    for a, b in sorted(chosen):
        weight = float(rng.choice(_WEIGHTS))
        row: dict[str, Any] = {
            "record_key_l": a,
            "record_key_r": b,
            "match_weight": weight,
            "match_probability": 1.0 / (1.0 + 2.0 ** (-weight)),
            "match_key": "0",
        }
        for name, (values, weights) in _GAMMA_CHOICES.items():
            p = np.asarray(weights, dtype=float) / sum(weights)
            row[f"gamma_{name}"] = int(rng.choice(values, p=p))
            row[f"bf_{name}"] = 1.0
        rows.append(row)
    return pd.DataFrame(rows)


def _random_case(seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    new_keys = list(range(1, int(rng.integers(2, 25))))
    existing_keys = list(range(1000, 1000 + int(rng.integers(1, 30))))
    children = int(rng.integers(1, len(existing_keys) + 1))
    use_strings = bool(rng.integers(0, 2))
    clusters = [f"C-{int(rng.integers(0, children))}" if use_strings else int(rng.integers(0, children)) * 7 + 500
                for _ in existing_keys]
    against = _pair_rows(rng, new_keys, existing_keys, int(rng.integers(1, 4 * len(new_keys) + 2)))
    within = _pair_rows(rng, new_keys, new_keys, int(rng.integers(0, 2 * len(new_keys) + 1)))
    if len(within):
        low = np.minimum(within["record_key_l"], within["record_key_r"])
        high = np.maximum(within["record_key_l"], within["record_key_r"])
        within = within.assign(record_key_l=low, record_key_r=high).drop_duplicates(["record_key_l", "record_key_r"])
        within = within.reset_index(drop=True)
    return {
        "against": against,
        "clusters": pd.DataFrame({"record_key": existing_keys, "cluster_key": clusters}),
        "within": within if len(within) else None,
        "new_keys": new_keys,
    }


def _assert_same(new: IncrementalDecision, old: IncrementalDecision) -> None:
    pd.testing.assert_frame_equal(new.assignments, old.assignments)
    pd.testing.assert_frame_equal(new.review, old.review)


def _both(against: pd.DataFrame, clusters: Any, **kwargs: Any) -> tuple[IncrementalDecision, IncrementalDecision]:
    return decide_incremental(against, clusters, **kwargs), reference_decide_incremental(against, clusters, **kwargs)


# --------------------------------------------------------------------------------------------------
# tests


@pytest.mark.parametrize("seed", range(400))
def test_random_cases_decide_as_the_per_group_loop(seed: int) -> None:
    case = _random_case(seed)
    if not len(case["against"]):
        pytest.skip("no pairs drawn")
    for margin in (AMBIGUITY_MARGIN_BITS, 0.0):
        new, old = _both(case["against"], case["clusters"], within_new_pairs=case["within"], margin_bits=margin)
        _assert_same(new, old)


def _hand_pairs(rows: list[tuple[int, int, float]], **gammas: int) -> pd.DataFrame:
    """Pairs with agreeing comparison levels (override with gamma_* keyword arguments)."""
    frame = pd.DataFrame(rows, columns=["record_key_l", "record_key_r", "match_weight"])
    frame["match_probability"] = 1.0 / (1.0 + 2.0 ** (-frame["match_weight"]))
    frame["match_key"] = "0"
    agreeing = {"forename": 7, "family_name": 5, "dob": 6, "sex": 1, "postcode": 3, "address_line_1": 2,
                "nhs_number": -1, "upn": -1}
    for name, level in agreeing.items():
        frame[f"gamma_{name}"] = gammas.get(f"gamma_{name}", level)
        frame[f"bf_{name}"] = 1.0
    return frame


def test_tie_between_two_children_is_ambiguous() -> None:
    against = _hand_pairs([(1, 100, 20.0), (1, 200, 20.0)])
    clusters = pd.Series({100: "A", 200: "B"})
    new, old = _both(against, clusters)
    _assert_same(new, old)
    assert new.assignments["outcome"].tolist() == ["new"]
    assert set(new.review["reason"]) == {"ambiguous"}


def test_margin_of_exactly_the_threshold_links() -> None:
    against = _hand_pairs([(1, 100, 20.0), (1, 200, 20.0 - AMBIGUITY_MARGIN_BITS)])
    clusters = pd.Series({100: "A", 200: "B"})
    new, old = _both(against, clusters)
    _assert_same(new, old)
    assert new.assignments["cluster_key"].tolist() == ["A"]


def test_same_existing_record_tied_for_two_new_records_of_one_group() -> None:
    against = _hand_pairs([(1, 100, 20.0), (2, 100, 20.0), (2, 101, 20.0), (1, 200, 12.0)])
    within = _hand_pairs([(1, 2, 25.0)])
    clusters = pd.Series({100: "A", 101: "A", 200: "B"})
    new, old = _both(against, clusters, within_new_pairs=within)
    _assert_same(new, old)
    assert new.assignments["cluster_key"].tolist() == ["A", "A"]
    assert new.assignments["matched_record_key"].tolist() == [100, 100]


def test_conflict_with_another_scored_member_of_the_child_refuses_it() -> None:
    # Record 1 links strongly to 100, but 100's child also holds 101, whose NHS number differs from 1's.
    strong = _hand_pairs([(1, 100, 25.0), (1, 200, 15.0)])
    differing = _hand_pairs([(1, 101, -10.0)], gamma_nhs_number=0)
    against = pd.concat([strong, differing], ignore_index=True)
    clusters = pd.Series({100: "A", 101: "A", 200: "B"})
    new, old = _both(against, clusters)
    _assert_same(new, old)
    assert new.assignments["cluster_key"].tolist() == ["B"]
    assert new.review["reason"].tolist() == ["would_chain"]


def test_conflict_seen_only_through_record_features() -> None:
    # Twins: the existing child holds William and his sister's record wrongly linked to him; the
    # new record (William again) links to William but conflicts with the unscored other record.
    existing = prepare_records(pd.DataFrame([
        _record(100, "William James", "2014-03-09", "M"),
        _record(101, "Sophie", "2014-03-09", "F"),
        _record(200, "William", "2014-03-09", "M", postcode="B14 7QT"),
    ]))
    new_records = prepare_records(pd.DataFrame([_record(1, "William James", "2014-03-09", "M")]))
    against = _hand_pairs([(1, 100, 25.0), (1, 200, 14.0)])
    clusters = pd.Series({100: "A", 101: "A", 200: "B"})
    kwargs = {"new_records": new_records, "existing_records": existing}
    new, old = _both(against, clusters, **kwargs)
    _assert_same(new, old)
    assert new.assignments["cluster_key"].tolist() == ["B"]


def _record(key: int, given: str, dob: str, sex: str, postcode: str = "B13 9AH") -> dict[str, Any]:
    return {"record_key": key, "source": "nhs_demographics", "given_names": given, "family_name": "Thompson",
            "former_family_names": None, "date_of_birth": dob, "sex": sex, "address_line_1": "14 Elm Grove",
            "town": "Birmingham", "postcode": postcode, "nhs_number": None, "upn": None}


def test_scored_records_decide_as_the_per_group_loop() -> None:
    """Real features and Splink scores: families with twins, siblings, typos and re-sent records."""
    forenames = ["Oliver", "Olivia", "Amelia", "Emilia", "Harry", "Harriet", "Noah", "Nora", "Leo", "Lea"]
    rows: list[dict[str, Any]] = []
    key = 10_000
    for family in range(24):
        dob = f"{2008 + family % 12}-{1 + family % 12:02d}-{1 + (family * 5) % 27:02d}"
        for sibling in range(2 + family % 3):
            given = forenames[(family + sibling) % len(forenames)]
            sex = "F" if (family + sibling) % 2 else "M"
            twin_dob = dob if sibling < 2 else f"{2008 + family % 12 - 2}-06-15"
            for copy in range(1 + (family + sibling) % 3):
                spelled = given if copy != 2 else given[:-1] + "e"
                record = _record(key, spelled, twin_dob, sex, postcode=f"B{1 + family % 9} {1 + copy}AB")
                record["family_name"] = ["Smith", "Khan", "Patel", "Jones"][family % 4]
                record["source"] = ["nhs_demographics", "child_benefit", "school_census"][copy]
                rows.append(record)
                key += 1
    records = pd.DataFrame(rows)
    existing = records.iloc[::2].reset_index(drop=True)
    new_part = records.iloc[1::2].reset_index(drop=True)
    existing_features, new_features = prepare_records(existing), prepare_records(new_part)
    existing_decision = decide(score_within(existing_features), records=existing_features)
    clusters = existing_decision.clusters
    against = score_against(new_features, existing_features)
    within = score_within(new_features)
    kwargs = {"new_records": new_features, "existing_records": existing_features, "within_new_pairs": within,
              "link_threshold": LINK_THRESHOLD, "review_threshold": REVIEW_THRESHOLD}
    new, old = _both(against, clusters, **kwargs)
    _assert_same(new, old)
    assert (new.assignments["outcome"] == "existing").any()
