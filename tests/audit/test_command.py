"""``contactpoint audit``: what an operator and an outside auditor actually run."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command, load_command_class
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from contactpoint.audit.models import AuditEvent, Checkpoint, EventSeal
from contactpoint.audit.tags import AuditAction
from contactpoint.cli import PROJECT_COMMANDS
from contactpoint.core.identifiers import format_contactpoint_id, new_contactpoint_id

from .factories import FakeUser, make_event, make_events

pytestmark = pytest.mark.django_db


def audit(*args: str) -> str:
    out = io.StringIO()
    call_command("audit", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_the_command_is_listed_with_a_one_line_description() -> None:
    # contactpoint --help shows the first line of each listed command's help.
    assert "audit" in PROJECT_COMMANDS
    command = load_command_class("contactpoint.audit", "audit")
    assert command.help == "Audit trail: verify, seal, checkpoint and export the tamper-evident log."


def test_verify_says_so_in_one_line_when_the_log_is_sound() -> None:
    make_events(3)
    output = audit("verify")
    assert output.count("\n") == 1
    assert output.startswith("audit log verified: 0 events")
    assert "sealed 3 new" in output
    assert audit("verify").startswith("audit log verified: 3 events")


def test_verify_fails_naming_the_first_bad_event(attacker: Callable[[], Any]) -> None:
    events = make_events(4)
    audit("checkpoint")
    with attacker() as sql:
        sql("UPDATE audit_auditevent SET outcome = 'failure' WHERE sequence = %s", [events[2].sequence])
        sql("UPDATE audit_auditevent SET outcome = 'failure' WHERE sequence = %s", [events[3].sequence])
    with pytest.raises(CommandError) as caught:
        audit("verify")
    assert caught.value.returncode == 1
    assert str(caught.value).startswith(f"audit log verification FAILED: event {events[2].sequence}, position 2:")


def test_seal_and_checkpoint(tmp_path: Path) -> None:
    make_events(2)
    assert audit("seal") == "sealed 2 event(s); the log holds 2\n"
    make_event()
    exported = tmp_path / "checkpoint.json"
    output = audit("checkpoint", "--export", str(exported))
    checkpoint = Checkpoint.objects.get()
    assert output.startswith(f"checkpoint #{checkpoint.pk}: 3 events, root {bytes(checkpoint.root_hash).hex()}")
    document = json.loads(exported.read_text())
    assert document["tree_size"] == 3
    make_events(2)
    assert "1 exported checkpoint(s) match" in audit("verify", "--checkpoint", str(exported))


def test_verify_against_a_missing_checkpoint_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="cannot read checkpoint"):
        audit("verify", "--checkpoint", str(tmp_path / "nowhere.json"))


def test_export_writes_json_lines_an_auditor_can_check_and_is_itself_audited(tmp_path: Path) -> None:
    alice, bob = FakeUser(username="alice"), FakeUser(username="bob")
    make_events(2, actor=alice)
    make_event(actor=bob)
    audit("seal")
    make_event(actor=alice)  # not sealed yet: exported last, without a leaf hash
    output = tmp_path / "alice.jsonl"
    call_command(
        "audit", "export", "--user", "alice", "--reason", "complaint 17", "--output", str(output), stderr=io.StringIO()
    )
    records = [json.loads(line) for line in output.read_text().splitlines()]
    assert [r["actor_username"] for r in records] == ["alice"] * 3
    assert [r["position"] for r in records] == [0, 1, None]
    for record in records[:2]:
        leaf_hash = bytes.fromhex(record.pop("leaf_hash"))
        canonical = json.dumps(record, sort_keys=True, separators=(",", ":")).encode()
        assert hashlib.sha256(b"\x00" + canonical).digest() == leaf_hash
        assert EventSeal.objects.get(position=record["position"]).leaf_hash == leaf_hash
    recorded = AuditEvent.objects.get(action=AuditAction.AUDIT_EVENT_EXPORT)
    assert recorded.reason == "complaint 17"
    assert recorded.details == {"filter": {"username": "alice"}}
    assert recorded.actor_username.startswith("cli:")


def test_export_filters_by_time_child_and_action(tmp_path: Path) -> None:
    child = new_contactpoint_id()
    make_event(children=[child], action=AuditAction.ACCESS_BREAK_GLASS)
    make_event(children=[child])
    make_event()
    output = tmp_path / "child.jsonl"
    call_command(
        "audit",
        "export",
        *("--since", "2000-01-01", "--until", "2999-12-31T23:59:59+00:00"),
        *("--child", format_contactpoint_id(child), "--action", "access:child:break_glass"),
        *("--reason", "subject access request 4", "--output", str(output)),
        stderr=io.StringIO(),
    )
    [record] = [json.loads(line) for line in output.read_text().splitlines()]
    assert (record["children"], record["action"]) == ([child], "access:child:break_glass")
    with pytest.raises(CommandError, match="not a date"):
        audit("export", "--since", "last tuesday", "--reason", "x")


def test_export_needs_a_reason() -> None:
    with pytest.raises(CommandError):
        audit("export")
    with pytest.raises(CommandError, match="needs a reason"):
        audit("export", "--reason", " ")


def test_grant_sql_leaves_the_application_role_able_to_insert_and_read_only() -> None:
    role = f"audit_test_{uuid.uuid4().hex[:12]}"
    sql = audit("grant-sql", "--role", role)
    assert f"GRANT SELECT, INSERT ON audit_auditevent, audit_eventseal, audit_checkpoint TO {role};" in sql
    make_events(2)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role} NOLOGIN")  # rolled back with the test's transaction
        # The application's role has its ordinary privileges on the rest of the schema (other apps
        # react to audit events); the audit SQL then narrows the audit tables to INSERT and SELECT.
        cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}")
        cursor.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}")
        cursor.execute(sql)
        cursor.execute(f"SET ROLE {role}")
        try:
            # What the application does: record events, seal, checkpoint, read.
            make_event()
            audit("checkpoint")
            assert AuditEvent.objects.count() == 3
            for statement in (
                "UPDATE audit_auditevent SET reason = 'x'",
                "DELETE FROM audit_auditevent",
                "TRUNCATE audit_auditevent",
                "UPDATE audit_eventseal SET position = position + 1",
                "DELETE FROM audit_eventseal",
                "DELETE FROM audit_checkpoint",
                "ALTER TABLE audit_auditevent DISABLE TRIGGER audit_insert_only",
                "SET session_replication_role = replica",
            ):
                with pytest.raises(DatabaseError, match="permission denied|must be owner"), transaction.atomic():
                    cursor.execute(statement)
        finally:
            cursor.execute("RESET ROLE")


def test_grant_sql_refuses_a_role_name_that_is_not_plain() -> None:
    with pytest.raises(CommandError, match="not a plain PostgreSQL role name"):
        audit("grant-sql", "--role", "app; DROP TABLE audit_auditevent")


def test_public_key_prints_what_outside_parties_need() -> None:
    output = audit("public-key")
    assert output.startswith("key id ")
    assert "public key " in output
