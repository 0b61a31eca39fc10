"""Reading alerts: a directory team sees its own area's; auditors see every one. Nothing here writes."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from contactpoint.access import policy
from contactpoint.access.permissions import Permission
from contactpoint.alerts.models import Alert


def list_alerts(*, user: Any, status: str = "") -> QuerySet[Alert]:
    """Alerts the user's team must deal with (all of them for auditors), newest first."""
    decision = policy.require(user, Permission.ALERTS_ALERT_VIEW)
    alerts = Alert.objects.select_related("local_authority").order_by("-raised_at", "-id")
    if decision.local_authority_scope is not None:
        alerts = alerts.filter(local_authority_id=decision.local_authority_scope)
    if status:
        alerts = alerts.filter(status=status)
    return alerts


def get_alert(*, user: Any, reference: str) -> Alert:
    """One alert with its history. Raises AccessDenied outside the user's area, Alert.DoesNotExist if none."""
    alert = (
        Alert.objects.select_related("local_authority").prefetch_related("actions")
        .get(reference=reference.strip().upper())
    )
    decision = policy.require(user, Permission.ALERTS_ALERT_VIEW, local_authority_id=alert.local_authority_id)
    if decision.local_authority_scope is not None and alert.local_authority_id is None:
        refusal = policy.Decision(False, "outside your local authority")
        raise policy.AccessDenied(refusal, str(Permission.ALERTS_ALERT_VIEW))
    return alert
