"""Factories for audit events, built through the real write path (record_event)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from contactpoint.audit.models import AuditEvent
from contactpoint.audit.services import record_event
from contactpoint.audit.tags import AuditAction
from contactpoint.core.identifiers import new_contactpoint_id


@dataclass
class FakeOrganisation:
    code: str = "ORG001"


@dataclass
class FakeUser:
    """Stands in for an access.User (the audit app may not import access)."""

    username: str = "p.practitioner"
    role: str = "practitioner"
    organisation: FakeOrganisation | None = field(default_factory=FakeOrganisation)


def make_event(**overrides: Any) -> AuditEvent:
    values: dict[str, Any] = {
        "action": AuditAction.ACCESS_CHILD_VIEW,
        "actor": FakeUser(),
        "children": [new_contactpoint_id()],
        "client_address": "192.0.2.10",
        "reason": "section 47 enquiry",
        "details": {"fields_shown": ["involvements"], "result_count": 1},
    }
    values.update(overrides)
    with transaction.atomic():
        return record_event(**values)


def make_events(count: int, **overrides: Any) -> list[AuditEvent]:
    return [make_event(**overrides) for _ in range(count)]
