"""Raising alerts, and what a directory team does with one: acknowledge, escalate, suspend the user.

Every service is atomic and writes its audit event in the same transaction: ``alert:alert:raise`` (by
the system actor ``alerts``), ``alert:alert:acknowledge``, ``alert:alert:escalate``; suspending goes
through :func:`contactpoint.access.services.suspend_user` (``account:user:suspend``, its reason naming
the alert) and acknowledges the alert.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from contactpoint.access import policy
from contactpoint.access import services as access_services
from contactpoint.access.models import User
from contactpoint.access.permissions import Permission
from contactpoint.alerts import rules
from contactpoint.alerts.models import Alert, AlertAction, HomePostcode, RuleRun
from contactpoint.alerts.rules import Finding
from contactpoint.audit.models import AuditEvent
from contactpoint.audit.services import record_event
from contactpoint.audit.tags import AuditAction
from contactpoint.core.validators import normalise_postcode
from contactpoint.orgs.models import LocalAuthority

SYSTEM_ACTOR = "alerts"
# The scheduled run looks back this far before the previous run's end, for events that committed late.
LATE_COMMIT_OVERLAP = datetime.timedelta(minutes=15)


class AlertError(ValueError):
    """A request about an alert that cannot be carried out (bad input, not a policy refusal)."""


@dataclass(frozen=True)
class RunSummary:
    since: datetime.datetime
    until: datetime.datetime
    raised: list[str]  # references of new alerts
    updated: list[str]  # references of open alerts whose evidence grew


def _record_raise(alert: Alert) -> None:
    authority = None
    if alert.local_authority_id is not None:
        authority = LocalAuthority.objects.filter(pk=alert.local_authority_id).values_list("code", flat=True).first()
    record_event(
        action=AuditAction.ALERT_RAISE, actor=None, system_actor=SYSTEM_ACTOR, children=alert.children,
        details={"alert": alert.reference, "rule": alert.rule, "subject_user": alert.subject_username,
                 "local_authority": authority or "", "evidence": list(alert.events)},
    )


@transaction.atomic
def raise_alert(finding: Finding) -> tuple[Alert, str]:
    """Raise the alert for ``finding``, once: ("raised" | "updated" | "unchanged").

    A finding whose alert exists (same ``dedup_key``) adds its evidence to it while it is open; an
    acknowledged or escalated alert is left as decided.
    """
    existing = Alert.objects.select_for_update().filter(dedup_key=finding.dedup_key).first()
    if existing is None:
        subject = User.objects.filter(username=finding.subject_username).first()
        try:
            with transaction.atomic():  # a savepoint: a concurrent raise of the same key loses cleanly
                alert = Alert.objects.create(
                    rule=finding.rule, local_authority_id=finding.local_authority_id, subject=subject,
                    subject_username=finding.subject_username, children=sorted(finding.children),
                    events=sorted(finding.events), reason=finding.reason[:500], window_start=finding.window_start,
                    window_end=finding.window_end, dedup_key=finding.dedup_key, raised_at=timezone.now(),
                )
        except IntegrityError:
            return Alert.objects.get(dedup_key=finding.dedup_key), "unchanged"
        _record_raise(alert)
        return alert, "raised"
    new_events = set(finding.events) - set(existing.events)
    if existing.status != Alert.Status.OPEN or not new_events:
        return existing, "unchanged"
    existing.events = sorted(set(existing.events) | new_events)
    existing.children = sorted(set(existing.children) | set(finding.children))
    existing.reason = finding.reason[:500]
    existing.window_end = max(existing.window_end, finding.window_end)
    existing.save(update_fields=["events", "children", "reason", "window_end"])
    return existing, "updated"


def raise_immediate_alerts(event: AuditEvent) -> list[Alert]:
    """Alerts for a break-glass or shielded access, raised in the transaction that records the access."""
    return [raise_alert(finding)[0] for finding in rules.evaluate_immediately(event)]


def default_since(now: datetime.datetime) -> datetime.datetime:
    """Where the scheduled run starts: the previous run's end less an overlap (for late commits), or a day back."""
    last = RuleRun.objects.order_by("-until").values_list("until", flat=True).first()
    return last - LATE_COMMIT_OVERLAP if last is not None else now - datetime.timedelta(days=1)


def run_alert_rules(*, since: datetime.datetime | None = None, until: datetime.datetime | None = None) -> RunSummary:
    """Evaluate every rule over the audit events of [since, until) and raise what they find. Idempotent."""
    until = until or timezone.now()
    since = since or default_since(until)
    if since >= until:
        raise AlertError("--since must be before now")
    raised, updated = [], []
    with transaction.atomic():
        for finding in rules.evaluate(since, until):
            alert, outcome = raise_alert(finding)
            if outcome == "raised":
                raised.append(alert.reference)
            elif outcome == "updated":
                updated.append(alert.reference)
        RuleRun.objects.create(since=since, until=until, ran_at=timezone.now(), raised=len(raised))
    return RunSummary(since=since, until=until, raised=raised, updated=sorted(set(updated)))


