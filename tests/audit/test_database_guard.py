"""The database itself keeps the audit trail insert-only, whatever the application code does."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from contactpoint.audit.integrity import create_checkpoint, seal_events
from contactpoint.audit.models import AuditEvent, Checkpoint, EventSeal

from .factories import make_event

pytestmark = pytest.mark.django_db


def _refused(sql: str, params: list[object]) -> None:
    with pytest.raises(DatabaseError, match="insert-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_events_cannot_be_updated_or_deleted_through_the_application_connection() -> None:
    event = make_event()
    _refused("UPDATE audit_auditevent SET reason = 'nothing to see' WHERE sequence = %s", [event.sequence])
    _refused("UPDATE audit_auditevent SET reason = reason WHERE sequence = %s", [event.sequence])
    _refused("DELETE FROM audit_auditevent WHERE sequence = %s", [event.sequence])
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(outcome="failure")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    event.refresh_from_db()
    assert event.reason == "section 47 enquiry"


def test_seals_cannot_be_updated_or_deleted() -> None:
    event = make_event()
    seal_events()
    _refused("UPDATE audit_eventseal SET position = 5 WHERE sequence = %s", [event.sequence])
    _refused("UPDATE audit_eventseal SET leaf_hash = '\\x00' WHERE sequence = %s", [event.sequence])
    _refused("DELETE FROM audit_eventseal WHERE sequence = %s", [event.sequence])
    assert EventSeal.objects.get().position == 0


def test_checkpoints_cannot_be_updated_or_deleted() -> None:
    make_event()
    checkpoint = create_checkpoint()
    _refused("UPDATE audit_checkpoint SET tree_size = 0 WHERE id = %s", [checkpoint.pk])
    _refused("DELETE FROM audit_checkpoint WHERE id = %s", [checkpoint.pk])
    assert Checkpoint.objects.get().tree_size == 1
