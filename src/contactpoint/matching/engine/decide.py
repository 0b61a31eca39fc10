"""From scored pairs to decisions: which records are the same child, and which pairs a person reviews.

Linking two different children is a safeguarding incident; missing a link costs less (the record
shows up as a separate child and a reviewer can merge it). So the rules here trade recall for
precision:

* **Thresholds.** Only a pair with ``match_probability >= link_threshold`` can join two records
  automatically. Pairs from ``review_threshold`` up to the link threshold go to human review.
* **Conflicts veto links.** Two records *conflict* when any of these holds:

  - their forenames are different: not equal, not a nickname or variant of each other, not similar
    in spelling (Jaro-Winkler >= 0.9 or one typing slip) or sound, not one of the other's given names;
  - their dates of birth differ by more than a slip: not equal, not day/month transposed, not two of
    year/month/day equal, not within 45 days (siblings other than twins are born months apart);
  - their sexes differ and their forenames are not identical (boy/girl twins ZAIN and ZAINAB);
  - both have NHS numbers and they differ, or both have permanent UPNs and they differ.

  Twins and siblings share surname, address and often date of birth, so any model that multiplies
  field evidence as if independent scores them highly; a conflict keeps them apart whatever the score.
* **Review only where a person can help.** A conflicting or uncertain pair is reviewed unless the
  identifiers say two children (different NHS numbers / permanent UPNs), or the forenames are plainly
  different with no NHS number or UPN agreeing: that is the pattern of twins, who would otherwise
  fill the queue.
* **No chaining.** Clusters grow greedily from the strongest link down, and two clusters merge only if
  no record of one conflicts with any record of the other; otherwise A~B and B~C could put twins A
  and C in one record through an ambiguous B. A refused link is reviewed.
* **Incremental loads** assign each new record (or group of new records that link to each other) to
  the one existing child it links to best, only if no record of that child conflicts with it and no
  other existing child comes within :data:`AMBIGUITY_MARGIN_BITS`; two existing children are never
  merged automatically.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import jellyfish
import numpy as np
import pandas as pd
import pyarrow as pa

from .model import level_gamma

#: Automatic link at or above this probability. The default prior is national-scale (1e-6), so
#: this needs a total match weight of about 23 bits: e.g. forename (exact or a known nickname),
#: surname and date of birth all agreeing, or an NHS number plus forename and date of birth. On the
#: synthetic benchmark (benchmarks/matching_engine_quality.py, 20,000 children, ~54,000 records) the
#: conflict rules, not the threshold, are what hold precision at 1.0: from 0.5 to 0.9999 precision
#: does not move while recall falls from 0.981 to 0.946 (F1 0.991 to 0.972). 0.9 keeps most of the
#: recall with margin; on a denser million-record population (one city, many shared names) it still
#: gives precision 0.9999.
LINK_THRESHOLD = 0.9

#: Human review from this probability up to the link threshold; below it a pair is left alone. On
#: the benchmark about three in four pairs between 0.5 and 0.9 are true matches and few below 0.5
#: are, so 0.5 spends reviewers' time where it can change an outcome.
REVIEW_THRESHOLD = 0.5

#: In an incremental load, how much better (in bits of match weight; 5 bits is a likelihood ratio of
#: 32) the best existing child must be than the runner-up to be chosen automatically.
AMBIGUITY_MARGIN_BITS = 5.0

_FORENAME_EXACT = level_gamma("forename", "Exact match")
_FORENAME_DIFFERENT = level_gamma("forename", "Different forename")
_FORENAME_TWO_SLIPS = level_gamma("forename", "Two typing slips apart (Damerau-Levenshtein = 2)")
_DOB_DIFFERENT = (level_gamma("dob", "Within a year"), level_gamma("dob", "Different date of birth"))
_SEX_DIFFERENT = level_gamma("sex", "Different sex")
_NHS_SAME = level_gamma("nhs_number", "Same NHS number")
_NHS_DIFFERENT = level_gamma("nhs_number", "Different NHS number")
_UPN_SAME = level_gamma("upn", "Same UPN")
_UPN_DIFFERENT = level_gamma("upn", "Different permanent UPNs")
_DOB_SLIP_DAYS = 45

_REVIEW_COLUMNS = ["record_key_l", "record_key_r", "match_probability", "match_weight", "reason"]
_PAIR_ORDER = ["match_weight", "record_key_l", "record_key_r"]


@dataclass(frozen=True)
class Decision:
    """Result of :func:`decide`.

    ``clusters``: one row per record, ``record_key`` and ``cluster_key`` (the smallest record key in
    the cluster, so the same input gives the same keys). ``review``: pairs for a person to decide,
    with ``record_key_l``, ``record_key_r``, ``match_probability``, ``match_weight`` and ``reason``:
    ``"uncertain"`` (between the thresholds), ``"conflict"`` (scored high but the records conflict),
    ``"would_chain"`` (linking would put conflicting records in one cluster) or, in incremental
    loads, ``"ambiguous"`` (links about equally well to two existing children).
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
    ``review``: pairs for a person, as in :class:`Decision`.
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
    given_count: int
    dm: str | None
    dm_alt: str | None
    dob: tuple[int, int, int] | None
    dob_days: int | None
    sex: str | None
    nhs: str | None
    upn: str | None


