"""Break-glass and shielded accesses alert at once: this receiver runs as their audit event is recorded.

Why a receiver on the audit event rather than a call from the directory: ``directory`` sits below
``alerts`` in the layers and must not import it, and every place that shows a shielded child (search,
record, involvements, subject access) already records an audit event. Hooking the event catches them
all, including ones added later, and runs inside the same transaction as the access: a break-glass
view and its alert commit together or not at all. The scheduled run evaluates the same rules again as a
backstop; the alert's ``dedup_key`` stops a second alert.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from contactpoint.alerts.rules import IMMEDIATE_ACTIONS
from contactpoint.audit.models import AuditEvent


@receiver(post_save, sender=AuditEvent, dispatch_uid="contactpoint.alerts.immediate")
def alert_on_shielded_access(sender: Any, instance: AuditEvent, created: bool, **kwargs: Any) -> None:
    if not created or instance.action not in IMMEDIATE_ACTIONS or not instance.children:
        return
    from contactpoint.alerts.services import raise_immediate_alerts

    raise_immediate_alerts(instance)
