"""Matching new source records into children: link automatically, send to review, or create a child.

The probabilistic scoring is Splink's (``contactpoint.matching.engine``); this module decides what the
scores mean for the directory and writes the result set-based:

* New records that link strongly (``LINK_THRESHOLD``) to each other form one group, and each group joins
  the one existing child it links to best — unless a record of that child conflicts with it, or
  another existing child is nearly as good (then a person decides). Two existing children are never
  merged automatically. (``engine.decide_incremental``; the rules are in its module docstring.)
* A record left without a child gets a child of its own (so it can be found at once); if it had an
  uncertain pair (``REVIEW_THRESHOLD`` to ``LINK_THRESHOLD``) a review item pairs it with that
  candidate, and accepting the review merges it into the candidate's child.
* Pairs a person said are different children (``NeverLink``) are never linked again, and records whose
  link a person decided (``link_pinned``) are never moved by a feed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from contactpoint.core.identifiers import new_contactpoint_id
from contactpoint.directory.identity import read_source_identities
from contactpoint.feeds.models import FeedBatch
from contactpoint.matching import blocking
from contactpoint.matching.engine import LINK_THRESHOLD as ENGINE_LINK_THRESHOLD
from contactpoint.matching.engine import REVIEW_THRESHOLD as ENGINE_REVIEW_THRESHOLD
from contactpoint.matching.models import MatchModel

# The engine's thresholds (documented and justified in contactpoint/matching/engine/decide.py and
# docs/matching.md): one source of truth for what a probability means.
LINK_THRESHOLD = ENGINE_LINK_THRESHOLD
REVIEW_THRESHOLD = ENGINE_REVIEW_THRESHOLD


@dataclass
class MatchOutcome:
    new_children: int = 0
    linked_to_existing: int = 0
    sent_to_review: int = 0
    affected_children: list[int] = field(default_factory=list)


def active_model() -> MatchModel:
    """The model in use; on an empty directory, the built-in default (works with no training)."""
    model = MatchModel.objects.filter(is_active=True).first()
    if model is None:
        from contactpoint.matching import engine

        settings_json = engine.default_model()
        model, _ = MatchModel.objects.get_or_create(
            version=engine.model_version(settings_json),
            defaults={"settings": settings_json, "is_active": True, "note": "built-in default"},
        )
        if not model.is_active:
            model.is_active = True
            model.save(update_fields=["is_active"])
    return model


def _never_link_pairs(record_ids: Iterable[int]) -> set[frozenset[int]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT record_a_id, record_b_id FROM matching_neverlink WHERE is_active "
            "AND (record_a_id = ANY(%s) OR record_b_id = ANY(%s))",
            [list(record_ids), list(record_ids)],
        )
        return {frozenset(row) for row in cursor.fetchall()}


def _without_never_links(pairs: Any, never: set[frozenset[int]]) -> Any:
    """Drop pairs a person has said are different children."""
    if pairs is None or not never or not len(pairs):
        return pairs
    keep = [
        frozenset((int(a), int(b))) not in never
        for a, b in zip(pairs["record_key_l"], pairs["record_key_r"], strict=True)
    ]
    return pairs[keep].reset_index(drop=True)


def _pair_lookup(frames: list[Any], wanted: set[frozenset[int]]) -> dict[frozenset[int], dict[str, Any]]:
    """The scored rows (with per-field comparison levels) of the pairs going to review, for explanations."""
    lookup: dict[frozenset[int], dict[str, Any]] = {}
    wanted_keys = {k for pair in wanted for k in pair}
    for frame in frames:
        subset = frame[frame["record_key_l"].isin(wanted_keys) & frame["record_key_r"].isin(wanted_keys)]
        for row in subset.to_dict("records"):
            key = frozenset((int(row["record_key_l"]), int(row["record_key_r"])))
            if key in wanted:
                lookup[key] = row
    return lookup


def _copy_rows(table: str, columns: list[str], rows: Iterable[tuple[Any, ...]]) -> None:
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def match_records(
    record_ids: list[int], *, batch: FeedBatch | None, progress: Callable[[str], None] | None = None
) -> MatchOutcome:
    """Link these (new, unlinked) source records to children. Must run inside the load's transaction."""
    outcome = MatchOutcome()
    if not record_ids:
        return outcome
    assert transaction.get_connection().in_atomic_block, "matching writes must be part of the load's transaction"
    import pandas as pd

    from contactpoint.matching import engine

    say = progress or (lambda message: None)
    model = active_model()
    new_rows = read_source_identities(record_ids=record_ids)
    new_features = engine.prepare_records(pd.DataFrame(new_rows))
    # A changed record being re-matched has keys from its old content: they must not find candidates
    # or count towards name frequencies.
    blocking.forget_keys(record_ids)
    new_keys = blocking.compute_keys(new_features)
    candidate_ids = blocking.candidate_record_ids(new_keys)
    existing_rows = read_source_identities(record_ids=candidate_ids) if candidate_ids else []
    child_of = {row["record_key"]: row["child_id"] for row in existing_rows}
    say(f"scoring {len(new_rows)} new records against {len(existing_rows)} candidates")
    existing_features = engine.prepare_records(pd.DataFrame(existing_rows)) if existing_rows else None
    frequencies = blocking.directory_term_frequencies(new_features, existing_features, model.settings)
    within = (
        engine.score_within(new_features, model.settings, term_frequencies=frequencies) if len(new_rows) > 1 else None
    )
    never = _never_link_pairs(record_ids)
    within = _without_never_links(within, never)

    # (record, child id or None, method, score, new-child key) for every new record
    assignments: list[tuple[int, int | None, str, float | None, str]] = []
    if existing_features is not None:
        against = _without_never_links(
            engine.score_against(new_features, existing_features, model.settings, term_frequencies=frequencies), never
        )
        decision = engine.decide_incremental(
            against,
            pd.Series(child_of),
            new_records=new_features,
            existing_records=existing_features,
            within_new_pairs=within,
            link_threshold=LINK_THRESHOLD,
            review_threshold=REVIEW_THRESHOLD,
        )
        for row in decision.assignments.itertuples(index=False):
            if row.outcome == "existing":
                assignments.append(
                    (int(row.record_key), int(row.cluster_key), "automatic", float(row.match_probability), "")
                )
            else:
                assignments.append((int(row.record_key), None, "new", None, f"c{row.new_cluster_key}"))
        review = decision.review
        scored = [frame for frame in (within, against) if frame is not None]
    else:
        if within is not None:
            batch_decision = engine.decide(
                within, records=new_features, link_threshold=LINK_THRESHOLD, review_threshold=REVIEW_THRESHOLD
            )
            cluster_of = dict(
                zip(batch_decision.clusters["record_key"], batch_decision.clusters["cluster_key"], strict=True)
            )
            review = batch_decision.review
        else:
            cluster_of, review = {}, None
        for rid in record_ids:
            assignments.append((rid, None, "new", None, f"c{cluster_of.get(rid, rid)}"))
        scored = [within] if within is not None else []

    new_child_keys = sorted({key for _, child, _, _, key in assignments if child is None})
    reviewed_records: set[int] = set()
    reviews: list[tuple[int, int, float, dict[str, Any] | None]] = []
    if review is not None and len(review):
        wanted = {
            frozenset((int(a), int(b))) for a, b in zip(review["record_key_l"], review["record_key_r"], strict=True)
        }
        pair_rows = _pair_lookup(scored, wanted)
        for row in review.itertuples(index=False):
            left, right = int(row.record_key_l), int(row.record_key_r)
            reviews.append((left, right, float(row.match_probability), pair_rows.get(frozenset((left, right)))))
            reviewed_records.add(left)
    for rid, child, _method, _score, _key in assignments:
        if child is not None:
            outcome.linked_to_existing += 1
        elif rid in reviewed_records:
            outcome.sent_to_review += 1
    keys_under_review = {key for rid, child, _m, _s, key in assignments if child is None and rid in reviewed_records}
    outcome.new_children = len(set(new_child_keys) - keys_under_review)

    version = model.version
    say(f"writing {len(new_child_keys)} new children and {len(assignments)} links")
    now = timezone.now()
    key_to_child: dict[str, int] = {}
    if new_child_keys:
        ids = {key: new_contactpoint_id() for key in new_child_keys}
        _copy_rows(
            "directory_child",
            [
                "contactpoint_id",
                "status",
                "sex",
                "retention_condition",
                "is_shielded",
                "created_at",
                "updated_at",
            ],
            # No identity yet: the golden-record rebuild that follows seals it under the child's new key.
            ((ident, "active", "U", "", False, now, now) for ident in ids.values()),
        )
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT contactpoint_id, id FROM directory_child WHERE contactpoint_id = ANY(%s)", [list(ids.values())]
            )
            by_ident = dict(cursor.fetchall())
        key_to_child = {key: by_ident[ident] for key, ident in ids.items()}

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS match_assign")
        cursor.execute(
            "CREATE TEMP TABLE match_assign (record_id bigint, child_id bigint, method text, score float8) "
            "ON COMMIT DROP"
        )
    _copy_rows(
        "match_assign",
        ["record_id", "child_id", "method", "score"],
        (
            (rid, child if child is not None else key_to_child[key], method, score)
            for rid, child, method, score, key in assignments
        ),
    )
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE feeds_sourcerecord r SET child_id = a.child_id, link_method = a.method, link_score = a.score,
                   link_model_version = %s
            FROM match_assign a WHERE r.id = a.record_id AND NOT r.link_pinned
            """,
            [version],
        )
        cursor.execute(
            """
            INSERT INTO matching_linkevent (source_record_id, from_child_id, to_child_id, method, score,
                                            model_version, batch_id, explanation, created_at)
            SELECT record_id, NULL, child_id, method, score, %s, %s, '[]'::jsonb, %s FROM match_assign
            """,
            [version, batch.id if batch else None, now],
        )
        cursor.execute("SELECT DISTINCT child_id FROM match_assign")
        outcome.affected_children = [row[0] for row in cursor.fetchall()]
        cursor.execute("DROP TABLE match_assign")

    if reviews:
        _write_reviews(reviews, version, now, model.settings)
    blocking.store_keys(new_keys)
    return outcome


def _write_reviews(
    reviews: list[tuple[int, int, float, dict[str, Any] | None]], version: str, now: Any, model_settings: dict[str, Any]
) -> None:
    from contactpoint.matching import engine

    rows = []
    for rid, candidate, prob, pair_row in reviews:
        explanation = _json_safe(engine.explain_pair(pair_row, model_settings)) if pair_row is not None else []
        rows.append((rid, candidate, prob, version, json.dumps(explanation), "open", now))
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS review_new")
        cursor.execute(
            "CREATE TEMP TABLE review_new (record_id bigint, candidate_id bigint, score float8, model_version text, "
            "explanation jsonb, status text, created_at timestamptz) ON COMMIT DROP"
        )
    _copy_rows(
        "review_new",
        ["record_id", "candidate_id", "score", "model_version", "explanation", "status", "created_at"],
        rows,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO matching_reviewitem (record_id, candidate_id, score, model_version, explanation, status,
                                             local_authority_id, created_at)
            SELECT n.record_id, n.candidate_id, n.score, n.model_version, n.explanation, n.status,
                   c.local_authority_id, n.created_at
            FROM review_new n
            JOIN feeds_sourcerecord cand ON cand.id = n.candidate_id
            LEFT JOIN directory_child c ON c.id = cand.child_id
            ON CONFLICT (record_id, candidate_id) DO NOTHING
            """
        )
        cursor.execute("DROP TABLE review_new")


