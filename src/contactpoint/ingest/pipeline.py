"""Loading one feed file end to end, as one transaction.

validate (feeds.format) → COPY the accepted rows into a staging table → classify them against what
the source sent before (new / changed / unchanged / to retire) → store → match new records
(contactpoint.matching) → rebuild the golden record of every affected child
(contactpoint.directory.identity) → sync the carers and involvements the records carry → audit.

Everything happens in one database transaction: a crash or kill mid-load leaves the directory as it was
before the batch, and the batch can simply be run again. Loading the same file twice changes nothing
(every row is "unchanged" the second time).
"""

from __future__ import annotations

import csv
import datetime
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from contactpoint.audit.services import record_event
from contactpoint.audit.tags import AuditAction
from contactpoint.core.keys import KeyStoreError
from contactpoint.core.sealing import content_hash_key
from contactpoint.core.statistics import analyze_if_grown
from contactpoint.directory import identity
from contactpoint.directory.identity import rebuild_golden_records
from contactpoint.feeds.format import FEED_FIELDS, INVOLVEMENT_FIELDS, ParsedFeed, file_sha256, parse_feed
from contactpoint.feeds.models import FeedBatch, RejectedRow, SourceSystem
from contactpoint.keystore import datakeys
from contactpoint.matching.blocking import blocking_hash_key, forget_keys, refresh_keys
from contactpoint.matching.services import assign_review_areas, match_records

Progress = Callable[[str], None]


class FeedLoadError(Exception):
    """A load that can't go ahead; the message says why, and nothing was changed."""


class FeedRefused(FeedLoadError):
    """A full-mode load that would retire too much of a source (a truncated file must not wipe it)."""


@dataclass
class LoadSummary:
    batch_id: int = 0
    source: str = ""
    mode: str = ""
    rows_read: int = 0
    accepted: int = 0
    rejected: int = 0
    new_records: int = 0
    changed: int = 0
    unchanged: int = 0
    retired: int = 0
    new_children: int = 0
    linked_to_existing: int = 0
    sent_to_review: int = 0
    report_path: str = ""
    timings: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_STAGING_COLUMNS = ["line_number", *FEED_FIELDS, "content_hash"]


def _copy_into_staging(parsed: ParsedFeed) -> None:
    """The accepted rows, in clear, in a TEMPORARY table: dropped at commit, never in the WAL or a backup."""
    with connection.cursor() as cursor:
        columns = ", ".join(f"{c} text" for c in FEED_FIELDS)
        cursor.execute("DROP TABLE IF EXISTS feed_staging")
        cursor.execute(f"CREATE TEMP TABLE feed_staging (line_number int, {columns}, content_hash text, "
                       "record_id bigint) ON COMMIT DROP")
        raw = cursor.cursor  # the psycopg cursor underneath Django's wrapper, for COPY
        with raw.copy(f"COPY feed_staging ({', '.join(_STAGING_COLUMNS)}) FROM STDIN") as copy:
            for row in parsed.rows:
                copy.write_row([row.line_number, *(row.values[c] for c in FEED_FIELDS), row.content_hash])
        cursor.execute("CREATE UNIQUE INDEX ON feed_staging (source_record_id)")
        # Only the join key: statistics on the thirty-odd other text columns cost more than the join.
        cursor.execute("ANALYZE feed_staging (source_record_id)")


_CARER_KEYS = {"carer_given_names": "given_names", "carer_family_name": "family_name",
               "carer_relationship": "relationship", "carer_phone": "phone", "carer_email": "email"}


def _sealed_fields(values: dict[str, str]) -> dict[str, Any]:
    """What a source record's blob holds, from a validated feed row (identity.RECORD_SEALED_FIELDS)."""
    carer = ({key: values[column] for column, key in _CARER_KEYS.items()}
             if values["carer_given_names"] or values["carer_family_name"] else {})
    involvement = {name: values[name] for name in INVOLVEMENT_FIELDS} if values["service_type"] else {}
    return {**{name: values[name] for name in identity.RECORD_SEALED_FIELDS if name in values},
            "carer": carer, "involvement": involvement}


