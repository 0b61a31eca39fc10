"""From scored pairs to decisions: which records are the same child, and which pairs a person reviews.

Linking two different children is a safeguarding incident; missing a link costs less (the record
shows up as a separate child and a reviewer can merge it). So the rules here trade recall for
precision:

* **Thresholds.** Only a pair with ``match_probability >= link_threshold`` can join two records
  automatically. Pairs from ``review_threshold`` up to the link threshold go to human review.
* **Conflicts veto links.** Two records *conflict* when their forenames are simply different (not
  equal, not a nickname or variant of each other, not similar in spelling or sound, not one of the
  other's given names), or their dates of birth disagree beyond a typing slip (not equal, not
  day/month transposed, not two of year/month/day equal), or both carry a valid NHS number and the
  numbers differ. Twins (same surname, date of birth and address, different forenames) and siblings
  score highly in any model that treats fields as independent; a conflict keeps them apart whatever
  the score. A conflicting pair above the review threshold is reviewed, except when the NHS numbers
  differ as well: then it is plainly two children and nobody needs to look.
* **No chaining.** Clusters grow greedily from the strongest link down, and two clusters merge only if
  no record of one conflicts with any record of the other. Otherwise A~B and B~C could put twins A and
  C in one record through a third, ambiguous record B. A link refused for this reason is reviewed.
* **Incremental loads** assign each new record (or group of new records that link to each other) to
  the one existing child it links to best, only if no record of that child conflicts with it and no
  other existing child comes within :data:`AMBIGUITY_MARGIN_BITS` of it; two existing children are
  never merged automatically.

Default thresholds: see :data:`LINK_THRESHOLD` and :data:`REVIEW_THRESHOLD`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any

import jellyfish
import numpy as np
import pandas as pd

from .model import level_gamma

#: Automatic link at or above this probability. With the default prior (1e-6, a national-scale
#: directory) this needs a match weight of about 26 bits: e.g. exact forename, surname and date of
#: birth, or a nickname plus surname, date of birth and postcode. On the synthetic benchmark
#: (benchmarks/matching_engine_quality.py) it gives pairwise precision above 0.995 with the conflict
#: rules; lowering it to 0.9 adds little recall and costs precision.
LINK_THRESHOLD = 0.99

#: Human review from this probability up to the link threshold. Below it a pair is left alone. Set
#: where the benchmark still finds true matches among the pairs, so reviewers' time goes where it
#: can change an outcome.
REVIEW_THRESHOLD = 0.5

#: In an incremental load, the best existing child must beat the runner-up by this many bits (a
#: likelihood ratio of 32) to be chosen automatically; otherwise the record goes to review.
AMBIGUITY_MARGIN_BITS = 5.0

_FORENAME_DIFFERENT = level_gamma("forename", "Different forename")
_FORENAME_TWO_SLIPS = level_gamma("forename", "Two typing slips apart (Damerau-Levenshtein = 2)")
_DOB_DIFFERENT = (
    level_gamma("dob", "Within a year"),
    level_gamma("dob", "Different date of birth"),
)
_NHS_DIFFERENT = level_gamma("nhs_number", "Different NHS number")
_NHS_SAME = level_gamma("nhs_number", "Same NHS number")
_UPN_SAME = level_gamma("upn", "Same UPN")
_DOB_SLIP_DAYS = 45

_REVIEW_COLUMNS = ["record_key_l", "record_key_r", "match_probability", "match_weight", "reason"]


@dataclass(frozen=True)
class Decision:
    """Result of :func:`decide`.

    ``clusters``: one row per record, ``record_key`` and ``cluster_key`` (the smallest record key in
    the cluster, so it is stable for the same input). ``review``: pairs for a person to decide, with
    ``record_key_l``, ``record_key_r``, ``match_probability``, ``match_weight`` and ``reason``
    (``"uncertain"``: between the thresholds; ``"conflict"``: scored high but the records conflict;
    ``"would_chain"``: linking would put conflicting records in one cluster).
    """

    clusters: pd.DataFrame
    review: pd.DataFrame


@dataclass(frozen=True)
class IncrementalDecision:
    """Result of :func:`decide_incremental`.

    ``assignments``: one row per new record: ``record_key``; ``cluster_key`` (the existing child it
    joins, or ``None``); ``new_cluster_key`` (for a new child: the smallest record key of the new
    records that form it, else ``None``); ``matched_record_key`` and ``match_probability`` (the
    existing record that decided the link); ``outcome`` (``"existing"`` or ``"new"``).
    ``review``: pairs for a person, as in :class:`Decision`, with the extra reason ``"ambiguous"``
    (links about equally well to two existing children).
    """

    assignments: pd.DataFrame
    review: pd.DataFrame


# --------------------------------------------------------------------------------------------------
# conflicts


@dataclass(frozen=True)
class _Identity:
    forename: str | None
    canonicals: frozenset[str]
    tokens: frozenset[str]
    dm: str | None
    dm_alt: str | None
    dob: tuple[int, int, int] | None
    dob_days: int | None
    nhs: str | None


def _value(value: Any) -> Any:
    return None if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)) else value


def _identities(records: pd.DataFrame, keys: Iterable[Hashable]) -> dict[Hashable, _Identity]:
    subset = records[records["record_key"].isin(list(keys))]
    columns = ["record_key", "forename", "forename_canonicals", "given_name_tokens", "forename_dm",
               "forename_dm_alt", "dob_year", "dob_month", "dob_day", "dob_days", "nhs_number"]
    result: dict[Hashable, _Identity] = {}
    for row in zip(*(subset[c].tolist() for c in columns), strict=True):
        key, forename, canonicals, tokens, dm, dm_alt, year, month, day, days, nhs = map(_value, row)
        result[key] = _Identity(
            forename=forename,
            canonicals=frozenset(canonicals or ()),
            tokens=frozenset(tokens or ()),
            dm=dm,
            dm_alt=dm_alt,
            dob=None if year is None else (int(year), int(month), int(day)),
            dob_days=None if days is None else int(days),
            nhs=nhs,
        )
    return result


def _forename_conflict(a: _Identity, b: _Identity) -> bool:
    """True when the forenames are plainly different (the model's "Different forename" level)."""
    if not a.forename or not b.forename or a.forename == b.forename:
        return False
    if a.canonicals & b.canonicals:
        return False
    if jellyfish.jaro_winkler_similarity(a.forename, b.forename) >= 0.9:
        return False
    if jellyfish.damerau_levenshtein_distance(a.forename, b.forename) <= 1:
        return False
    if a.forename in b.tokens or b.forename in a.tokens:
        return False
    if a.dm and (a.dm == b.dm or a.dm == b.dm_alt):
        return False
    return not (a.dm_alt and a.dm_alt == b.dm)


def _dob_conflict(a: _Identity, b: _Identity) -> bool:
    """True when dates of birth differ by more than a slip (the "within a year"/"else" levels)."""
    if a.dob is None or b.dob is None or a.dob == b.dob:
        return False
    if a.dob_days is not None and b.dob_days is not None and abs(a.dob_days - b.dob_days) <= _DOB_SLIP_DAYS:
        return False
    (ya, ma, da), (yb, mb, db) = a.dob, b.dob
    transposed = ya == yb and ma == db and da == mb
    year_month = ya == yb and ma == mb
    two_of_three = da == db and (ya == yb or ma == mb)
    return not (transposed or year_month or two_of_three)


def _records_conflict(a: _Identity, b: _Identity) -> bool:
    nhs_differs = a.nhs is not None and b.nhs is not None and a.nhs != b.nhs
    return nhs_differs or _forename_conflict(a, b) or _dob_conflict(a, b)


def pair_conflicts(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per scored pair, from its comparison levels:

    * ``conflict``: the records conflict (see the module notes), so the pair never links by itself;
    * ``identifiers_differ``: both have NHS numbers and they differ;
    * ``reviewable``: worth a person's time if the score is high enough. Not when the NHS numbers
      differ, and not for plainly different forenames unless an NHS number or UPN agrees: that is
      the pattern of twins, who would otherwise fill the review queue.
    """
    forename = pairs["gamma_forename"].to_numpy()
    nhs = pairs["gamma_nhs_number"].to_numpy()
    nhs_differ = nhs == _NHS_DIFFERENT
    forename_different = forename == _FORENAME_DIFFERENT
    conflict = (
        nhs_differ
        | forename_different
        | (forename == _FORENAME_TWO_SLIPS)
        | np.isin(pairs["gamma_dob"].to_numpy(), _DOB_DIFFERENT)
    )
    identifier_agrees = (nhs == _NHS_SAME) | (pairs["gamma_upn"].to_numpy() == _UPN_SAME)
    reviewable = ~nhs_differ & (~forename_different | identifier_agrees)
    return pd.DataFrame(
        {"conflict": conflict, "identifiers_differ": nhs_differ, "reviewable": reviewable}, index=pairs.index
    )


def _key(a: Hashable, b: Hashable) -> tuple[Hashable, Hashable]:
    return (a, b) if str(a) <= str(b) else (b, a)


class _ConflictOracle:
    """Do two records conflict? From their features if known, else from their scored pair if any."""

    def __init__(self, identities: dict[Hashable, _Identity], scored_conflicts: set[tuple[Hashable, Hashable]]):
        self._identities = identities
        self._scored = scored_conflicts

    def __call__(self, a: Hashable, b: Hashable) -> bool:
        if _key(a, b) in self._scored:
            return True
        ia, ib = self._identities.get(a), self._identities.get(b)
        return ia is not None and ib is not None and _records_conflict(ia, ib)


class _Clusters:
    """Union-find over record keys that refuses merges bringing conflicting records together."""

    def __init__(self, conflicts: Callable[[Hashable, Hashable], bool]):
        self._parent: dict[Hashable, Hashable] = {}
        self._members: dict[Hashable, list[Hashable]] = {}
        self._conflicts = conflicts

    def add(self, key: Hashable, members: Iterable[Hashable] | None = None) -> None:
        if key not in self._parent:
            self._parent[key] = key
            self._members[key] = [key]
        for member in members or ():
            if member not in self._parent:
                self._parent[member] = key
                self._members[key].append(member)

    def find(self, key: Hashable) -> Hashable:
        self.add(key)
        root = key
        while self._parent[root] != root:
            root = self._parent[root]
        while self._parent[key] != root:  # path compression
            self._parent[key], key = root, self._parent[key]
        return root

    def members(self, root: Hashable) -> list[Hashable]:
        return self._members[root]

    def compatible(self, ra: Hashable, rb: Hashable) -> bool:
        return not any(self._conflicts(a, b) for a in self._members[ra] for b in self._members[rb])

    def union(self, ra: Hashable, rb: Hashable) -> None:
        if len(self._members[ra]) < len(self._members[rb]):
            ra, rb = rb, ra
        self._parent[rb] = ra
        self._members[ra].extend(self._members.pop(rb))

    def roots(self) -> list[Hashable]:
        return list(self._members)


def _check_thresholds(link_threshold: float, review_threshold: float) -> None:
    if not 0.0 < review_threshold <= link_threshold <= 1.0:
        raise ValueError("need 0 < review_threshold <= link_threshold <= 1")


def _empty_review() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "record_key_l": pd.Series([], dtype="int64"),
            "record_key_r": pd.Series([], dtype="int64"),
            "match_probability": pd.Series([], dtype="float64"),
            "match_weight": pd.Series([], dtype="float64"),
            "reason": pd.Series([], dtype="object"),
        }
    )


def _review_frame(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p[_REVIEW_COLUMNS] for p in parts if len(p)]
    if not parts:
        return _empty_review()
    review = pd.concat(parts, ignore_index=True)
    review = review.sort_values(["match_weight", "record_key_l", "record_key_r"], ascending=[False, True, True])
    return review.drop_duplicates(["record_key_l", "record_key_r"]).reset_index(drop=True)


# --------------------------------------------------------------------------------------------------
# batch


def decide(
    pairs_df: pd.DataFrame,
    *,
    link_threshold: float = LINK_THRESHOLD,
    review_threshold: float = REVIEW_THRESHOLD,
    records: pd.DataFrame | None = None,
) -> Decision:
    """Cluster records into children from scored pairs, with the precision guards of this module.

    ``pairs_df`` is the output of :func:`.scoring.score_within`. ``records`` (prepared features, as
    from :func:`.features.prepare_records`) is optional but recommended: with it, every record gets a
    cluster (also those in no pair) and the no-chaining check sees every pair of records in a
    would-be cluster; without it, only records in ``pairs_df`` are clustered and only scored pairs
    are checked.
    """
    _check_thresholds(link_threshold, review_threshold)
    pairs = pairs_df.reset_index(drop=True)
    flags = pair_conflicts(pairs)
    probability = pairs["match_probability"].to_numpy()
    scored_conflicts = {
        _key(a, b)
        for a, b in zip(pairs.loc[flags["conflict"], "record_key_l"], pairs.loc[flags["conflict"], "record_key_r"], strict=True)
    }

    linkable = pairs[(probability >= link_threshold) & ~flags["conflict"].to_numpy()]
    linkable = linkable.sort_values(["match_weight", "record_key_l", "record_key_r"], ascending=[False, True, True])
    keys_in_links = set(linkable["record_key_l"]) | set(linkable["record_key_r"])
    identities = _identities(records, keys_in_links) if records is not None else {}
    clusters = _Clusters(_ConflictOracle(identities, scored_conflicts))

    blocked: list[int] = []
    for position, a, b in zip(linkable.index, linkable["record_key_l"], linkable["record_key_r"], strict=True):
        ra, rb = clusters.find(a), clusters.find(b)
        if ra == rb:
            continue
        if clusters.compatible(ra, rb):
            clusters.union(ra, rb)
        else:
            blocked.append(position)

    all_keys = (
        records["record_key"].tolist()
        if records is not None
        else pd.unique(pd.concat([pairs["record_key_l"], pairs["record_key_r"]])).tolist()
    )
    cluster_of: dict[Hashable, Hashable] = {}
    for root in clusters.roots():
        members = clusters.members(root)
        label = min(members)
        for member in members:
            cluster_of[member] = label
    cluster_frame = pd.DataFrame({"record_key": all_keys})
    cluster_frame["cluster_key"] = [cluster_of.get(k, k) for k in all_keys]

    reviewable = flags["reviewable"].to_numpy()
    uncertain = pairs[(probability >= review_threshold) & (probability < link_threshold) & reviewable]
    conflicted = pairs[(probability >= link_threshold) & flags["conflict"].to_numpy() & reviewable]
    uncertain = uncertain.assign(reason="uncertain")
    conflicted = conflicted.assign(reason="conflict")
    chained = pairs.loc[blocked].assign(reason="would_chain")
    review = _review_frame([chained, conflicted, uncertain])
    same = [cluster_of.get(a, a) == cluster_of.get(b, b) for a, b in zip(review["record_key_l"], review["record_key_r"], strict=True)]
    review = review[~np.asarray(same, dtype=bool)].reset_index(drop=True)
    return Decision(clusters=cluster_frame, review=review)


# --------------------------------------------------------------------------------------------------
# incremental


def decide_incremental(
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
    """Place new records: each joins its best existing child, or forms a new child.

    ``against_pairs`` is :func:`.scoring.score_against` output (new on the left). ``existing_clusters``
    maps existing record keys to their child: a DataFrame with ``record_key`` and ``cluster_key``, or a
    Series indexed by record key. ``within_new_pairs`` (:func:`.scoring.score_within` on the new
    records) lets new records that are the same child move together; ``new_records`` and
    ``existing_records`` (prepared features) let the conflict check see every record of the child
    being joined, not only scored pairs. Without ``new_records``, only new records that appear in a
    pair get a row.
    """
    _check_thresholds(link_threshold, review_threshold)
    if isinstance(existing_clusters, pd.Series):
        cluster_map: dict[Hashable, Hashable] = existing_clusters.to_dict()
    else:
        cluster_map = dict(zip(existing_clusters["record_key"], existing_clusters["cluster_key"], strict=True))
    members_of: dict[Hashable, list[Hashable]] = {}
    for record_key, cluster_key in cluster_map.items():
        members_of.setdefault(cluster_key, []).append(record_key)

    # 1. New records that are the same child as each other move together.
    within = within_new_pairs if within_new_pairs is not None else against_pairs.iloc[0:0]
    batch = decide(within, link_threshold=link_threshold, review_threshold=review_threshold, records=new_records)
    group_of = dict(zip(batch.clusters["record_key"], batch.clusters["cluster_key"], strict=True))
    new_keys = (
        new_records["record_key"].tolist()
        if new_records is not None
        else pd.unique(pd.concat([against_pairs["record_key_l"], within["record_key_l"], within["record_key_r"]])).tolist()
    )
    for key in new_keys:
        group_of.setdefault(key, key)
    groups: dict[Hashable, list[Hashable]] = {}
    for key in new_keys:
        groups.setdefault(group_of[key], []).append(key)

    # 2. Candidate existing children per group.
    pairs = against_pairs.reset_index(drop=True)
    flags = pair_conflicts(pairs)
    scored_conflicts = {
        _key(a, b)
        for a, b in zip(pairs.loc[flags["conflict"], "record_key_l"], pairs.loc[flags["conflict"], "record_key_r"], strict=True)
    }
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

    identities: dict[Hashable, _Identity] = {}
    if len(linkable):
        touched_clusters = set(linkable["cluster_key"])
        existing_keys = [k for c in touched_clusters for k in members_of.get(c, [])]
        touched_groups = set(linkable["group_key"])
        new_group_keys = [k for g in touched_groups for k in groups.get(g, [g])]
        if existing_records is not None:
            identities.update(_identities(existing_records, existing_keys))
        if new_records is not None:
            identities.update(_identities(new_records, new_group_keys))
    conflicts = _ConflictOracle(identities, scored_conflicts)

    assigned: dict[Hashable, tuple[Hashable, pd.Series]] = {}
    extra_review: list[pd.DataFrame] = []
    for group_key, candidates in linkable.groupby("group_key", sort=True):
        best = candidates.sort_values(["match_weight", "record_key_r"], ascending=[False, True])
        per_cluster = best.drop_duplicates("cluster_key")
        eligible = []
        for _, row in per_cluster.iterrows():
            members = members_of.get(row["cluster_key"], [row["record_key_r"]])
            clash = any(conflicts(n, e) for n in groups[group_key] for e in members)
            if clash:
                extra_review.append(row.to_frame().T.assign(reason="would_chain"))
            else:
                eligible.append(row)
        if not eligible:
            continue
        if len(eligible) > 1 and eligible[0]["match_weight"] - eligible[1]["match_weight"] < margin_bits:
            extra_review.extend(r.to_frame().T.assign(reason="ambiguous") for r in eligible[:2])
            continue
        assigned[group_key] = (eligible[0]["cluster_key"], eligible[0])

    # 3. Assignments.
    best_pair_per_record = (
        pairs.sort_values(["match_weight", "record_key_r"], ascending=[False, True]).drop_duplicates("record_key_l")
    )
    best_by_record = {
        (row.record_key_l, row.cluster_key): (row.record_key_r, row.match_probability)
        for row in best_pair_per_record.itertuples()
    }
    rows = []
    for key in new_keys:
        group_key = group_of[key]
        if group_key in assigned:
            cluster_key, deciding = assigned[group_key]
            matched, probability_of = best_by_record.get(
                (key, cluster_key), (deciding["record_key_r"], deciding["match_probability"])
            )
            rows.append((key, cluster_key, None, matched, float(probability_of), "existing"))
        else:
            rows.append((key, None, group_key, None, None, "new"))
    assignments = pd.DataFrame(
        rows,
        columns=["record_key", "cluster_key", "new_cluster_key", "matched_record_key", "match_probability", "outcome"],
    )

    # 4. Review: new x existing pairs worth a look, minus those the assignment has settled.
    settled_cluster = {g: c for g, (c, _) in assigned.items()}
    uncertain = pairs[(probability >= review_threshold) & (probability < link_threshold) & pairs["reviewable"]]
    conflicted = pairs[(probability >= link_threshold) & pairs["conflict"] & pairs["reviewable"]]
    candidates = pd.concat(
        [p for p in (*extra_review, conflicted.assign(reason="conflict"), uncertain.assign(reason="uncertain")) if len(p)]
        or [pairs.iloc[0:0].assign(reason=pd.Series([], dtype="object"))],
        ignore_index=True,
    )
    settled = [
        settled_cluster.get(g) is not None and settled_cluster.get(g) == c
        for g, c in zip(candidates["group_key"], candidates["cluster_key"], strict=True)
    ]
    candidates = candidates[~np.asarray(settled, dtype=bool)]
    for column in ("record_key_l", "record_key_r"):
        candidates[column] = candidates[column].astype("int64")
    for column in ("match_probability", "match_weight"):
        candidates[column] = candidates[column].astype("float64")
    review = _review_frame([batch.review, candidates])
    return IncrementalDecision(assignments=assignments, review=review)
