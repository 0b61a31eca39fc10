"""Tamper evidence: an attacker with database superuser access changes stored events in every way we
can think of, and ``verify_log`` catches it and names the first bad event."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db import transaction
from django.utils import timezone

from contactpoint.audit import integrity
from contactpoint.audit.canonical import canonical_document, canonical_event, event_leaf_hash, event_select
from contactpoint.audit.errors import AuditLogDamaged
from contactpoint.audit.integrity import (
    SEAL_LOOKBACK,
    ExportedCheckpoint,
    create_checkpoint,
    export_checkpoint,
    seal_events,
    verify_log,
)
from contactpoint.audit.keys import ENVIRONMENT_VARIABLE, encode_private_key
from contactpoint.audit.models import AuditEvent, Checkpoint, EventSeal
from contactpoint.audit.services import record_event
from contactpoint.audit.tags import AuditAction

from .factories import FakeUser, make_event, make_events

pytestmark = pytest.mark.django_db

Attacker = Callable[[], Any]


def _sealed_log(count: int = 10) -> list[AuditEvent]:
    """``count`` events, sealed and covered by a stored checkpoint; returned in log order."""
    make_events(count)
    create_checkpoint()
    return list(AuditEvent.objects.order_by("seal__position"))


def _recompute_leaf_hashes(sql: Callable[..., list[tuple[Any, ...]]]) -> None:
    """What a careful attacker does after editing rows: make every leaf hash match again."""
    rows = sql(
        f"SELECT {event_select('e')}, s.position FROM audit_eventseal AS s "  # noqa: S608
        "JOIN audit_auditevent AS e ON e.sequence = s.sequence"
    )
    for row in rows:
        sql(
            "UPDATE audit_eventseal SET leaf_hash = %s WHERE position = %s",
            [event_leaf_hash(row[:-1], row[-1]), row[-1]],
        )


def _export_to(path: Path, checkpoint: Checkpoint) -> ExportedCheckpoint:
    path.write_text(json.dumps(export_checkpoint(checkpoint)))
    return ExportedCheckpoint.from_file(path)


# --- a sound log ---------------------------------------------------------------------------------------


def test_a_sound_log_verifies_and_pending_events_are_sealed_afterwards() -> None:
    _sealed_log(5)
    make_events(2)
    result = verify_log()
    assert result.ok, result.summary()
    assert (result.events, result.checkpoints, result.newly_sealed) == (5, 1, 2)
    assert result.summary().startswith("audit log verified: 5 events")
    assert verify_log().events == 7


def test_an_empty_log_verifies() -> None:
    assert verify_log().ok


def test_sealing_gives_contiguous_positions_in_sequence_order() -> None:
    events = make_events(4)
    result = seal_events()
    assert (result.sealed, result.tree_size) == (4, 4)
    positions = list(AuditEvent.objects.order_by("sequence").values_list("seal__position", flat=True))
    assert positions == [0, 1, 2, 3]
    assert [e.sequence for e in events] == sorted(e.sequence for e in events)
    assert seal_events().sealed == 0


def test_a_routine_seal_looks_back_a_day_and_verify_finds_older_stragglers() -> None:
    first = make_event()
    seal_events()
    # An event recorded more than a day ago (so with an older sequence number) whose transaction
    # somehow committed only now.
    straggler = AuditEvent.objects.create(
        sequence=first.sequence - 1,
        occurred_at=timezone.now() - SEAL_LOOKBACK - dt.timedelta(hours=1),
        action=AuditAction.ACCESS_SEARCH,
    )
    recent = make_event()
    assert seal_events().sealed == 1
    assert EventSeal.objects.filter(event=recent).exists()
    result = verify_log()
    assert result.ok and (result.unsealed, result.newly_sealed) == (1, 1)
    assert EventSeal.objects.get(event=straggler).position == 2
    assert seal_events(full=True).sealed == 0


def test_a_gap_left_by_a_rolled_back_transaction_is_not_tampering() -> None:
    make_event()
    with pytest.raises(RuntimeError), transaction.atomic():
        record_event(action=AuditAction.ACCESS_SEARCH, actor=FakeUser())
        raise RuntimeError("the search failed, so its audit event rolls back with it")
    make_event()
    create_checkpoint()
    sequences = sorted(AuditEvent.objects.values_list("sequence", flat=True))
    assert sequences[1] - sequences[0] == 2  # the rolled-back event's sequence number is missing
    result = verify_log()
    assert result.ok, result.summary()
    assert result.events == 2


def test_checkpoints_reuse_the_previous_frontier_and_agree_with_a_full_recomputation() -> None:
    make_events(3)
    first = create_checkpoint()
    make_events(4)
    second = create_checkpoint()
    assert (first.tree_size, second.tree_size) == (3, 7)
    result = verify_log()
    assert result.ok, result.summary()
    assert result.root == bytes(second.root_hash)


# --- tampering -----------------------------------------------------------------------------------------


def test_an_altered_field_is_caught_at_that_event(attacker: Attacker) -> None:
    events = _sealed_log()
    victim = events[4]
    with attacker() as sql:
        sql("UPDATE audit_auditevent SET reason = 'routine check' WHERE sequence = %s", [victim.sequence])
    result = verify_log()
    assert not result.ok
    assert (result.problem.sequence, result.problem.position) == (victim.sequence, 4)
    assert "altered" in result.problem.message


def test_an_altered_field_with_a_recomputed_hash_is_caught_by_its_seal(attacker: Attacker) -> None:
    events = _sealed_log()
    victim = events[2]
    with attacker() as sql:
        sql("UPDATE audit_auditevent SET children = '{}' WHERE sequence = %s", [victim.sequence])
        _recompute_leaf_hashes(sql)
    result = verify_log()
    assert (result.problem.sequence, result.problem.position) == (victim.sequence, 2)
    assert "seal is not valid" in result.problem.message


def test_a_deleted_event_is_caught_and_named_by_its_seal(attacker: Attacker) -> None:
    events = _sealed_log()
    with attacker() as sql:
        sql("DELETE FROM audit_auditevent WHERE sequence = %s", [events[6].sequence])
    result = verify_log()
    assert (result.problem.sequence, result.problem.position) == (events[6].sequence, 6)
    assert "deleted" in result.problem.message


def test_a_deleted_event_and_its_seal_are_caught_at_their_position(attacker: Attacker) -> None:
    events = _sealed_log()
    with attacker() as sql:
        sql("DELETE FROM audit_eventseal WHERE sequence = %s", [events[6].sequence])
        sql("DELETE FROM audit_auditevent WHERE sequence = %s", [events[6].sequence])
    result = verify_log()
    assert result.problem.position == 6
    assert f"after event {events[5].sequence} were deleted" in result.problem.message
    assert f"next surviving event is {events[7].sequence}" in result.problem.message


def test_a_deleted_event_with_the_log_renumbered_is_caught_at_the_first_moved_event(
    attacker: Attacker,
) -> None:
    events = _sealed_log()
    with attacker() as sql:
        sql("DELETE FROM audit_eventseal WHERE sequence = %s", [events[3].sequence])
        sql("DELETE FROM audit_auditevent WHERE sequence = %s", [events[3].sequence])
        sql("UPDATE audit_eventseal SET position = position - 1 WHERE position > 3")
        _recompute_leaf_hashes(sql)
    result = verify_log()
    assert (result.problem.sequence, result.problem.position) == (events[4].sequence, 3)


def test_a_forged_event_inserted_into_the_log_is_caught(attacker: Attacker) -> None:
    events = _sealed_log()
    with attacker() as sql:
        # Make room at position 5, then insert a plausible event there, sealed with a correct leaf hash
        # and a MAC copied from a genuine event.
        sql("UPDATE audit_eventseal SET position = -position - 2 WHERE position >= 5")
        sql("UPDATE audit_eventseal SET position = -position - 1 WHERE position < 0")
        sql(
            "INSERT INTO audit_auditevent (sequence, occurred_at, action, outcome, actor_username, "
            "actor_role, actor_organisation, requester, children, client_address, reason, details) "
            "SELECT 999999, occurred_at, action, outcome, 'someone.else', actor_role, actor_organisation, "
            "requester, children, client_address, reason, details FROM audit_auditevent WHERE sequence = %s",
            [events[4].sequence],
        )
        sql(
            "INSERT INTO audit_eventseal (position, sequence, leaf_hash, seal_mac, sealed_at) "
            "SELECT 5, 999999, leaf_hash, seal_mac, sealed_at FROM audit_eventseal WHERE position = 4"
        )
        _recompute_leaf_hashes(sql)
    result = verify_log()
    assert (result.problem.sequence, result.problem.position) == (999999, 5)
    assert "forged" in result.problem.message


def test_two_swapped_events_are_caught_at_the_first_of_them(attacker: Attacker) -> None:
    events = _sealed_log()
    with attacker() as sql:
        sql("UPDATE audit_eventseal SET position = -1 WHERE position = 2")
        sql("UPDATE audit_eventseal SET position = 2 WHERE position = 7")
        sql("UPDATE audit_eventseal SET position = 7 WHERE position = -1")
    result = verify_log()
    assert (result.problem.sequence, result.problem.position) == (events[7].sequence, 2)
    assert "moved" in result.problem.message


def test_two_events_with_swapped_contents_are_caught_at_the_first_of_them(attacker: Attacker) -> None:
    events = _sealed_log()
    first, second = events[1], events[8]
    with attacker() as sql:
        sql(
            "UPDATE audit_auditevent AS a SET occurred_at = b.occurred_at, action = b.action, "
            "children = b.children FROM audit_auditevent AS b "
            "WHERE (a.sequence, b.sequence) IN ((%s, %s), (%s, %s))",
            [first.sequence, second.sequence, second.sequence, first.sequence],
        )
        _recompute_leaf_hashes(sql)
    result = verify_log()
    assert (result.problem.sequence, result.problem.position) == (first.sequence, 1)


def _truncate_from(sql: Callable[..., list[tuple[Any, ...]]], position: int) -> None:
    sql(
        "DELETE FROM audit_auditevent WHERE sequence IN (SELECT sequence FROM audit_eventseal WHERE position >= %s)",
        [position],
    )
    sql("DELETE FROM audit_eventseal WHERE position >= %s", [position])


def test_a_truncated_tail_is_caught_by_the_stored_checkpoint(attacker: Attacker) -> None:
    events = _sealed_log()
    with attacker() as sql:
        _truncate_from(sql, 7)
    result = verify_log()
    assert result.problem.position == 7
    assert f"after event {events[6].sequence} were deleted" in result.problem.message
    assert "checkpoint #" in result.problem.message
    with pytest.raises(AuditLogDamaged, match="covers 10"):
        create_checkpoint()  # nor is the shortened log signed over


def test_a_truncated_tail_with_checkpoints_removed_is_caught_by_an_exported_checkpoint(
    attacker: Attacker, tmp_path: Path
) -> None:
    _sealed_log()
    exported = _export_to(tmp_path / "checkpoint.json", Checkpoint.objects.get())
    with attacker() as sql:
        _truncate_from(sql, 7)
        sql("DELETE FROM audit_checkpoint")
    assert verify_log(seal_afterwards=False).ok  # what is left is consistent with itself…
    result = verify_log(exported=[exported])  # …but not with what an outside party kept
    assert result.problem.position == 7
    assert "exported checkpoint checkpoint.json covers 10" in result.problem.message


def test_a_rewritten_history_is_caught_by_an_exported_checkpoint_even_with_the_seal_key(
    attacker: Attacker, tmp_path: Path
) -> None:
    """The worst case: an insider with the database and the signing key rewrites an event, reseals
    everything and signs a fresh checkpoint. Only a checkpoint kept outside can tell."""
    events = _sealed_log()
    exported = _export_to(tmp_path / "kept-by-the-auditor.json", Checkpoint.objects.get())
    with attacker() as sql:
        sql(
            "UPDATE audit_auditevent SET reason = 'nothing happened' WHERE sequence = %s",
            [events[3].sequence],
        )
        sql("DELETE FROM audit_eventseal")
        sql("DELETE FROM audit_checkpoint")
    create_checkpoint()
    assert verify_log().ok
    result = verify_log(exported=[exported])
    assert "no longer give the root in exported checkpoint kept-by-the-auditor.json" in result.problem.message
    assert result.problem.position == 9


def test_an_altered_stored_checkpoint_is_caught(attacker: Attacker) -> None:
    _sealed_log()
    with attacker() as sql:
        sql("UPDATE audit_checkpoint SET tree_size = 4")
    result = verify_log()
    assert "signature does not verify" in result.problem.message


# --- exported checkpoints ----------------------------------------------------------------------------


def test_an_older_exported_checkpoint_still_matches_after_more_events(tmp_path: Path) -> None:
    _sealed_log(5)
    exported = _export_to(tmp_path / "older.json", Checkpoint.objects.get())
    make_events(6)
    create_checkpoint()
    make_events(2)
    result = verify_log(exported=[exported])
    assert result.ok, result.summary()
    assert (result.events, result.exported, result.newly_sealed) == (11, 1, 2)


def test_an_exported_checkpoint_holds_what_an_outside_party_needs() -> None:
    _sealed_log(3)
    document = export_checkpoint(Checkpoint.objects.get())
    assert set(document) == {
        "format",
        "origin",
        "tree_size",
        "root_hash",
        "timestamp",
        "key_id",
        "public_key",
        "signature",
        "note",
    }
    assert document["tree_size"] == 3
    assert document["note"].splitlines()[:2] == ["contactpoint/audit/v1", "3"]


def test_an_exported_checkpoint_with_an_altered_root_is_refused(tmp_path: Path) -> None:
    _sealed_log(3)
    document = export_checkpoint(Checkpoint.objects.get())
    document["root_hash"] = "00" * 32
    path = tmp_path / "forged.json"
    path.write_text(json.dumps(document))
    result = verify_log(exported=[ExportedCheckpoint.from_file(path)])
    assert "forged.json: its signature does not verify" in result.problem.message


def test_an_exported_checkpoint_signed_with_another_key_is_refused(tmp_path: Path) -> None:
    """Someone hands the auditor a checkpoint signed with their own key, public key enclosed."""
    _sealed_log(3)
    document = export_checkpoint(Checkpoint.objects.get())
    other = Ed25519PrivateKey.generate()
    document["public_key"] = base64.b64encode(
        other.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    ).decode()
    document["signature"] = base64.b64encode(other.sign(document["note"].encode())).decode()
    path = tmp_path / "theirs.json"
    path.write_text(json.dumps(document))
    result = verify_log(exported=[ExportedCheckpoint.from_file(path)])
    assert "theirs.json was signed by key" in result.problem.message
    assert "not the configured key" in result.problem.message


def test_verifying_with_the_wrong_key_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    _sealed_log(3)
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, encode_private_key(Ed25519PrivateKey.generate()))
    result = verify_log()
    assert "the configured signing key" in result.problem.message
    assert result.problem.sequence is None


# --- the canonical form -------------------------------------------------------------------------------


def test_the_hand_written_canonical_form_is_exactly_sorted_compact_json() -> None:
    make_event(
        reason='Zoë\'s "urgent" case\nline two \u2028 \U0001f600',
        requester="PC 12 \\ Midshire",
        details={"z": [1, 2.5, None, True], "a": {"nested": "é", "b": -3}, "": "empty key"},
    )
    make_event(details={}, children=[])
    seal_events()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {event_select('e')}, s.position, s.leaf_hash FROM audit_auditevent AS e "  # noqa: S608
            "JOIN audit_eventseal AS s ON s.sequence = e.sequence ORDER BY s.position"
        )
        rows = cursor.fetchall()
    for row in rows:
        event_row, position, stored = row[:12], row[12], bytes(row[13])
        reference = json.dumps(canonical_document(event_row, position), sort_keys=True, separators=(",", ":"))
        assert canonical_event(event_row, position) == reference.encode("ascii")
        assert stored == hashlib.sha256(b"\x00" + reference.encode("ascii")).digest()


# --- parallel verification ----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_worker_processes_verify_ranges_and_name_the_same_first_bad_event(
    attacker: Attacker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long log is checked by worker processes over their own connections (so this test commits)."""
    monkeypatch.setattr(integrity, "PARALLEL_MIN_EVENTS", 0)
    events = make_events(30)
    create_checkpoint()
    parallel = verify_log(workers=2, range_size=7)
    assert parallel.ok, parallel.summary()
    assert (parallel.events, parallel.root) == (30, verify_log(workers=1).root)

    with attacker() as sql:  # inside the fourth range (positions 21–27)
        sql("UPDATE audit_auditevent SET reason = 'x' WHERE sequence = %s", [events[23].sequence])
    result = verify_log(workers=2, range_size=7)
    assert (result.problem.sequence, result.problem.position) == (events[23].sequence, 23)

    with attacker() as sql:  # the last position of the second range (7–13): an earlier problem
        sql("DELETE FROM audit_eventseal WHERE position = 13")
    result = verify_log(workers=2, range_size=7)
    assert result.problem.position == 13
    assert f"after event {events[12].sequence} were deleted" in result.problem.message

    with attacker() as sql:
        _truncate_from(sql, 13)
    result = verify_log(workers=2, range_size=7)
    assert result.problem.position == 13  # now caught by the stored checkpoint instead
    assert "covers 30" in result.problem.message
