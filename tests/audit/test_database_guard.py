"""The database itself keeps audit events insert-only, whatever the application code does."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from contactpoint.audit.integrity import create_checkpoint, seal_events
from contactpoint.audit.models import AuditEvent, Checkpoint

from .factories import make_event

pytestmark = pytest.mark.django_db

SEAL = "UPDATE audit_auditevent SET position = 0, leaf_hash = '\\x01', seal_mac = '\\x01',"


def _refused(sql: str, params: list[object]) -> None:
    with (
        pytest.raises(DatabaseError, match="insert-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, params)


def test_events_cannot_be_updated_or_deleted_through_the_application_connection() -> None:
    event = make_event()
    _refused("UPDATE audit_auditevent SET reason = 'nothing to see' WHERE sequence = %s", [event.sequence])
    _refused("DELETE FROM audit_auditevent WHERE sequence = %s", [event.sequence])
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(outcome="failure")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    event.refresh_from_db()
    assert event.reason == "section 47 enquiry"


def test_sealing_may_fill_the_seal_columns_once_and_change_nothing_else() -> None:
    event = make_event()
    # Sealing and, in the same statement, changing the content is refused.
    _refused(
        "UPDATE audit_auditevent SET position = 0, leaf_hash = '\\x00', seal_mac = '\\x00', reason = 'x' "
        "WHERE sequence = %s",
        [event.sequence],
    )
    # Half a seal is refused.
    _refused("UPDATE audit_auditevent SET position = 0 WHERE sequence = %s", [event.sequence])
    seal_events()
    event.refresh_from_db()
    assert event.position == 0
    # A sealed event cannot be sealed again (moved, or given another hash).
    _refused(
        "UPDATE audit_auditevent SET position = 5, leaf_hash = '\\x00', seal_mac = '\\x00' "
        "WHERE sequence = %s",
        [event.sequence],
    )


@pytest.mark.parametrize(
    "column, value",
    [
        (f.column, None)
        for f in AuditEvent._meta.concrete_fields
        if f.name not in {"position", "leaf_hash", "seal_mac"}
    ],
)
def test_every_content_column_is_covered_by_the_trigger(column: str, value: None) -> None:
    """A column added to the model later is protected without anyone remembering the trigger."""
    event = make_event()
    expression = f"{column} = {column}"  # even a no-op assignment alongside sealing is fine…
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"{SEAL} {expression} WHERE sequence = %s",  # noqa: S608 - column names from the model
            [event.sequence],
        )
        transaction.set_rollback(True)
    # …but a real change is not.
    new_value = {
        "sequence": "sequence + 1000",
        "occurred_at": "occurred_at + interval '1 second'",
        "children": "children || '{222222222222}'::varchar[]",
        "details": """details || '{"x": 1}'::jsonb""",
    }.get(column, f"'x' || {column}")
    _refused(
        f"{SEAL} {column} = {new_value} WHERE sequence = %s",  # noqa: S608 - column names from the model
        [event.sequence],
    )


def test_checkpoints_cannot_be_updated_or_deleted() -> None:
    make_event()
    checkpoint = create_checkpoint()
    _refused("UPDATE audit_checkpoint SET tree_size = 0 WHERE id = %s", [checkpoint.pk])
    _refused("DELETE FROM audit_checkpoint WHERE id = %s", [checkpoint.pk])
    assert Checkpoint.objects.get().tree_size == 1
