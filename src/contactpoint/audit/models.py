"""The audit trail: who did what to which children, when, from where, why, and with what outcome.

Events hold directory identifiers, never a child's personal data, so they survive erasure.

All three tables are insert-only (database triggers, see migration 0003). An event is recorded
unsealed; the sealing step later gives it an :class:`EventSeal` (its position in the log and its
hashes); :class:`Checkpoint` rows sign the Merkle root of the sealed log. See
:mod:`contactpoint.audit.integrity` and ``docs/audit.md``.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models.fields.json import KeyTransform


class AuditEvent(models.Model):
    # Identity of the row. Assigned at insert from a sequence, so values left by rolled-back
    # transactions are missing: gaps in ``sequence`` are normal and prove nothing.
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

    class Meta:
        indexes = [
            models.Index(fields=["action", "occurred_at"]),
            models.Index(fields=["actor_username", "occurred_at"]),
            models.Index(fields=["occurred_at"], name="audit_event_occurred_idx"),
            GinIndex(fields=["children"], name="audit_event_children_gin"),
            # A view through a merged-away identifier names the surviving child in ``children`` and the
            # identifier asked for in ``details.merged_from``: an auditor searching by either finds it.
            models.Index(KeyTransform("merged_from", "details"), name="audit_event_merged_from"),
        ]

    def __str__(self) -> str:
        return f"audit event {self.sequence} ({self.action})"


class EventSeal(models.Model):
    """An event's place in the tamper-evident log, written once by the sealing step.

    Kept apart from the event so that events are never updated at all, and so that sealing is one cheap
    INSERT per event (a row of the events table, with its five indexes, is not rewritten).
    """

    # 0, 1, 2, … with no gaps, assigned at seal time: a missing position is a deleted event, whereas a
    # missing event ``sequence`` may just be a rolled-back transaction.
    position = models.BigIntegerField(primary_key=True)
    event = models.OneToOneField(AuditEvent, on_delete=models.PROTECT, db_column="sequence", related_name="seal")
    # SHA-256(0x00 || canonical JSON of the event, position included): the RFC 9162 Merkle leaf hash.
    leaf_hash = models.BinaryField()
    # Keyed BLAKE2b of (position, leaf_hash) under a key derived from the signing key: lets verification
    # name the exact event an attacker rewrote even when they recomputed its leaf hash.
    seal_mac = models.BinaryField()
    sealed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"seal of audit event {self.event_id} at position {self.position}"


class Checkpoint(models.Model):
    """A signed tree head: the Merkle root of the first ``tree_size`` sealed events, signed with Ed25519.

    The signed text follows the C2SP ``tlog-checkpoint`` note body (origin, size, base64 root, then a
    timestamp line), so an outside party can check it with nothing but the public key.
    """

    tree_size = models.BigIntegerField()
    root_hash = models.BinaryField()
    created_at = models.DateTimeField()
    key_id = models.CharField(max_length=16)
    signature = models.BinaryField()
    # The roots of the perfect subtrees of this tree (see merkle.MerkleFrontier): lets the next
    # checkpoint hash only the events sealed since, once this one's signed root vouches for them.
    frontier = models.BinaryField()

    class Meta:
        ordering = ["tree_size", "id"]

    def __str__(self) -> str:
        return f"checkpoint {self.pk} (size {self.tree_size})"
