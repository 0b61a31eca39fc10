"""Decommissioning: destroy every row of personal data and every key, then prove it with a signed certificate.

What is destroyed: the key store (every child's data key, in its own database: emptied first), every
table of the apps that hold personal data (children, source records, matching, retention, user accounts
and their sessions, tokens, sign-in records and second-factor secrets, alerts), and every table that
refers to one of them; the local master key file; feed report files.
What is kept: the audit trail (identifiers only; it is the evidence), the list of source systems and
the nickname table (reference data), and organisations (public contact points, not people).

The certificate (JSON) lists the rows destroyed per table, when, by whom, and the checks performed
afterwards — every destroyed table empty, the key store's database empty and no master key file, the
audit trail verified — and is signed with the audit signing key (Ed25519; :func:`verify_certificate`).
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import shutil
import socket
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.apps import apps
from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone

from contactpoint.audit.integrity import verify_log
from contactpoint.audit.keys import load_signing_key
from contactpoint.audit.services import record_event
from contactpoint.audit.tags import AuditAction
from contactpoint.core import keys as core_keys
from contactpoint.keystore import datakeys
from contactpoint.keystore.router import KEYS_DATABASE
from contactpoint.retention.errors import DecommissionRefused

# Apps whose every table holds (or points at) personal data.
PERSONAL_DATA_APPS = ("directory", "feeds", "matching", "retention", "access", "alerts", "subject_access",
                      "sessions", "axes", "otp_totp", "otp_static", "otp_email")
# Reference data inside those apps, kept: no one's personal data.
KEPT_TABLES = frozenset({"directory_forename", "feeds_sourcesystem"})
# Never destroyed: the evidence.
AUDIT_TABLES = frozenset({"audit_auditevent", "audit_eventseal", "audit_checkpoint"})
CERTIFICATE_FORMAT = "contactpoint-destruction-certificate/1"


def tables_to_destroy() -> list[str]:
    """The personal-data tables, and every table that refers to one of them (so TRUNCATE may run)."""
    seed = set()
    for label in PERSONAL_DATA_APPS:
        try:
            config = apps.get_app_config(label)
        except LookupError:
            continue
        seed |= {m._meta.db_table for m in config.get_models(include_auto_created=True)}
    tables = seed - KEPT_TABLES
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT src.relname, ref.relname FROM pg_constraint con
            JOIN pg_class src ON src.oid = con.conrelid JOIN pg_class ref ON ref.oid = con.confrelid
            WHERE con.contype = 'f' AND src.relnamespace = to_regnamespace(current_schema())
            """
        )
        references = cursor.fetchall()
    while True:
        more = {src for src, ref in references if ref in tables and src not in tables}
        if not more:
            break
        tables |= more
    if tables & AUDIT_TABLES:
        raise DecommissionRefused("an audit table refers to personal data: refusing to destroy the evidence")
    return sorted(tables)


def _counts(tables: Iterable[str]) -> dict[str, int]:
    counts = {}
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")
            counts[table] = cursor.fetchone()[0]
    return counts


def _destroy_file(path: Path) -> bool:
    """Overwrite, then delete (on a copy-on-write or journalled file system overwriting is best effort)."""
    if not path.is_file():
        return False
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.write(os.urandom(size))
        handle.flush()
        os.fsync(handle.fileno())
    path.unlink()
    return True