# Record keys are ints (prepare_records enforces it); cluster keys are whatever the caller uses.
_IDENTITY_COLUMNS = [
    "forename", "forename_canonicals", "given_name_tokens", "given_name_count", "forename_dm",
    "forename_dm_alt", "dob_year", "dob_month", "dob_day", "dob_days", "sex", "nhs_number", "upn",
]


class _IdentityStore:
    """Features of records by key, built on first use: most conflict questions are answered by a
    scored pair, and only the few others need a record's features (a million Python objects would
    cost more than the whole decision)."""

    def __init__(self, records: pd.DataFrame):
        self._position = pd.Index(records["record_key"].to_numpy())
        table = pa.Table.from_pandas(records.loc[:, _IDENTITY_COLUMNS], preserve_index=False)
        self._columns = [table.column(name) for name in _IDENTITY_COLUMNS]
        self._cache: dict[int, _Identity | None] = {}

    def get(self, key: int) -> _Identity | None:
        if key in self._cache:
            return self._cache[key]
        identity: _Identity | None = None
        if key in self._position:
            row = int(self._position.get_loc(key))
            values = [column[row].as_py() for column in self._columns]
            forename, canonicals, tokens, count, dm, dm_alt, year, month, day, days, sex, nhs, upn = values
            identity = _Identity(
                forename=forename,
                canonicals=frozenset(canonicals or ()),
                tokens=frozenset(tokens or ()),
                given_count=int(count or 0),
                dm=dm,
                dm_alt=dm_alt,
                dob=None if year is None else (int(year), int(month), int(day)),
                dob_days=None if days is None else int(days),
                sex=sex,
                nhs=nhs,
                upn=upn,
            )
        self._cache[key] = identity
        return identity


def _is_given_name_swap(a: _Identity, b: _Identity) -> bool:
    """The model's "another of the other record's given names" level."""

    def one_way(x: _Identity, y: _Identity) -> bool:
        return x.forename in y.tokens and (x.given_count == 1 or y.forename in x.tokens)

    return one_way(a, b) or one_way(b, a)


def _forenames_agree(a: _Identity, b: _Identity) -> bool:
    """True unless the forenames are at the model's "two slips" or "different" level."""
    if a.forename is None or b.forename is None or a.forename == b.forename:
        return True
    if a.canonicals & b.canonicals:
        return True
    if jellyfish.jaro_winkler_similarity(a.forename, b.forename) >= 0.9:
        return True
    if jellyfish.damerau_levenshtein_distance(a.forename, b.forename) <= 1:
        return True
    if _is_given_name_swap(a, b):
        return True
    if a.dm and (a.dm == b.dm or a.dm == b.dm_alt):
        return True
    return bool(a.dm_alt and a.dm_alt == b.dm)


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


