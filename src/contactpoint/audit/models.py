"""The audit trail: who did what to which children, when, from where, why, and with what outcome.

Events hold directory identifiers, never a child's personal data, so they survive erasure.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models


class AuditEvent(models.Model):
    sequence = models.BigAutoField(primary_key=True)
    occurred_at = models.DateTimeField()
    action = models.CharField(max_length=60)
    outcome = models.CharField(max_length=20, default="success")
    actor_username = models.CharField(max_length=150, blank=True)
    actor_role = models.CharField(max_length=20, blank=True)
    actor_organisation = models.CharField(max_length=20, blank=True)
    requester = models.CharField(max_length=200, blank=True, help_text="for operators: on whose behalf")
    children = ArrayField(models.CharField(max_length=12), default=list, blank=True)
    client_address = models.CharField(max_length=45, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    details = models.JSONField(default=dict, blank=True)
    # Hash chain: entry_hash = H(previous entry_hash || canonical event). See contactpoint.audit.chain.
    entry_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["action", "occurred_at"]),
            models.Index(fields=["actor_username", "occurred_at"]),
        ]