# What the directory team does ------------------------------------------------------------------------


def _alert_for_action(actor: Any, reference: str) -> Alert:
    alert = Alert.objects.select_for_update().filter(reference=reference.strip().upper()).first()
    if alert is None:
        raise AlertError("no alert with this reference")
    decision = policy.require(actor, Permission.ALERTS_ALERT_ACKNOWLEDGE, local_authority_id=alert.local_authority_id)
    if decision.local_authority_scope is not None and alert.local_authority_id is None:
        raise policy.AccessDenied(policy.Decision(False, "this alert belongs to no directory team"),
                                  str(Permission.ALERTS_ALERT_ACKNOWLEDGE))
    return alert


def _act(alert: Alert, *, actor: User, kind: str, note: str, action: AuditAction, client_address: str,
         details: dict[str, Any] | None = None) -> None:
    AlertAction.objects.create(alert=alert, kind=kind, actor_username=actor.username, note=note, at=timezone.now())
    record_event(
        action=action, actor=actor, children=alert.children, reason=note, client_address=client_address,
        details={"alert": alert.reference, "rule": alert.rule, "subject_user": alert.subject_username,
                 **(details or {})},
    )


@transaction.atomic
def acknowledge_alert(*, actor: User, reference: str, note: str, client_address: str = "") -> Alert:
    """Close an alert as looked into (a note says what was found). Audited."""
    if not note.strip():
        raise AlertError("say what you found (a note is required)")
    alert = _alert_for_action(actor, reference)
    if alert.status != Alert.Status.OPEN:
        raise AlertError(f"this alert is already {alert.get_status_display().lower()}")
    alert.status = Alert.Status.ACKNOWLEDGED
    alert.save(update_fields=["status"])
    _act(alert, actor=actor, kind=AlertAction.Kind.ACKNOWLEDGE, note=note.strip(),
         action=AuditAction.ALERT_ACKNOWLEDGE, client_address=client_address)
    return alert


@transaction.atomic
def escalate_alert(*, actor: User, reference: str, note: str, client_address: str = "") -> Alert:
    """Pass an alert on (to the employer, the information governance lead, the police). Audited."""
    if not note.strip():
        raise AlertError("say to whom and why you escalate (a note is required)")
    alert = _alert_for_action(actor, reference)
    if alert.status == Alert.Status.ESCALATED:
        raise AlertError("this alert is already escalated")
    alert.status = Alert.Status.ESCALATED
    alert.save(update_fields=["status"])
    _act(alert, actor=actor, kind=AlertAction.Kind.ESCALATE, note=note.strip(), action=AuditAction.ALERT_ESCALATE,
         client_address=client_address)
    return alert


@transaction.atomic
def suspend_user_for_alert(*, actor: User, reference: str, note: str, client_address: str = "") -> Alert:
    """Suspend the user the alert is about (every session and token ends at once), and acknowledge it.

    The suspension itself is :func:`contactpoint.access.services.suspend_user`, so the policy there
    applies: a team may suspend only accounts in its own area (for a shielded child's alert about a user
    elsewhere, escalate to that user's team instead).
    """
    if not note.strip():
        raise AlertError("give the reason for the suspension")
    alert = _alert_for_action(actor, reference)
    subject = User.objects.select_related("organisation").filter(pk=alert.subject_id or 0).first()
    if subject is None:
        raise AlertError("this alert's user has no account to suspend")
    if subject.suspended_at is not None:
        raise AlertError(f"{subject.username} is already suspended")
    access_services.suspend_user(actor=actor, user=subject, reason=f"alert {alert.reference}: {note.strip()}")
    _act(alert, actor=actor, kind=AlertAction.Kind.SUSPEND_USER, note=note.strip(),
         action=AuditAction.ALERT_ACKNOWLEDGE if alert.status == Alert.Status.OPEN else AuditAction.ALERT_ESCALATE,
         client_address=client_address, details={"user_suspended": True})
    if alert.status == Alert.Status.OPEN:
        alert.status = Alert.Status.ACKNOWLEDGED
        alert.save(update_fields=["status"])
    return alert


@transaction.atomic
def set_home_postcode(*, actor: User | str, user: User, postcode: str) -> None:
    """Record a user's home postcode for the own-address rule (their account managers only). Audited,
    without the postcode."""
    if isinstance(actor, User):
        policy.require(actor, Permission.ACCESS_USER_MANAGE, local_authority_id=user.local_authority_id)
    value = normalise_postcode(postcode)
    HomePostcode.objects.update_or_create(user=user, defaults={"postcode": value})
    record_event(
        action=AuditAction.ACCOUNT_USER_CHANGE, actor=actor if isinstance(actor, User) else None,
        system_actor="" if isinstance(actor, User) else actor,
        details={"user": user.username, "changed": ["home postcode"]},
    )
