"""Retention runs and erasure. Writes are set-based SQL, atomic, and audited in the same transaction.

* :func:`run_retention` archives the children the rules say are due and erases the archived children
  whose archive period is over. Idempotent: a second run on the same day does nothing.
* :func:`erase_child` erases one child now (for example on a court order or a proven duplicate), with
  a reason.

Erasure deletes, for the children given and every child merged into them: the child, names,
addresses, search tokens, carers, involvements, shields, source records, their link history, review
items and never-link decisions, and the data keys of the child and of its source records in the key store
(a database of its own: destroyed and committed there first, then the main database's transaction
commits; see :func:`_erase`). With the keys gone, every copy of the sealed rows — backups included — is
unreadable. Link events of *other* records that point at an erased child keep their row but lose
the pointer. The audit trail keeps only directory identifiers, so it outlives erasure and still verifies.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from contactpoint.audit.services import record_event
from contactpoint.audit.tags import AuditAction
from contactpoint.core.identifiers import is_valid_contactpoint_id, normalise_contactpoint_id
from contactpoint.directory.models import (
    Carer,
    Child,
    ChildAddress,
    ChildName,
    Involvement,
    SearchToken,
    Shield,
)
from contactpoint.feeds.models import SourceRecord
from contactpoint.keystore import datakeys
from contactpoint.keystore.models import DataKey, RecordKey
from contactpoint.matching.models import BlockingKeys, Correction, LinkEvent, NeverLink, ReviewItem
from contactpoint.retention.errors import ChildNotFound, RetentionError, UnhandledReference
from contactpoint.retention.models import Archival
from contactpoint.retention.rules import RetentionRules

SYSTEM_ACTOR = "retention"
# Children named per audit event: an event per this many keeps each event a reasonable size.
AUDIT_CHUNK = 2000

_CHILD = Child._meta.db_table
_RECORD = SourceRecord._meta.db_table

# Every (table, column) that refers to a child or a source record, and what erasure does with it.
# _check_references() refuses to erase if the database has one that is not listed here.
_HANDLED_REFERENCES = {
    (ChildName._meta.db_table, "child_id"),
    (ChildAddress._meta.db_table, "child_id"),
    (SearchToken._meta.db_table, "child_id"),
    (Carer._meta.db_table, "child_id"),
    (Carer._meta.db_table, "source_record_id"),
    (Involvement._meta.db_table, "child_id"),
    (Involvement._meta.db_table, "source_record_id"),
    (Shield._meta.db_table, "child_id"),
    (_CHILD, "merged_into_id"),
    (_RECORD, "child_id"),
    (LinkEvent._meta.db_table, "source_record_id"),
    (LinkEvent._meta.db_table, "from_child_id"),
    (LinkEvent._meta.db_table, "to_child_id"),
    (ReviewItem._meta.db_table, "record_id"),
    (ReviewItem._meta.db_table, "candidate_id"),
    (NeverLink._meta.db_table, "record_a_id"),
    (NeverLink._meta.db_table, "record_b_id"),
    (BlockingKeys._meta.db_table, "record_id"),
    (Archival._meta.db_table, "child_id"),
}


@dataclass
class ErasureReport:
    """What an erasure deleted: rows per table, and the identifiers of the children erased."""

    contactpoint_ids: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def children(self) -> int:
        return len(self.contactpoint_ids)

    def rows_as_details(self) -> list[list[Any]]:
        """[[table, rows], …]: as pairs, because table names (``…_childaddress``) trip the audit guard on keys."""
        return [[table, count] for table, count in sorted(self.rows.items())]

    def add(self, other: ErasureReport) -> None:
        self.contactpoint_ids += other.contactpoint_ids
        for table, count in other.rows.items():
            self.rows[table] = self.rows.get(table, 0) + count


@dataclass
class RetentionReport:
    """What a retention run did (or, dry, would do). Counts and identifiers only, never personal data."""

    today: datetime.date
    dry_run: bool
    archived_adult: int = 0
    archived_extended: int = 0
    archive_dated: int = 0  # archived children found without an archive date, dated today
    kept_extended: int = 0  # adults kept because a source asserts a condition
    no_date_of_birth: int = 0  # active children the rules cannot age
    erasure: ErasureReport = field(default_factory=ErasureReport)
    archived_ids: list[str] = field(default_factory=list)  # for the audit trail; never printed

    @property
    def archived(self) -> int:
        return self.archived_adult + self.archived_extended

    def as_details(self) -> dict[str, Any]:
        return {
            "today": self.today.isoformat(),
            "dry_run": self.dry_run,
            "archived_adult": self.archived_adult,
            "archived_extended": self.archived_extended,
            "archive_dated": self.archive_dated,
            "kept_extended": self.kept_extended,
            "cannot_be_aged": self.no_date_of_birth,  # no date of birth (a key naming it would be refused)
            "erased_children": self.erasure.children,
            "erased_rows": self.erasure.rows_as_details(),
        }


class _DryRunRollback(Exception):
    pass


def run_retention(
    *, today: datetime.date | None = None, dry_run: bool = False, actor: Any | None = None,
    system_actor: str = SYSTEM_ACTOR, rules: RetentionRules | None = None,
) -> RetentionReport:
    """Apply the retention rules as of ``today``: archive who is due, erase whose archive period is over.

    One transaction, set-based. A dry run does all of it and rolls back, so its counts are exactly what
    a real run would do. Safe to repeat: a second run on the same day finds nothing to do.
    """
    today = today or timezone.localdate()
    rules = rules or RetentionRules.from_settings()
    report = RetentionReport(today=today, dry_run=dry_run)
    try:
        with transaction.atomic():
            _archive_due(rules, today, report)
            due = _archived_before(rules.erase_cutoff(today))
            if due:
                # A dry run counts the keys it would destroy: they live in another database, which the
                # rollback of this transaction would not reach.
                report.erasure = _erase(due, destroy_keys=not dry_run)
            _record_run(report, actor=actor, system_actor=system_actor)
            if dry_run:
                raise _DryRunRollback
    except _DryRunRollback:
        pass
    return report


def _archive_due(rules: RetentionRules, today: datetime.date, report: RetentionReport) -> None:
    params: dict[str, Any] = {
        "today": today,
        "adult": rules.adult_cutoff(today),
        "extended": rules.extended_cutoff(today),
        "conditions": list(rules.extended_conditions),
        "archived": Child.Status.ARCHIVED.value,
        "active": Child.Status.ACTIVE.value,
    }
    with connection.cursor() as cursor:
        # An adult is kept (to the extended age) while a current source record asserts a condition.
        cursor.execute(
            f"""
            CREATE TEMPORARY TABLE retention_due ON COMMIT DROP AS
            SELECT c.id,
                   CASE WHEN c.date_of_birth <= %(extended)s THEN 'extended'
                        WHEN EXISTS (SELECT 1 FROM {_RECORD} s
                                     WHERE s.child_id = c.id AND s.retired_at IS NULL
                                       AND s.retention_condition = ANY(%(conditions)s)) THEN 'kept'
                        ELSE 'adult' END AS rule
            FROM {_CHILD} c
            WHERE c.status = %(active)s AND c.date_of_birth <= %(adult)s
            """,
            params,
        )
        cursor.execute(
            f"""
            WITH archived AS (
                UPDATE {_CHILD} c SET status = %(archived)s, updated_at = now()
                FROM retention_due d WHERE d.id = c.id AND d.rule <> 'kept'
                RETURNING c.id, c.contactpoint_id
            ), dated AS (
                INSERT INTO {Archival._meta.db_table} (child_id, archived_on, rule)
                SELECT d.id, %(today)s, d.rule FROM archived JOIN retention_due d USING (id)
                ON CONFLICT (child_id) DO UPDATE SET archived_on = EXCLUDED.archived_on, rule = EXCLUDED.rule
            )
            SELECT contactpoint_id FROM archived ORDER BY 1
            """,
            params,
        )
        report.archived_ids = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT rule, count(*) FROM retention_due GROUP BY rule")
        counts = dict(cursor.fetchall())
        report.archived_adult = counts.get("adult", 0)
        report.archived_extended = counts.get("extended", 0)
        report.kept_extended = counts.get("kept", 0)
        # Children archived some other way (or before this app existed) get their archive date now.
        cursor.execute(
            f"""
            INSERT INTO {Archival._meta.db_table} (child_id, archived_on, rule)
            SELECT c.id, %(today)s, 'other' FROM {_CHILD} c
            WHERE c.status = %(archived)s
              AND NOT EXISTS (SELECT 1 FROM {Archival._meta.db_table} a WHERE a.child_id = c.id)
            """,
            params,
        )
        report.archive_dated = cursor.rowcount
        cursor.execute(
            f"SELECT count(*) FROM {_CHILD} WHERE status = %(active)s AND date_of_birth IS NULL", params
        )
        report.no_date_of_birth = cursor.fetchone()[0]
        cursor.execute("DROP TABLE retention_due")


def _archived_before(cutoff: datetime.date) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT a.child_id FROM {Archival._meta.db_table} a JOIN {_CHILD} c ON c.id = a.child_id "
            "WHERE a.archived_on <= %s AND c.status = %s",
            [cutoff, Child.Status.ARCHIVED.value],
        )
        return [row[0] for row in cursor.fetchall()]


def _record_run(report: RetentionReport, *, actor: Any | None, system_actor: str) -> None:
    archived_ids = report.archived_ids
    details = report.as_details()
    record_event(action=AuditAction.RETENTION_RUN, actor=actor, system_actor=system_actor, details=details)
    for phase, identifiers in (("archive", archived_ids), ("erase", report.erasure.contactpoint_ids)):
        for start in range(0, len(identifiers), AUDIT_CHUNK):
            record_event(
                action=AuditAction.RETENTION_ARCHIVE if phase == "archive" else AuditAction.RETENTION_ERASE,
                actor=actor, system_actor=system_actor, children=identifiers[start:start + AUDIT_CHUNK],
                details={"by": "retention_run", "today": report.today.isoformat()},
            )


def erase_child(*, contactpoint_id: str, reason: str, actor: Any | None = None,
                system_actor: str = "") -> ErasureReport:
    """Erase one child (and any record merged into it) now, everywhere, with a recorded reason.

    Raises :class:`ChildNotFound` when there is no such child (already erased, or never was).
    """
    if not reason.strip():
        raise RetentionError("give the reason for erasing the child (e.g. the order's reference)")
    identifier = normalise_contactpoint_id(contactpoint_id)
    if not is_valid_contactpoint_id(identifier):
        raise ChildNotFound("not a valid ContactPoint identifier")
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT id FROM {_CHILD} WHERE contactpoint_id = %s FOR UPDATE", [identifier])
            row = cursor.fetchone()
        if row is None:
            raise ChildNotFound("no child with this ContactPoint identifier")
        report = _erase([row[0]])
        record_event(
            action=AuditAction.RETENTION_ERASE, actor=actor, system_actor=system_actor or SYSTEM_ACTOR,
            children=report.contactpoint_ids, reason=reason,
            details={"by": "erase_child", "rows": report.rows_as_details()},
        )
    return report


def _check_references() -> None:
    """Refuse when a table we do not know refers to a child or a source record (it would keep data)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT src.relname, att.attname
            FROM pg_constraint con
            JOIN pg_class src ON src.oid = con.conrelid
            JOIN pg_class ref ON ref.oid = con.confrelid
            JOIN pg_attribute att ON att.attrelid = con.conrelid AND att.attnum = ANY(con.conkey)
            WHERE con.contype = 'f' AND ref.relname IN (%s, %s)
              AND src.relnamespace = to_regnamespace(current_schema())
            """,
            [_CHILD, _RECORD],
        )
        unknown = sorted(set(cursor.fetchall()) - _HANDLED_REFERENCES)
    if unknown:
        listed = ", ".join(f"{table}.{column}" for table, column in unknown)
        raise UnhandledReference(f"erasure does not know what to do with {listed}: add it to retention.services")


def _erase(child_pks: list[int], *, destroy_keys: bool = True) -> ErasureReport:
    """Delete the children with these primary keys, and everything that is theirs. Set-based; no audit.

    The caller records the audit event in the same transaction.

    The children's data keys live in the key store, another database, so the erasure spans two
    transactions. Their order is chosen for privacy: the keys are destroyed, and that committed, after
    the main database's rows are deleted but *before* the main transaction commits. If the main
    transaction then fails, the child's rows survive as ciphertext nobody can read, and erasing again
    (the next retention run, or ``erase_child`` once more) deletes them. The other order could leave a
    key behind an erased child — in the key store and its backups — which is the failure that matters.
    With ``destroy_keys=False`` (a dry run) the keys are counted, not destroyed.
    """
    _check_references()
    report = ErasureReport()
    t = {
        "name": ChildName._meta.db_table, "address": ChildAddress._meta.db_table,
        "search_tokens": SearchToken._meta.db_table,
        "carer": Carer._meta.db_table,
        "involvement": Involvement._meta.db_table, "shield": Shield._meta.db_table,
        "link": LinkEvent._meta.db_table, "review": ReviewItem._meta.db_table,
        "never": NeverLink._meta.db_table, "correction": Correction._meta.db_table,
        "archival": Archival._meta.db_table, "blocking": BlockingKeys._meta.db_table,
    }
    with connection.cursor() as cursor:
        # The children, and every child merged into one of them (a merged record is the same person).
        cursor.execute(
            f"""
            CREATE TEMPORARY TABLE erase_child ON COMMIT DROP AS
            WITH RECURSIVE erased(id) AS (
                SELECT unnest(%s::bigint[])
                UNION SELECT c.id FROM {_CHILD} c JOIN erased e ON c.merged_into_id = e.id
            )
            SELECT c.id, c.contactpoint_id FROM {_CHILD} c JOIN erased USING (id)
            """,
            [list(child_pks)],
        )
        cursor.execute("ALTER TABLE erase_child ADD PRIMARY KEY (id)")
        cursor.execute(
            f"CREATE TEMPORARY TABLE erase_record ON COMMIT DROP AS "
            f"SELECT id FROM {_RECORD} WHERE child_id IN (SELECT id FROM erase_child)"
        )
        cursor.execute("ALTER TABLE erase_record ADD PRIMARY KEY (id)")
        cursor.execute("ANALYZE erase_child; ANALYZE erase_record")
        cursor.execute("SELECT id, contactpoint_id FROM erase_child ORDER BY 2")
        erased = cursor.fetchall()
        cursor.execute("SELECT id FROM erase_record")
        record_ids = [row[0] for row in cursor.fetchall()]
        report.contactpoint_ids = [contactpoint_id for _, contactpoint_id in erased]

        def delete(table: str, where: str) -> None:
            cursor.execute(f"DELETE FROM {table} WHERE {where}")
            report.rows[table] = report.rows.get(table, 0) + cursor.rowcount

        in_records = "IN (SELECT id FROM erase_record)"
        in_children = "IN (SELECT id FROM erase_child)"
        # One condition per statement, never "a OR b": each can use its column's index (an OR of two
        # sub-selects is a sequential scan of the whole table, seconds at national scale).
        delete(t["never"], f"record_a_id {in_records}")
        delete(t["never"], f"record_b_id {in_records}")
        # A correction outlives the review item it decided (it is the history of a person's decision).
        cursor.execute(
            f"UPDATE {t['correction']} SET review_item_id = NULL WHERE review_item_id IN "
            f"(SELECT id FROM {t['review']} WHERE record_id {in_records} "
            f"UNION ALL SELECT id FROM {t['review']} WHERE candidate_id {in_records})"
        )
        delete(t["review"], f"record_id {in_records}")
        delete(t["review"], f"candidate_id {in_records}")
        delete(t["link"], f"source_record_id {in_records}")
        delete(t["blocking"], f"record_id {in_records}")
        # Other records' history keeps its rows but no longer points at an erased child.
        cursor.execute(f"UPDATE {t['link']} SET from_child_id = NULL WHERE from_child_id {in_children}")
        cursor.execute(f"UPDATE {t['link']} SET to_child_id = NULL WHERE to_child_id {in_children}")
        for key in ("involvement", "carer"):
            delete(t[key], f"child_id {in_children}")
            delete(t[key], f"source_record_id {in_records}")
        for key in ("search_tokens", "name", "address", "shield", "archival"):
            delete(t[key], f"child_id {in_children}")
        delete(_RECORD, f"id {in_records}")
        delete(_CHILD, f"id {in_children}")
        cursor.execute("DROP TABLE erase_child, erase_record")
        # Deferred foreign-key checks now, so that a violation fails the erasure before any key is destroyed.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    child_ids = [pk for pk, _ in erased]
    if destroy_keys:
        report.rows[DataKey._meta.db_table] = datakeys.destroy_data_keys(child_ids=child_ids)
        report.rows[RecordKey._meta.db_table] = datakeys.destroy_record_keys(record_ids=record_ids)
    else:
        report.rows[DataKey._meta.db_table] = datakeys.count_data_keys(child_ids=child_ids)
        report.rows[RecordKey._meta.db_table] = datakeys.count_record_keys(record_ids=record_ids)
    report.rows = {table: count for table, count in report.rows.items() if count}
    return report


# The tables erasure deletes from: after a large erasure, compact them so the deleted rows' bytes leave
# the live data files (a DELETE only marks rows dead; their bytes stay until the page is rewritten).
ERASED_TABLES = (
    _CHILD, ChildName._meta.db_table, ChildAddress._meta.db_table, SearchToken._meta.db_table,
    Carer._meta.db_table, Involvement._meta.db_table, Shield._meta.db_table, _RECORD,
    LinkEvent._meta.db_table, ReviewItem._meta.db_table, NeverLink._meta.db_table,
    Archival._meta.db_table, BlockingKeys._meta.db_table,
)


@dataclass
class CompactionReport:
    tables: int = 0
    statistics_compacted: bool = False  # pg_statistic rewritten (needs a superuser)
    checkpointed: bool = False  # needs a superuser or pg_checkpoint
    skipped: list[str] = field(default_factory=list)
    key_store: dict[str, Any] = field(default_factory=dict)  # the key store's own compaction


def compact_erased_tables() -> CompactionReport:
    """Rewrite the tables erasure deletes from, so erased values leave the live data files.

    ``ANALYZE`` first: the planner's statistics (``pg_statistic``) keep sample *values* of each column
    (most common values, histogram bounds), so an erased family name can survive there; re-analysing
    replaces them, and ``VACUUM FULL pg_statistic`` rewrites the catalog without the old rows. Then a
    ``CHECKPOINT`` so dropped files are unlinked. Takes an exclusive lock per table while it is
    rewritten: run it in a quiet hour. Must run outside a transaction.

    The key store (another database) is compacted the same way (:func:`datakeys.compact_key_store`).

    What this cannot reach: the write-ahead log until it is recycled, backups, and file-system blocks
    freed but not overwritten. Those are what per-child keys are for (docs/retention.md).
    """
    if connection.in_atomic_block:
        raise RetentionError("compaction cannot run inside a transaction (VACUUM)")
    report = CompactionReport()
    with connection.cursor() as cursor:
        # A plain VACUUM first: it removes dead rows against a horizon that ignores transactions in other
        # databases. VACUUM FULL alone keeps "recently dead" rows while any transaction anywhere on the
        # server is older than the erasure (its own snapshot's xmin counts), and would copy the erased
        # rows into the new file. Then VACUUM FULL writes the live rows to a new file.
        for table in ERASED_TABLES:
            cursor.execute(f"ANALYZE {table}")
            cursor.execute(f"VACUUM (INDEX_CLEANUP ON) {table}")
            cursor.execute(f"VACUUM (FULL) {table}")
            report.tables += 1
        cursor.execute("SELECT rolsuper, pg_has_role(current_user, 'pg_checkpoint', 'MEMBER') "
                       "FROM pg_roles WHERE rolname = current_user")
        superuser, may_checkpoint = cursor.fetchone()
        if superuser:
            cursor.execute("VACUUM (INDEX_CLEANUP ON) pg_catalog.pg_statistic")
            cursor.execute("VACUUM (FULL) pg_catalog.pg_statistic")
            report.statistics_compacted = True
        else:
            report.skipped.append("VACUUM FULL pg_statistic (needs a superuser)")
        if superuser or may_checkpoint:
            cursor.execute("CHECKPOINT")
            report.checkpointed = True
        else:
            report.skipped.append("CHECKPOINT (needs a superuser or pg_checkpoint)")
    report.key_store = datakeys.compact_key_store()
    report.skipped += report.key_store["skipped"]
    return report


@dataclass
class KeySweep:
    child_keys: int = 0
    record_keys: int = 0


def sweep_orphan_keys(*, older_than: datetime.timedelta, system_actor: str) -> KeySweep:
    """Destroy data keys whose child or source record does not exist (any more), made before ``older_than``.

    A load makes its records' and new children's keys in the key store before its own transaction
    commits (the rows are written sealed, so the keys must exist first); a load that then fails leaves
    those keys behind, owned by ids that will never be used (sequences do not go back). Nothing was ever
    stored under them, so they hide nothing, but the key store should hold only live keys. A key younger
    than ``older_than`` may belong to a load still running, so it is left alone: keep ``older_than``
    longer than any load takes. Audited (counts only).
    """
    if older_than < datetime.timedelta(hours=1):
        raise RetentionError("keys younger than an hour may belong to a load still running: sweep older ones only")
    cutoff = timezone.now() - older_than
    report = KeySweep()
    with transaction.atomic():
        for kind, table in (("child", _CHILD), ("record", _RECORD)):
            owners = datakeys.key_owners(kind, created_before=cutoff)
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT o FROM unnest(%s::bigint[]) AS o WHERE NOT EXISTS "
                               f"(SELECT 1 FROM {table} t WHERE t.id = o)", [owners])
                orphans = [row[0] for row in cursor.fetchall()]
            if kind == "child":
                report.child_keys = datakeys.destroy_data_keys(child_ids=orphans)
            else:
                report.record_keys = datakeys.destroy_record_keys(record_ids=orphans)
        record_event(action=AuditAction.RETENTION_SWEEP_KEYS, actor=None, system_actor=system_actor,
                     details={"child_keys": report.child_keys, "record_keys": report.record_keys,
                              "older_than_hours": older_than.total_seconds() / 3600})
    return report