def _json_safe(explanation: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """JSON has no infinity: a field that rules a pair out entirely is stored with a weight of None."""
    import math

    safe = []
    for entry in explanation:
        entry = dict(entry)
        for key, value in entry.items():
            if isinstance(value, float) and not math.isfinite(value):
                entry[key] = None
        safe.append(entry)
    return safe


def assign_review_areas(child_ids: Sequence[int] = ()) -> None:
    """Give open review items the local authority of their records' children.

    Items without an area: they are created before the golden records of brand-new children exist, so
    their area is filled in once the golden records are built (the directory team of that area reviews
    them). Items touching ``child_ids`` (children whose golden record was just rebuilt): a child who
    moved, or whose records moved, is reviewed by the directory team of its area now, not the old one.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE matching_reviewitem i SET local_authority_id = coalesce(cc.local_authority_id, rc.local_authority_id)
            FROM feeds_sourcerecord cand
            JOIN directory_child cc ON cc.id = cand.child_id,
                 feeds_sourcerecord rec
            JOIN directory_child rc ON rc.id = rec.child_id
            WHERE i.status = 'open' AND cand.id = i.candidate_id AND rec.id = i.record_id
              AND (i.local_authority_id IS NULL OR cand.child_id = ANY(%(children)s)
                   OR rec.child_id = ANY(%(children)s))
              AND i.local_authority_id IS DISTINCT FROM coalesce(cc.local_authority_id, rc.local_authority_id)
            """,
            {"children": list(child_ids)},
        )
