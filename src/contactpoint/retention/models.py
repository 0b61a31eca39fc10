"""What retention needs to remember about a child: when it was archived.

The row goes with the child: erasure deletes it in the same transaction as the child's own rows. The
child's data key is not here but in the key store (:mod:`contactpoint.keystore`, a database of its own).
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

