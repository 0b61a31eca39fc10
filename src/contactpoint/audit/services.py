"""Writing audit events. Call :func:`record_event` inside the transaction of the action it records."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from django.db import transaction
from django.utils import timezone

from contactpoint.audit.models import AuditEvent
from contactpoint.audit.tags import AuditAction


class Actor(Protocol):
    """What the audit trail needs to know of whoever acted (a user, or a named system process)."""

    username: str
    role: str


def record_event(
    *,
    action: AuditAction,
    actor: Any | None,
    children: Iterable[str] = (),
    outcome: str = "success",
    requester: str = "",
    client_address: str = "",
    reason: str = "",
    details: dict[str, Any] | None = None,
    system_actor: str = "",
) -> AuditEvent:
    """Append one event to the audit trail.

    ``children`` are directory identifiers, never personal data; ``details`` must not hold personal
    data either (counts, identifiers of batches, names of fields are fine). Must be called inside the
    transaction of the action, so that the action and its record commit or fail together.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit events must be recorded inside the transaction of the action they record")
    organisation = ""
    if actor is not None and getattr(actor, "organisation", None) is not None:
        organisation = actor.organisation.code
    return AuditEvent.objects.create(
        occurred_at=timezone.now(),
        action=str(action),
        outcome=outcome,
        actor_username=getattr(actor, "username", "") if actor is not None else system_actor,
        actor_role=getattr(actor, "role", "") if actor is not None else "system",
        actor_organisation=organisation,
        requester=requester,
        children=sorted(set(children)),
        client_address=client_address,
        reason=reason,
        details=details or {},
    )