def canonical(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def decommission(*, by: str, confirm: bool, today: datetime.datetime | None = None) -> dict[str, Any]:
    """Destroy all personal data and keys; return the signed destruction certificate (a JSON-able dict).

    Refuses without ``confirm``. Empties the key store first (its own database and transaction:
    crypto-shredding before deleting, as erasure does), then destroys the main database's tables in one
    transaction; compaction and the checks after it. Raises :class:`DecommissionRefused` when a check
    fails (the certificate is then not issued).
    """
    if not confirm:
        raise DecommissionRefused("decommissioning destroys every record: confirm it")
    if not by.strip():
        raise DecommissionRefused("say who is decommissioning (recorded in the certificate)")
    signing_key = load_signing_key()  # before anything is destroyed: no key, no certificate, no destruction
    started = today or timezone.now()
    tables = tables_to_destroy()
    destroyed_keys = datakeys.destroy_all_data_keys()
    with transaction.atomic():
        destroyed = _counts(tables)
        quoted = ", ".join(connection.ops.quote_name(t) for t in tables)
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # settle deferred checks: TRUNCATE refuses them
            cursor.execute(f"TRUNCATE {quoted} RESTART IDENTITY")
        record_event(
            action=AuditAction.RETENTION_DECOMMISSION, actor=None, system_actor=f"decommission:{by}",
            reason="decommissioning: all personal data destroyed",
            details={"tables": len(tables), "rows": sum(destroyed.values()),
                     "data_keys": sum(destroyed_keys.values())},
        )
    destroyed.update(destroyed_keys)
    files = []
    master = core_keys.master_key_path()
    if _destroy_file(master):
        files.append(str(master))
    reports = Path(str(settings.CONTACTPOINT.get("FEED_REPORT_DIR", Path(settings.HOME) / "feed-reports")))
    if reports.is_dir():
        for path in sorted(p for p in reports.rglob("*") if p.is_file()):
            if _destroy_file(path):
                files.append(str(path))
        shutil.rmtree(reports, ignore_errors=True)
    compaction = _compact(tables)
    compaction["key_store"] = _compact_key_store()
    checks = _checks(tables)
    if not all(check["passed"] for check in checks if check["required"]):
        failed = [c["check"] for c in checks if c["required"] and not c["passed"]]
        raise DecommissionRefused(f"checks failed after destruction: {', '.join(failed)}")
    payload = {
        "format": CERTIFICATE_FORMAT,
        "what": "every row of personal data and every key of this ContactPoint directory",
        "database": connection.settings_dict.get("NAME", ""),
        "key_store_database": connections[KEYS_DATABASE].settings_dict.get("NAME", ""),
        "host": socket.gethostname(),
        "by": by,
        "started_at": started.isoformat(),
        "finished_at": timezone.now().isoformat(),
        "destroyed_rows": destroyed,
        "destroyed_rows_total": sum(destroyed.values()),
        "destroyed_files": files,
        "kept": {"audit_trail": sorted(AUDIT_TABLES), "reference_data": sorted(KEPT_TABLES),
                 "organisations": ["orgs_localauthority", "orgs_organisation"]},
        "compaction": compaction,
        "checks": checks,
        "signing_key_id": signing_key.key_id,
        "signing_public_key": base64.b64encode(signing_key.public_key_raw).decode("ascii"),
    }
    return {"certificate": payload, "algorithm": "Ed25519",
            "signature": base64.b64encode(signing_key.sign(canonical(payload))).decode("ascii")}


def verify_certificate(document: dict[str, Any], public_key_raw: bytes | None = None) -> bool:
    """Whether the certificate's signature holds (under ``public_key_raw``, or the key it names)."""
    payload = document["certificate"]
    raw = public_key_raw or base64.b64decode(payload["signing_public_key"])
    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(base64.b64decode(document["signature"]), canonical(payload))
    except (InvalidSignature, ValueError):
        return False
    return True


def _compact(tables: list[str]) -> dict[str, Any]:
    """Drop the planner's sample values of the destroyed tables, rewrite pg_statistic, checkpoint."""
    done: dict[str, Any] = {"statistics_removed": False, "checkpoint": False, "skipped": []}
    if connection.in_atomic_block:
        done["skipped"] = ["compaction: called inside a transaction (VACUUM cannot run there)"]
        return done
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        superuser = cursor.fetchone()[0]
        if superuser:
            cursor.execute(
                "DELETE FROM pg_statistic WHERE starelid = ANY(SELECT c.oid FROM pg_class c "
                "WHERE c.relname = ANY(%s) AND c.relnamespace = to_regnamespace(current_schema()))",
                [tables],
            )
            cursor.execute("VACUUM (INDEX_CLEANUP ON) pg_catalog.pg_statistic")
            cursor.execute("VACUUM (FULL) pg_catalog.pg_statistic")
            cursor.execute("CHECKPOINT")
            done.update(statistics_removed=True, checkpoint=True)
        else:
            done["skipped"] = ["pg_statistic and CHECKPOINT need a superuser: ask the database administrator"]
    return done


def _compact_key_store() -> dict[str, Any]:
    """Rewrite the emptied key table and drop its planner statistics (sample values of wrapped keys)."""
    if connections[KEYS_DATABASE].in_atomic_block:
        return {"skipped": ["key store compaction: called inside a transaction (VACUUM cannot run there)"]}
    return datakeys.compact_key_store()


def _checks(tables: list[str]) -> list[dict[str, Any]]:
    remaining = {table: count for table, count in _counts(tables).items() if count}
    detail = f"{len(tables)} tables counted" + (f"; rows remain in {sorted(remaining)}" if remaining else "")
    checks = [{"check": "every destroyed table is empty", "required": True, "passed": not remaining,
               "detail": detail}]
    key_rows = datakeys.count_data_keys() + datakeys.count_record_keys()  # counted in the key store's own database
    master_file = core_keys.master_key_path().exists()
    from_environment = bool(os.environ.get(core_keys.MASTER_KEY_VARIABLE))
    key_store = connections[KEYS_DATABASE].settings_dict.get("NAME", "")
    checks.append({"check": "key store empty", "required": True, "passed": key_rows == 0 and not master_file,
                   "detail": f"{key_rows} wrapped data keys in the key store database {key_store}; master key file "
                             f"{'present' if master_file else 'absent'}"})
    if from_environment or os.environ.get("CONTACTPOINT_KEY_WRAPPER") == "vault":
        checks.append({"check": "external master key destroyed", "required": False, "passed": False,
                       "detail": "the master key lives outside this system (environment or Vault): destroy it "
                                 "there, and record that separately"})
    result = verify_log()
    checks.append({"check": "audit trail verified", "required": True, "passed": result.ok,
                   "detail": result.summary()})
    return checks
