"""What retention needs to remember about a child: when it was archived, and its data key.

Both rows go with the child: erasure deletes them in the same transaction as the child's own rows.
"""

from __future__ import annotations

from django.db import models


class Archival(models.Model):
    """A child archived by the retention rules: invisible to practitioners, erased after the archive period."""

    class Rule(models.TextChoices):
        ADULT = "adult", "Reached the age of adulthood"
        EXTENDED = "extended", "Reached the end of the extended period (care leaver, SEN)"
        OTHER = "other", "Archived by other means (found without a record; dated when found)"

    child = models.OneToOneField("directory.Child", on_delete=models.CASCADE, related_name="+")
    archived_on = models.DateField()
    rule = models.CharField(max_length=10, choices=Rule.choices)

    class Meta:
        indexes = [models.Index(fields=["archived_on"], name="archival_archived_on")]


class ChildKey(models.Model):
    """A child's data key (AES-256-GCM), wrapped by the master key. Deleting the row destroys the key."""

    child = models.OneToOneField("directory.Child", on_delete=models.CASCADE, related_name="+")
    wrapped_key = models.BinaryField()
    # Which wrapper (and which master key) wrapped it: "local:<key id>" or "vault:<key name>".
    wrapped_by = models.CharField(max_length=80)
    created_at = models.DateTimeField(auto_now_add=True)
