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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from contactpoint.core.identifiers import new_contactpoint_id
from contactpoint.directory.identity import read_source_identities
from contactpoint.feeds.models import FeedBatch
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


def _candidate_records(new_record_ids: list[int]) -> list[dict[str, Any]]:
    """Existing, linked, current records sharing a blocking key with any new record (SQL blocking).

    Keys: date of birth (also day/month transposed), NHS number, UPN, postcode — each an equi-join.
    Only pairs meeting the model's blocking rules are scored, but these keys alone are not selective:
    on a dense population most of the directory comes back (docs/benchmarks.md, Matching).
    """
    with connection.cursor() as cursor:
        # A temporary table (not an array) of the new records: `NOT (id = ANY(array))` would be
        # evaluated per candidate row against every new id, quadratic on a large feed.
        cursor.execute("DROP TABLE IF EXISTS match_new")
        cursor.execute("CREATE TEMP TABLE match_new (id bigint PRIMARY KEY) ON COMMIT DROP")
        cursor.execute("INSERT INTO match_new SELECT unnest(%s::bigint[])", [new_record_ids])
        cursor.execute("ANALYZE match_new")
        # The new records' keys, materialised and analysed: the planner must know how many there are
        # (and that most are distinct) to choose hash joins; rows inserted earlier in this same
        # transaction are invisible to the table's statistics.
        cursor.execute("DROP TABLE IF EXISTS match_keys")
        cursor.execute(
            """
            CREATE TEMP TABLE match_keys ON COMMIT DROP AS
            SELECT r.date_of_birth, NULLIF(r.nhs_number, '') AS nhs_number, NULLIF(r.upn, '') AS upn,
                   NULLIF(r.postcode, '') AS postcode,
                   CASE WHEN extract(day FROM r.date_of_birth) <= 12
                             AND extract(day FROM r.date_of_birth) <> extract(month FROM r.date_of_birth)
                        THEN make_date(extract(year FROM r.date_of_birth)::int,
                                       extract(day FROM r.date_of_birth)::int,
                                       extract(month FROM r.date_of_birth)::int)
                   END AS transposed
            FROM feeds_sourcerecord r JOIN match_new m ON m.id = r.id
            """
        )
        cursor.execute("ANALYZE match_keys")
        cursor.execute(
            """
            WITH candidates AS (
                SELECT e.id FROM (SELECT DISTINCT date_of_birth FROM match_keys) n
                    JOIN feeds_sourcerecord e ON e.date_of_birth = n.date_of_birth
                UNION SELECT e.id FROM (SELECT DISTINCT transposed FROM match_keys) n
                    JOIN feeds_sourcerecord e ON e.date_of_birth = n.transposed
                UNION SELECT e.id FROM (SELECT DISTINCT nhs_number FROM match_keys) n
                    JOIN feeds_sourcerecord e ON e.nhs_number = n.nhs_number
                UNION SELECT e.id FROM (SELECT DISTINCT upn FROM match_keys) n
                    JOIN feeds_sourcerecord e ON e.upn = n.upn
                UNION SELECT e.id FROM (SELECT DISTINCT postcode FROM match_keys) n
                    JOIN feeds_sourcerecord e ON e.postcode = n.postcode
            )
            SELECT c.id FROM candidates c JOIN feeds_sourcerecord e ON e.id = c.id
            WHERE e.retired_at IS NULL AND e.child_id IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM match_new m WHERE m.id = c.id)
            """
        )
        ids = [row[0] for row in cursor.fetchall()]
    return read_source_identities(record_ids=ids) if ids else []


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
    existing_rows = _candidate_records(record_ids)
    child_of = {row["record_key"]: row["child_id"] for row in existing_rows}
    say(f"scoring {len(new_rows)} new records against {len(existing_rows)} candidates")
    new_features = engine.prepare_records(pd.DataFrame(new_rows))
    within = engine.score_within(new_features, model.settings) if len(new_rows) > 1 else None
    never = _never_link_pairs(record_ids)
    within = _without_never_links(within, never)

    # (record, child id or None, method, score, new-child key) for every new record
    assignments: list[tuple[int, int | None, str, float | None, str]] = []
    if existing_rows:
        existing_features = engine.prepare_records(pd.DataFrame(existing_rows))
        against = _without_never_links(engine.score_against(new_features, existing_features, model.settings), never)
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
                "given_names",
                "family_name",
                "sex",
                "address_line_1",
                "address_line_2",
                "town",
                "postcode",
                "nhs_number",
                "upn",
                "retention_condition",
                "is_shielded",
                "created_at",
                "updated_at",
            ],
            ((ident, "active", "", "", "U", "", "", "", "", "", "", "", False, now, now) for ident in ids.values()),
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


def assign_review_areas() -> None:
    """Give open review items without an area the local authority of their records' children.

    Items are created before the golden records of brand-new children exist, so their area is filled
    in once the golden records are built (the directory team of that area reviews them).
    """
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE matching_reviewitem i SET local_authority_id = coalesce(cc.local_authority_id, rc.local_authority_id)
            FROM feeds_sourcerecord cand
            JOIN directory_child cc ON cc.id = cand.child_id,
                 feeds_sourcerecord rec
            JOIN directory_child rc ON rc.id = rec.child_id
            WHERE i.local_authority_id IS NULL AND i.status = 'open'
              AND cand.id = i.candidate_id AND rec.id = i.record_id
            """
        )
