"""Matching models, link history, the review queue and people's corrections."""

from __future__ import annotations

from django.db import models


class MatchModel(models.Model):
    """A versioned Splink model (the model is data: its JSON settings with trained parameters)."""

    version = models.CharField(max_length=40, unique=True)
    settings = models.JSONField()
    trained_on_records = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    is_active = models.BooleanField(default=False)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["is_active"], condition=models.Q(is_active=True), name="one_active_model")
        ]


class LinkEvent(models.Model):
    """Every change of a source record's link, so each link can be explained and reversed."""

    source_record = models.ForeignKey("feeds.SourceRecord", on_delete=models.CASCADE, related_name="link_events")
    from_child = models.ForeignKey("directory.Child", null=True, on_delete=models.PROTECT, related_name="+")
    to_child = models.ForeignKey("directory.Child", null=True, on_delete=models.PROTECT, related_name="+")
    method = models.CharField(max_length=10)
    score = models.FloatField(null=True)
    model_version = models.CharField(max_length=40, blank=True)
    batch = models.ForeignKey("feeds.FeedBatch", null=True, on_delete=models.PROTECT, related_name="+")
    correction = models.ForeignKey("matching.Correction", null=True, on_delete=models.PROTECT, related_name="events")
    explanation = models.JSONField(default=list, blank=True)
    # The record's pin before this change, so that undoing a correction restores it exactly.
    was_pinned = models.BooleanField(default=False, db_default=False)
    created_at = models.DateTimeField(auto_now_add=True)


class ReviewItem(models.Model):
    """An uncertain pair for the directory team: a source record that may be the same child as another."""

    class Status(models.TextChoices):
        OPEN = "open", "Waiting for review"
        ACCEPTED = "accepted", "Same child: linked"
        REJECTED = "rejected", "Different children"
        SUPERSEDED = "superseded", "No longer relevant"

    record = models.ForeignKey("feeds.SourceRecord", on_delete=models.CASCADE, related_name="+")
    candidate = models.ForeignKey("feeds.SourceRecord", on_delete=models.CASCADE, related_name="+")
    score = models.FloatField()
    model_version = models.CharField(max_length=40)
    explanation = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    local_authority = models.ForeignKey("orgs.LocalAuthority", null=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey("access.User", null=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["record", "candidate"], name="review_pair_once")]
        indexes = [models.Index(fields=["status", "local_authority"])]


class Correction(models.Model):
    """A person's decision about identity (accept, reject, merge, split) and how to undo it."""

    class Kind(models.TextChoices):
        ACCEPT = "accept", "Accepted a suggested link"
        REJECT = "reject", "Rejected a suggested link"
        MERGE = "merge", "Merged two children"
        SPLIT = "split", "Split a source record off a child"
        UNDO = "undo", "Undid an earlier correction"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    actor = models.ForeignKey("access.User", on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=500, blank=True)
    review_item = models.ForeignKey(ReviewItem, null=True, on_delete=models.PROTECT, related_name="+")
    undoes = models.OneToOneField("self", null=True, on_delete=models.PROTECT, related_name="undone_by")
    # What undoing needs beyond the link events: children whose status changed, involvements moved.
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)


class NeverLink(models.Model):
    """Two source records a person said are different children; matching must keep them apart."""

    record_a = models.ForeignKey("feeds.SourceRecord", on_delete=models.CASCADE, related_name="+")
    record_b = models.ForeignKey("feeds.SourceRecord", on_delete=models.CASCADE, related_name="+")
    correction = models.ForeignKey(Correction, on_delete=models.PROTECT, related_name="+")
    is_active = models.BooleanField(default=True)


class BlockingKeys(models.Model):
    """A current source record's blocking keys, so that SQL can find a delta's candidates.

    One row per current (not retired) source record; one keyed 64-bit token per blocking rule of the
    engine (``matching.blocking.RULE_COLUMNS``), NULL where the record lacks a value the rule needs, and
    one token per term-frequency adjusted name, so that name frequencies can be counted over the whole
    directory. Tokens are keyed hashes (under a key derived from the master key), not values: the table
    holds no names. Maintained by :mod:`contactpoint.matching.blocking` only.
    """

    record = models.OneToOneField("feeds.SourceRecord", primary_key=True, on_delete=models.CASCADE, related_name="+")
    nhs_number = models.BigIntegerField(null=True)
    upn = models.BigIntegerField(null=True)
    dob_forename_dm = models.BigIntegerField(null=True)
    dob_family_dm = models.BigIntegerField(null=True)
    dob_postcode_sector = models.BigIntegerField(null=True)
    forename_family_dm_year = models.BigIntegerField(null=True)
    forename_family_dm_day_month = models.BigIntegerField(null=True)
    forename_year_postcode_sector = models.BigIntegerField(null=True)
    address_postcode_initial = models.BigIntegerField(null=True)
    tf_forename = models.BigIntegerField(null=True)
    tf_family_name = models.BigIntegerField(null=True)

    class Meta:
        indexes = [
            models.Index(fields=[name], name=f"bk_{name}"[:30],
                         condition=models.Q(**{f"{name}__isnull": False}))
            for name in (
                "nhs_number", "upn", "dob_forename_dm", "dob_family_dm", "dob_postcode_sector",
                "forename_family_dm_year", "forename_family_dm_day_month", "forename_year_postcode_sector",
                "address_postcode_initial", "tf_forename", "tf_family_name",
            )
        ]
