"""Misuse alerts raised by the rules (:mod:`contactpoint.alerts.rules`) and what the directory team did.

An alert names the user whose behaviour raised it, the children concerned (directory identifiers only),
the audit events that are its evidence, the rule and a reason in words, and the local authority whose
directory team must deal with it. ``dedup_key`` makes raising idempotent: the scheduled run and the
immediate receiver may both see the same access, and only one alert results.
"""

from __future__ import annotations

import secrets

from django.contrib.postgres.fields import ArrayField
from django.db import models

_REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_alert_reference() -> str:
    """``AL-XXXX-XXXX``: random, short enough to read out on the phone."""
    body = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))
    return f"AL-{body[:4]}-{body[4:]}"


class Rule(models.TextChoices):
    BREAK_GLASS = "break_glass", "Shielded details seen (break glass)"
    SHIELDED_ACCESS = "shielded_access", "Shielded child accessed"
    OWN_FAMILY_NAME = "own_family_name", "Child shares the user's family name"
    OWN_ADDRESS = "own_address", "Child lives at the user's home postcode"
    OUT_OF_AREA = "out_of_area", "Records viewed outside the user's area and caseload"
    SEARCH_VOLUME = "search_volume", "Unusual search volume for the role"
    OUT_OF_HOURS = "out_of_hours", "Burst of accesses out of hours"
    FISHING = "fishing", "Many searches, few records opened"


class Alert(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        ESCALATED = "escalated", "Escalated"

    reference = models.CharField(max_length=12, unique=True, default=new_alert_reference, editable=False)
    rule = models.CharField(max_length=20, choices=Rule.choices)
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.OPEN)
    # The team that must act: the user's area, or the child's for shielded and break-glass accesses.
    local_authority = models.ForeignKey("orgs.LocalAuthority", null=True, blank=True, on_delete=models.PROTECT)
    subject = models.ForeignKey("access.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    subject_username = models.CharField(max_length=150)
    children = ArrayField(models.CharField(max_length=12), default=list, blank=True)
    events = ArrayField(models.BigIntegerField(), default=list, blank=True, help_text="audit event sequences")
    reason = models.CharField(max_length=500, help_text="why the rule fired, without personal data")
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    dedup_key = models.CharField(max_length=200, unique=True)
    raised_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["local_authority", "status", "raised_at"], name="alert_team_queue")]

    def __str__(self) -> str:
        return f"alert {self.reference} ({self.rule})"


class AlertAction(models.Model):
    """One thing the directory team did about an alert (the audit trail has the same, tamper-evident)."""

    class Kind(models.TextChoices):
        ACKNOWLEDGE = "acknowledge", "Acknowledged"
        ESCALATE = "escalate", "Escalated"
        SUSPEND_USER = "suspend_user", "Suspended the user"

    alert = models.ForeignKey(Alert, on_delete=models.PROTECT, related_name="actions")
    kind = models.CharField(max_length=15, choices=Kind.choices)
    actor_username = models.CharField(max_length=150)
    note = models.CharField(max_length=500)
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.kind} of alert {self.alert_id}"


class HomePostcode(models.Model):
    """A user's home postcode, given by their employer, so that searches for neighbours can be noticed.

    Kept here, not on the account or in the audit trail: only the own-address rule reads it.
    """

    user = models.OneToOneField("access.User", on_delete=models.CASCADE, related_name="+")
    postcode = models.CharField(max_length=8)

    def __str__(self) -> str:
        return f"home postcode of user {self.user_id}"


class RuleRun(models.Model):
    """One scheduled evaluation: the next starts where this one ended (less an overlap for late commits)."""

    since = models.DateTimeField()
    until = models.DateTimeField(db_index=True)
    ran_at = models.DateTimeField()
    raised = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"alert rules run {self.pk}"