def _permanent_upn(upn: str | None) -> bool:
    return upn is not None and upn[-1].isdigit()


def _records_conflict(a: _Identity, b: _Identity) -> bool:
    if a.nhs is not None and b.nhs is not None and a.nhs != b.nhs:
        return True
    if _permanent_upn(a.upn) and _permanent_upn(b.upn) and a.upn != b.upn:
        return True
    if not _forenames_agree(a, b) or _dob_conflict(a, b):
        return True
    sexes_differ = a.sex is not None and b.sex is not None and a.sex != b.sex
    return sexes_differ and a.forename != b.forename


def pair_conflicts(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per scored pair, from its comparison levels (``gamma_*`` columns):

    * ``conflict``: the records conflict (see the module notes), so the pair never links by itself;
    * ``identifiers_differ``: different NHS numbers, or different permanent UPNs;
    * ``reviewable``: worth a person's time if the score is high enough: not when identifiers
      differ, and not for plainly different forenames unless an NHS number or UPN agrees.
    """
    forename = pairs["gamma_forename"].to_numpy()
    nhs = pairs["gamma_nhs_number"].to_numpy()
    upn = pairs["gamma_upn"].to_numpy()
    identifiers_differ = (nhs == _NHS_DIFFERENT) | (upn == _UPN_DIFFERENT)
    forename_different = forename == _FORENAME_DIFFERENT
    conflict = (
        identifiers_differ
        | forename_different
        | (forename == _FORENAME_TWO_SLIPS)
        | np.isin(pairs["gamma_dob"].to_numpy(), _DOB_DIFFERENT)
        | ((pairs["gamma_sex"].to_numpy() == _SEX_DIFFERENT) & (forename != _FORENAME_EXACT))
    )
    identifier_agrees = (nhs == _NHS_SAME) | (upn == _UPN_SAME)
    reviewable = ~identifiers_differ & (~forename_different | identifier_agrees)
    return pd.DataFrame(
        {"conflict": conflict, "identifiers_differ": identifiers_differ, "reviewable": reviewable},
        index=pairs.index,
    )


def _key(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a <= b else (b, a)


class _ConflictOracle:
    """Do two records conflict? By their scored pair if there is one, else by their features."""

    def __init__(self, scored: dict[tuple[int, int], bool], stores: list[_IdentityStore]):
        self._scored = scored
        self._stores = stores

    def _identity(self, key: int) -> _Identity | None:
        for store in self._stores:
            identity = store.get(key)
            if identity is not None:
                return identity
        return None

    def __call__(self, a: int, b: int) -> bool:
        known = self._scored.get(_key(a, b))
        if known is not None:
            return known
        ia, ib = self._identity(a), self._identity(b)
        return ia is not None and ib is not None and _records_conflict(ia, ib)


def _scored(pairs: pd.DataFrame, conflict: pd.Series) -> dict[tuple[int, int], bool]:
    """``{(smaller key, larger key): conflict}`` for every scored pair."""
    left = pairs["record_key_l"].to_numpy()
    right = pairs["record_key_r"].to_numpy()
    low, high = np.minimum(left, right).tolist(), np.maximum(left, right).tolist()
    return dict(zip(zip(low, high, strict=True), conflict.to_numpy().tolist(), strict=True))


class _Clusters:
    """Union-find over record keys that refuses merges bringing conflicting records together."""

    def __init__(self, conflicts: Callable[[int, int], bool]):
        self._parent: dict[int, int] = {}
        self._members: dict[int, list[int]] = {}
        self._conflicts = conflicts

    def find(self, key: int) -> int:
        if key not in self._parent:
            self._parent[key] = key
            self._members[key] = [key]
            return key
        root = key
        while self._parent[root] != root:
            root = self._parent[root]
        while self._parent[key] != root:  # path compression
            self._parent[key], key = root, self._parent[key]
        return root

    def compatible(self, ra: int, rb: int) -> bool:
        return not any(self._conflicts(a, b) for a in self._members[ra] for b in self._members[rb])

    def union(self, ra: int, rb: int) -> None:
        if len(self._members[ra]) < len(self._members[rb]):
            ra, rb = rb, ra
        self._parent[rb] = ra
        self._members[ra].extend(self._members.pop(rb))

    def labels(self) -> dict[int, int]:
        """Each clustered record's cluster key: the smallest record key in its cluster."""
        result: dict[int, int] = {}
        for members in self._members.values():
            label = min(members)
            for member in members:
                result[member] = label
        return result


def _check_thresholds(link_threshold: float, review_threshold: float) -> None:
    if not 0.0 < review_threshold <= link_threshold <= 1.0:
        raise ValueError("need 0 < review_threshold <= link_threshold <= 1")


def _review_frame(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """One row per pair (first reason wins), strongest first, with the review columns and dtypes."""
    frames = [p[_REVIEW_COLUMNS] for p in parts if len(p)]
    if not frames:
        return pd.DataFrame(
            {
                "record_key_l": pd.Series([], dtype="int64"),
                "record_key_r": pd.Series([], dtype="int64"),
                "match_probability": pd.Series([], dtype="float64"),
                "match_weight": pd.Series([], dtype="float64"),
                "reason": pd.Series([], dtype="object"),
            }
        )
    review = pd.concat(frames, ignore_index=True).drop_duplicates(["record_key_l", "record_key_r"])
    review = review.astype({"record_key_l": "int64", "record_key_r": "int64",
                            "match_probability": "float64", "match_weight": "float64"})
    return review.sort_values(_PAIR_ORDER, ascending=[False, True, True]).reset_index(drop=True)


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

    linkable = pairs[(probability >= link_threshold) & ~flags["conflict"].to_numpy()]
    stores = [_IdentityStore(records)] if records is not None else []
    conflicts = _ConflictOracle(_scored(pairs, flags["conflict"]), stores)

    # Strongest first, so that when a link is refused for chaining, the records already together
    # are the ones with the best evidence.
    linkable = linkable.sort_values(_PAIR_ORDER, ascending=[False, True, True])
    clusters = _Clusters(conflicts)
    blocked: list[Any] = []
    for label, a, b in zip(linkable.index, linkable["record_key_l"], linkable["record_key_r"], strict=True):
        ra, rb = clusters.find(a), clusters.find(b)
        if ra == rb:
            continue
        if clusters.compatible(ra, rb):
            clusters.union(ra, rb)
        else:
            blocked.append(label)

    if records is not None:
        all_keys = records["record_key"].tolist()
    else:
        all_keys = pd.unique(pd.concat([pairs["record_key_l"], pairs["record_key_r"]])).tolist()
    cluster_of = clusters.labels()
    cluster_frame = pd.DataFrame({"record_key": all_keys, "cluster_key": [cluster_of.get(k, k) for k in all_keys]})

    reviewable = flags["reviewable"].to_numpy()
    in_band = (probability >= review_threshold) & (probability < link_threshold) & reviewable
    conflicted = (probability >= link_threshold) & flags["conflict"].to_numpy() & reviewable
    review = _review_frame(
        [
            pairs.loc[blocked].assign(reason="would_chain"),
            pairs[conflicted].assign(reason="conflict"),
            pairs[in_band].assign(reason="uncertain"),
        ]
    )
    settled = [
        cluster_of.get(a, a) == cluster_of.get(b, b)
        for a, b in zip(review["record_key_l"], review["record_key_r"], strict=True)
    ]
    review = review[~np.asarray(settled, dtype=bool)].reset_index(drop=True)
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

    ``against_pairs`` is :func:`.scoring.score_against` output (new records on the left).
    ``existing_clusters`` maps existing record keys to their child: a DataFrame with ``record_key``
    and ``cluster_key``, or a Series indexed by record key. ``within_new_pairs``
    (:func:`.scoring.score_within` on the new records) lets new records that are the same child move
    together. ``new_records`` and ``existing_records`` (prepared features) let the conflict check see
    every record of the child being joined, not only scored pairs; without ``new_records``, only new
    records that appear in some pair get a row.
    """
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

    assigned, refused = _choose_existing_children(linkable, groups, members_of, conflicts, margin_bits)
    refused_frames = [
        pairs.loc[labels].assign(reason=reason) for reason, labels in refused.items() if labels
    ]

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
        [*refused_frames, pairs[conflicted].assign(reason="conflict"), pairs[in_band].assign(reason="uncertain")]
    ) if (refused_frames or conflicted.any() or in_band.any()) else pairs.iloc[0:0].assign(reason="")
    settled = [
        group_key in assigned and assigned[group_key][0] == cluster_key
        for group_key, cluster_key in zip(candidates["group_key"], candidates["cluster_key"], strict=True)
    ]
    review = _review_frame([batch.review, candidates[~np.asarray(settled, dtype=bool)]])
    return IncrementalDecision(assignments=assignments, review=review)


def _choose_existing_children(
    linkable: pd.DataFrame,
    groups: dict[int, list[int]],
    members_of: dict[Hashable, list[int]],
    conflicts: Callable[[int, int], bool],
    margin_bits: float,
) -> tuple[dict[Hashable, tuple[Hashable, int, float]], dict[str, list[Any]]]:
    """For each group of new records, the existing child it joins, and the pairs refused on the way.

    ``linkable`` holds the non-conflicting pairs at or above the link threshold, with ``group_key``
    and ``cluster_key``. For each group, every candidate child is represented by its strongest pair
    (ties: the smaller existing record key, then the earlier row); a child with any record that
    conflicts with any record of the group is refused (``would_chain``); of the rest, the best is
    chosen unless the runner-up is within ``margin_bits`` (then both pairs are ``ambiguous``).

    Returns ``{group_key: (cluster_key, deciding existing record, its probability)}`` and
    ``{"would_chain": [row labels], "ambiguous": [row labels]}``. One sort for all groups, then a
    plain loop over arrays: groups are independent, so no group's outcome depends on another's.
    """
    assigned: dict[Hashable, tuple[Hashable, int, float]] = {}
    refused: dict[str, list[Any]] = {"would_chain": [], "ambiguous": []}
    ranked = linkable[linkable["group_key"].notna()]
    if not len(ranked):
        return assigned, refused
    ranked = ranked.assign(_label=np.arange(len(ranked)))
    ranked = ranked.sort_values(
        ["group_key", "match_weight", "record_key_r", "_label"], ascending=[True, False, True, True], kind="stable"
    ).drop_duplicates(["group_key", "cluster_key"])
    group_keys = ranked["group_key"].tolist()
    cluster_keys = ranked["cluster_key"].tolist()
    existing_keys = ranked["record_key_r"].tolist()
    weights = ranked["match_weight"].tolist()
    probabilities = ranked["match_probability"].tolist()
    labels = ranked.index.tolist()

    start, total = 0, len(group_keys)
    while start < total:
        group_key = group_keys[start]
        end = start
        while end < total and group_keys[end] == group_key:
            end += 1
        members_new = groups[group_key]
        eligible: list[int] = []  # positions in ranked, strongest first
        for at in range(start, end):
            members = members_of.get(cluster_keys[at], [existing_keys[at]])
            if any(conflicts(n, e) for n in members_new for e in members):
                refused["would_chain"].append(labels[at])
            else:
                eligible.append(at)
        start = end
        if not eligible:
            continue
        best = eligible[0]
        if len(eligible) > 1 and weights[best] - weights[eligible[1]] < margin_bits:
            refused["ambiguous"].extend(labels[at] for at in eligible[:2])
            continue
        assigned[group_key] = (cluster_keys[best], existing_keys[best], float(probabilities[best]))
    return assigned, refused