# The clear columns of a source record, from the staging table.
_CLEAR_COLUMNS = "date_of_birth, sex, local_authority, retention_condition, content_hash"
_CLEAR_VALUES = ("NULLIF(st.date_of_birth, '')::date, st.sex, st.local_authority, st.retention_condition, "
                 "st.content_hash")


def _seal_into_staging(cursor: Any, parsed: ParsedFeed) -> dict[int, bytes]:
    """Give every new or changed row its record id and its sealed blob; return those records' keys.

    A new record's id is taken from the table's sequence first, so that its key (made here, in the key store)
    and its blob (bound to the id) exist before the row does: the row is written sealed, never in clear. A
    changed record keeps its id and its key. Unchanged rows are not sealed again.
    """
    cursor.execute("SELECT source_record_id, record_id FROM feed_classified WHERE kind = 'changed'")
    record_of = dict(cursor.fetchall())
    cursor.execute("SELECT source_record_id FROM feed_classified WHERE kind = 'new'")
    new = {row[0] for row in cursor.fetchall()}
    new_rows = [row for row in parsed.rows if row.values["source_record_id"] in new]  # in line order
    if new_rows:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('feeds_sourcerecord', 'id')) "
                       "FROM generate_series(1, %s)", [len(new_rows)])
        for row, (record_id,) in zip(new_rows, cursor.fetchall(), strict=True):
            record_of[row.values["source_record_id"]] = record_id
    keys = datakeys.create_record_keys(record_ids=[record_of[row.values["source_record_id"]] for row in new_rows])
    keys.update(datakeys.fetch_record_keys(
        record_ids=[i for srid, i in record_of.items() if srid not in new]))
    cursor.execute("DROP TABLE IF EXISTS feed_sealed")
    cursor.execute("CREATE TEMP TABLE feed_sealed (source_record_id text, record_id bigint, sealed bytea) "
                   "ON COMMIT DROP")
    with cursor.cursor.copy("COPY feed_sealed (source_record_id, record_id, sealed) FROM STDIN") as copy:
        for row in parsed.rows:
            srid = row.values["source_record_id"]
            record_id = record_of.get(srid)
            if record_id is not None:
                copy.write_row((srid, record_id,
                                identity.seal_record(keys[record_id], record_id, _sealed_fields(row.values))))
    cursor.execute("CREATE UNIQUE INDEX ON feed_sealed (source_record_id)")
    cursor.execute("ANALYZE feed_sealed")
    cursor.execute("UPDATE feed_staging st SET record_id = fs.record_id FROM feed_sealed fs "
                   "WHERE fs.source_record_id = st.source_record_id")
    cursor.execute("ANALYZE feed_staging (source_record_id, record_id)")  # joined on record_id from here on
    return keys


