"""Source systems, the feeds they send, and the source records each contributed (with provenance)."""

from __future__ import annotations

from django.db import models


class SourceSystem(models.Model):
    """A system that sends feeds (child benefit, NHS demographics, school census, LA social care…)."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    # Higher trust wins when sources disagree (survivorship rules, docs/matching.md).
    trust = models.PositiveSmallIntegerField(default=5)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.code


class FeedBatch(models.Model):
    """One file loaded from a source: what it was, when, by whom, and what happened."""

    class Mode(models.TextChoices):
        FULL = "full", "Full (retires records not sent)"
        DELTA = "delta", "Delta (adds and changes only)"

    class Status(models.TextChoices):
        LOADING = "loading", "Loading"
        LOADED = "loaded", "Loaded"
        REFUSED = "refused", "Refused"
        FAILED = "failed", "Failed"

    source = models.ForeignKey(SourceSystem, on_delete=models.PROTECT, related_name="batches")
    file_name = models.CharField(max_length=255)
    file_sha256 = models.CharField(max_length=64)
    mode = models.CharField(max_length=5, choices=Mode.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.LOADING)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    loaded_by = models.CharField(max_length=150, blank=True, help_text="user or process that ran the load")
    summary = models.JSONField(default=dict)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]


class RejectedRow(models.Model):
    """A row a feed sent that failed validation: which line, which field, why. Never its data."""

    batch = models.ForeignKey(FeedBatch, on_delete=models.CASCADE, related_name="rejected_rows")
    line_number = models.PositiveIntegerField()
    source_record_id = models.CharField(max_length=64, blank=True)
    field = models.CharField(max_length=40)
    reason = models.CharField(max_length=300)

    class Meta:
        ordering = ["line_number"]


class SourceRecord(models.Model):
    """What one source said about one child, as last sent, and which child it is linked to."""

    class LinkMethod(models.TextChoices):
        NEW = "new", "Created a new child"
        AUTOMATIC = "automatic", "Linked automatically"
        REVIEWED = "reviewed", "Linked by a person after review"
        MANUAL = "manual", "Linked by a person's correction"

    source = models.ForeignKey(SourceSystem, on_delete=models.PROTECT, related_name="records")
    source_record_id = models.CharField(max_length=64)

    # The record as sent (normalised). Its names, address, identifiers, carer and involvement are sealed
    # under the record's own data key (keystore.RecordKey; opened only by contactpoint.directory.identity).
    # Date of birth, sex, local authority and retention condition stay clear (decision 5).
    sealed = models.BinaryField()
    date_of_birth = models.DateField(null=True, blank=True)
    sex = models.CharField(max_length=1, blank=True)
    local_authority = models.CharField(max_length=9, blank=True)
    retention_condition = models.CharField(max_length=20, blank=True)
    content_hash = models.CharField(max_length=64, help_text="keyed hash of the normalised row: detects change")

    first_batch = models.ForeignKey(FeedBatch, on_delete=models.PROTECT, related_name="+")
    last_batch = models.ForeignKey(FeedBatch, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField()
    retired_at = models.DateTimeField(null=True, blank=True)

    # The current link. Its history is in matching.LinkEvent.
    child = models.ForeignKey(  # indexed by Meta.indexes (covering), not by its own index
        "directory.Child", null=True, blank=True, on_delete=models.PROTECT, related_name="source_records",
        db_index=False,
    )
    link_method = models.CharField(max_length=10, choices=LinkMethod.choices, blank=True)
    link_score = models.FloatField(null=True, blank=True)
    link_model_version = models.CharField(max_length=40, blank=True)
    # Set when a person decided this record's link; feeds never change a pinned link.
    link_pinned = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "source_record_id"], name="source_record_once"),
        ]
        # Candidate matches are found by blocking keys (matching.BlockingKeys), not by these fields: no
        # index on identifying values (each would cost every load a write and hold the values in clear).
        # The record → child and child → records lookups of candidate selection (matching.blocking) are
        # index-only: a source record is wide (a few per page), and fetching a hundred thousand
        # candidates' rows just to learn their children read most of the table.
        indexes = [
            models.Index(fields=["child"], include=["id"], name="sourcerecord_child_id"),
            models.Index(fields=["id"], include=["child"], condition=models.Q(retired_at__isnull=True),
                         name="sourcerecord_current_child"),
        ]

    def __str__(self) -> str:
        return f"{self.source_id}:{self.source_record_id}"