def _store_records(
    source: SourceSystem, batch: FeedBatch, mode: str, force: bool, parsed: ParsedFeed
) -> dict[str, Any]:
    """Insert new records, update changed ones, retire missing ones (full mode). Set-based, sealed."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS feed_classified")
        cursor.execute(
            """
            CREATE TEMP TABLE feed_classified ON COMMIT DROP AS
            SELECT st.source_record_id, r.id AS record_id,
                   CASE WHEN r.id IS NULL THEN 'new'
                        WHEN r.content_hash <> st.content_hash OR r.retired_at IS NOT NULL THEN 'changed'
                        ELSE 'unchanged' END AS kind
            FROM feed_staging st
            LEFT JOIN feeds_sourcerecord r ON r.source_id = %s AND r.source_record_id = st.source_record_id
            """,
            [source.id],
        )
        cursor.execute("SELECT kind, count(*) FROM feed_classified GROUP BY kind")
        counts = {kind: n for kind, n in cursor.fetchall()}

        to_retire: list[int] = []
        if mode == FeedBatch.Mode.FULL:
            cursor.execute(
                """
                SELECT r.id FROM feeds_sourcerecord r
                WHERE r.source_id = %s AND r.retired_at IS NULL
                  AND NOT EXISTS (SELECT 1 FROM feed_staging st WHERE st.source_record_id = r.source_record_id)
                """,
                [source.id],
            )
            to_retire = [row[0] for row in cursor.fetchall()]
            cursor.execute(
                "SELECT count(*) FROM feeds_sourcerecord WHERE source_id = %s AND retired_at IS NULL", [source.id]
            )
            active = cursor.fetchone()[0]
            limit = settings.CONTACTPOINT["FULL_FEED_MAX_RETIRE_SHARE"]
            if active and to_retire and len(to_retire) > limit * active and not force:
                raise FeedRefused(
                    f"refused: this full feed would retire {len(to_retire)} of the {active} records "
                    f"{source.code} currently has ({len(to_retire) / active:.0%}, more than the "
                    f"{limit:.0%} allowed); is the file truncated? Re-run with --force if it is right."
                )

        record_keys = _seal_into_staging(cursor, parsed)
        cursor.execute(
            f"""
            INSERT INTO feeds_sourcerecord (id, source_id, source_record_id, sealed, {_CLEAR_COLUMNS},
                first_batch_id, last_batch_id, updated_at, link_pinned, link_method, link_model_version)
            SELECT st.record_id, %s, st.source_record_id, fs.sealed, {_CLEAR_VALUES}, %s, %s, %s, false, '', ''
            FROM feed_staging st JOIN feed_classified c USING (source_record_id)
            JOIN feed_sealed fs USING (source_record_id)
            WHERE c.kind = 'new'
            ORDER BY st.line_number
            RETURNING id
            """,
            [source.id, batch.id, batch.id, now],
        )
        new_ids = sorted(row[0] for row in cursor.fetchall())  # taken from the sequence in line order
        # Planner statistics for the matching queries that follow (they don't see uncommitted rows
        # otherwise and would plan for an empty table): only the columns those queries join and filter
        # on, a fraction of the cost of the whole table's.
        large_load = analyze_if_grown(cursor, "feeds_sourcerecord", len(new_ids),
                                      ["id", "source_id", "source_record_id", "child_id", "retired_at"])
        cursor.execute(
            f"""
            UPDATE feeds_sourcerecord r SET (sealed, {_CLEAR_COLUMNS}, last_batch_id, updated_at, retired_at)
                = (fs.sealed, {_CLEAR_VALUES}, %s, %s, NULL)
            FROM feed_staging st JOIN feed_classified c USING (source_record_id)
            JOIN feed_sealed fs USING (source_record_id)
            WHERE c.kind = 'changed' AND r.id = c.record_id
            RETURNING r.id, r.child_id
            """,
            [batch.id, now],
        )
        changed = cursor.fetchall()
        retired_children: list[int] = []
        if to_retire:
            cursor.execute(
                "UPDATE feeds_sourcerecord SET retired_at = %s, last_batch_id = %s WHERE id = ANY(%s) "
                "RETURNING child_id",
                [now, batch.id, to_retire],
            )
            retired_children = [row[0] for row in cursor.fetchall() if row[0] is not None]
    return {
        "counts": counts,
        "new_ids": new_ids,
        "changed_ids": [r[0] for r in changed],
        "large_load": large_load,
        "changed_unlinked_ids": [r[0] for r in changed if r[1] is None],
        "changed_children": [r[1] for r in changed if r[1] is not None],
        "retired_ids": to_retire,
        "retired_children": retired_children,
        "record_keys": record_keys,
    }


_ORG_KIND = """CASE st.service_type WHEN 'school' THEN 'school' WHEN 'gp' THEN 'gp_practice'
    WHEN 'social_care' THEN 'local_authority' WHEN 'youth_offending' THEN 'local_authority'
    WHEN 'other' THEN 'other' ELSE 'health' END"""

# A practitioner named in feeds is one row however many records name them (directory.Practitioner.feed_key).
_PRACTITIONER_KEY = ("md5(concat_ws('|', st.organisation_code, st.practitioner_name, st.practitioner_phone, "
                     "st.practitioner_email))")


def sync_carers_and_involvements(record_ids: list[int], *, large_load: bool, record_keys: dict[int, bytes]) -> None:
    """Replace the feed-origin carers and involvements of these records with what they now say.

    What they say is in this load's staging table (``feed_staging``): the rows with a ``record_id`` are
    exactly the records this load stored (new or changed). The inserts join it to ``feed_links``, the stored
    records' current links taken by primary key, never to the large records' table and never through a
    filter ``= ANY`` of a million ids on a join (evaluated row by row: hours at national scale).
    ``record_ids`` (stored and retired) is what is deleted first. A carer is sealed under its record's key
    (``record_keys``). Involvements a practitioner entered (origin 'practitioner') are never touched by a
    feed. A ``large_load`` (one that changed the source records' statistics) refreshes them again first.
    """
    if not record_ids:
        return
    with connection.cursor() as cursor:
        # Since the statistics were last taken this load has linked its records to children: without fresh
        # ones the planner believes no record has a child (for the statements below and the rest of the load).
        if large_load:
            cursor.execute("ANALYZE feeds_sourcerecord (id, child_id, retired_at)")
        cursor.execute("DELETE FROM directory_carer WHERE source_record_id = ANY(%s)", [record_ids])
        cursor.execute(
            "DELETE FROM directory_involvement WHERE origin = 'feed' AND source_record_id = ANY(%s)", [record_ids]
        )
        # The stored records' current links, by primary key (the records' table is large; the planner
        # joined it to the staging table in a nested loop at 200,000 records): a small temporary table.
        cursor.execute("DROP TABLE IF EXISTS feed_links")
        cursor.execute("CREATE TEMP TABLE feed_links ON COMMIT DROP AS SELECT id AS record_id, child_id "
                       "FROM feeds_sourcerecord WHERE id = ANY(%s) AND retired_at IS NULL AND child_id IS NOT NULL",
                       [record_ids])
        cursor.execute("CREATE UNIQUE INDEX ON feed_links (record_id)")
        cursor.execute("ANALYZE feed_links")
        cursor.execute(
            """
            SELECT l.child_id, l.record_id, st.carer_given_names, st.carer_family_name, st.carer_relationship,
                   st.carer_phone, st.carer_email
            FROM feed_staging st JOIN feed_links l ON l.record_id = st.record_id
            WHERE st.carer_given_names <> '' OR st.carer_family_name <> ''
            ORDER BY st.line_number
            """
        )
        carers = cursor.fetchall()
        with cursor.cursor.copy("COPY directory_carer (child_id, source_record_id, relationship, sealed) "
                                "FROM STDIN") as copy:
            for child_id, record_id, given_names, family_name, relationship, phone, email in carers:
                sealed = identity.seal_carer(record_keys[record_id], record_id, {
                    "given_names": given_names, "family_name": family_name, "phone": phone, "email": email})
                copy.write_row((child_id, record_id, relationship, sealed))
        cursor.execute(
            f"""
            INSERT INTO orgs_organisation (code, name, kind, phone, email)
            SELECT DISTINCT ON (st.organisation_code) st.organisation_code,
                   coalesce(NULLIF(st.organisation_name, ''), st.organisation_code), {_ORG_KIND}, '', ''
            FROM feed_staging st
            WHERE st.record_id IS NOT NULL AND st.service_type <> '' AND st.organisation_code <> ''
            ON CONFLICT (code) DO NOTHING
            """
        )
        cursor.execute(
            f"""
            INSERT INTO directory_practitioner (name, role, organisation_id, phone, email, feed_key)
            SELECT DISTINCT ON (k.feed_key) st.practitioner_name, st.practitioner_role, o.id,
                   st.practitioner_phone, st.practitioner_email, k.feed_key
            FROM feed_staging st
            LEFT JOIN orgs_organisation o ON o.code = st.organisation_code
            CROSS JOIN LATERAL (SELECT {_PRACTITIONER_KEY} AS feed_key) k
            WHERE st.record_id IS NOT NULL AND st.service_type <> '' AND st.practitioner_name <> ''
            ON CONFLICT (feed_key) DO NOTHING
            """
        )
        # Likewise for the organisations and practitioners just added: without fresh statistics the planner
        # expects one row of each and joins every record to every organisation in a loop (20 minutes at
        # 800,000 records).
        if large_load:
            cursor.execute("ANALYZE orgs_organisation (code)")
            cursor.execute("ANALYZE directory_practitioner (feed_key)")
        cursor.execute(
            f"""
            INSERT INTO directory_involvement (child_id, service_type, organisation_id, practitioner_id,
                started_on, ended_on, is_lead_professional, caf_held, consent_recorded, origin,
                source_record_id, created_at, updated_at)
            SELECT l.child_id, st.service_type, o.id, p.id, NULLIF(st.involvement_start, '')::date,
                   NULLIF(st.involvement_end, '')::date, false, false, st.consent_recorded = 'Y',
                   'feed', l.record_id, now(), now()
            FROM feed_staging st JOIN feed_links l ON l.record_id = st.record_id
            LEFT JOIN orgs_organisation o ON o.code = NULLIF(st.organisation_code, '')
            LEFT JOIN directory_practitioner p ON p.feed_key = CASE WHEN st.practitioner_name <> ''
                THEN {_PRACTITIONER_KEY} END
            WHERE st.service_type <> ''
            """
        )


def _write_report(batch: FeedBatch, parsed: ParsedFeed) -> str:
    if not parsed.errors:
        return ""
    report_dir = Path(str(settings.CONTACTPOINT["FEED_REPORT_DIR"]))
    report_dir.mkdir(parents=True, exist_ok=True)
    path = report_dir / f"batch-{batch.id}-{batch.source.code}-rejected.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["line_number", "source_record_id", "field", "reason"])
        for error in parsed.errors:
            writer.writerow([error.line_number, error.source_record_id, error.field, error.reason])
    return str(path)


def load_feed(
    *,
    source_code: str,
    path: Path,
    mode: str = FeedBatch.Mode.DELTA,
    force: bool = False,
    actor: Any = None,
    loaded_by: str = "",
    progress: Progress | None = None,
    today: datetime.date | None = None,
) -> LoadSummary:
    """Validate, store and match one feed file; return what happened. Atomic: all or nothing."""
    import time

    say = progress or (lambda message: None)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    if mode not in FeedBatch.Mode.values:
        raise FeedLoadError(f"mode must be full or delta, not {mode!r}")
    try:
        source = SourceSystem.objects.get(code=source_code)
    except SourceSystem.DoesNotExist:
        raise FeedLoadError(
            f"unknown source {source_code!r}: register it first with 'contactpoint sources add'"
        ) from None
    if not path.is_file():
        raise FeedLoadError(f"{path}: no such file")
    try:
        blocking_hash_key()  # matching keys every record under the master key: check it is there first
    except KeyStoreError as error:
        raise FeedLoadError(f"cannot load feeds without the master key: {error}") from None
    sha = file_sha256(path)
    say(f"validating {path.name}")
    parsed = parse_feed(path, today or timezone.localdate(), hash_key=content_hash_key())
    timings["validate"] = time.perf_counter() - started
    summary = LoadSummary(
        source=source.code,
        mode=mode,
        rows_read=parsed.rows_read,
        accepted=len(parsed.rows),
        rejected=len({e.line_number for e in parsed.errors}),
    )
    try:
        with transaction.atomic():
            SourceSystem.objects.select_for_update().get(pk=source.pk)  # one load per source at a time
            batch = FeedBatch.objects.create(
                source=source,
                file_name=path.name,
                file_sha256=sha,
                mode=mode,
                loaded_by=loaded_by or getattr(actor, "username", ""),
            )
            summary.batch_id = batch.id
            t = time.perf_counter()
            _copy_into_staging(parsed)
            say(f"storing {len(parsed.rows)} accepted rows")
            stored = _store_records(source, batch, mode, force, parsed)
            timings["store"] = time.perf_counter() - t
            counts = stored["counts"]
            summary.new_records = counts.get("new", 0)
            summary.changed = counts.get("changed", 0)
            summary.unchanged = counts.get("unchanged", 0)
            summary.retired = len(stored["retired_ids"])

            t = time.perf_counter()
            to_match = stored["new_ids"] + stored["changed_unlinked_ids"]
            say(f"matching {len(to_match)} records")
            outcome = match_records(to_match, batch=batch, progress=say)
            # Blocking keys follow the records: re-keyed where a linked record's content changed, dropped
            # where a record retired (matching keyed the records it matched).
            matched = set(to_match)
            refresh_keys([record for record in stored["changed_ids"] if record not in matched])
            forget_keys(stored["retired_ids"])
            timings["match"] = time.perf_counter() - t
            summary.new_children = outcome.new_children
            summary.linked_to_existing = outcome.linked_to_existing
            summary.sent_to_review = outcome.sent_to_review

            t = time.perf_counter()
            affected_children = (
                set(outcome.affected_children) | set(stored["changed_children"]) | set(stored["retired_children"])
            )
            say(f"rebuilding {len(affected_children)} golden records")
            rebuild_golden_records(sorted(affected_children))
            sync_carers_and_involvements(stored["new_ids"] + stored["changed_ids"] + stored["retired_ids"],
                                         large_load=stored["large_load"], record_keys=stored["record_keys"])
            assign_review_areas(sorted(affected_children))
            timings["golden"] = time.perf_counter() - t

            RejectedRow.objects.bulk_create(
                RejectedRow(
                    batch=batch,
                    line_number=e.line_number,
                    source_record_id=e.source_record_id,
                    field=e.field[:40],
                    reason=e.reason[:300],
                )
                for e in parsed.errors
            )
            summary.report_path = _write_report(batch, parsed)
            timings["total"] = time.perf_counter() - started
            summary.timings = {k: round(v, 2) for k, v in timings.items()}
            batch.status = FeedBatch.Status.LOADED
            batch.finished_at = timezone.now()
            batch.summary = summary.as_dict()
            batch.save(update_fields=["status", "finished_at", "summary"])
            record_event(
                action=AuditAction.FEED_LOAD,
                actor=actor,
                system_actor=loaded_by or "feed-loader",
                details={
                    "batch": batch.id,
                    "source": source.code,
                    "mode": mode,
                    "file_sha256": sha,
                    **{k: v for k, v in summary.as_dict().items() if isinstance(v, int)},
                },
            )
    except FeedRefused as refusal:
        _record_refusal(source, path.name, sha, mode, str(refusal), actor, loaded_by)
        raise
    # Recording the batch and its audit event, and the commit itself (the deferred foreign-key checks of
    # every row written): a visible share of a large load, so reported (not stored: it happens after).
    summary.timings["commit"] = round(time.perf_counter() - started - timings["total"], 2)
    return summary


def _record_refusal(
    source: SourceSystem, name: str, sha: str, mode: str, message: str, actor: Any, loaded_by: str
) -> None:
    """A refused load changes no records, but the refusal itself is history worth keeping."""
    with transaction.atomic():
        batch = FeedBatch.objects.create(
            source=source,
            file_name=name,
            file_sha256=sha,
            mode=mode,
            status=FeedBatch.Status.REFUSED,
            finished_at=timezone.now(),
            message=message,
            loaded_by=loaded_by or getattr(actor, "username", ""),
        )
        record_event(
            action=AuditAction.FEED_LOAD,
            actor=actor,
            system_actor=loaded_by or "feed-loader",
            outcome="refused",
            details={"batch": batch.id, "source": source.code, "mode": mode, "file_sha256": sha},
        )
