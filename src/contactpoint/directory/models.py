"""The directory's own records: one ``Child`` per real child, with carers and involvements.

Fields that identify a child (names, address, national identifiers) are stored only sealed — one
AES-GCM blob per row under the data key of the child (or source record) that owns it
(:mod:`contactpoint.core.sealing`, decision 5) — and read and written only through
:mod:`contactpoint.directory.identity`. Nothing outside this app's ``queries`` and ``services`` modules
queries these models for display: reads go through the access-checked path in :mod:`contactpoint.directory.queries`.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models

from contactpoint.core.identifiers import new_contactpoint_id


class Sex(models.TextChoices):
    FEMALE = "F", "Female"
    MALE = "M", "Male"
    UNKNOWN = "U", "Unknown"


class ServiceType(models.TextChoices):
    SCHOOL = "school", "Educational setting"
    GP = "gp", "GP practice"
    HEALTH_VISITOR = "health_visitor", "Health visitor"
    SOCIAL_CARE = "social_care", "Children's social care"
    YOUTH_OFFENDING = "youth_offending", "Youth offending team"
    SEXUAL_HEALTH = "sexual_health", "Sexual health service"
    MENTAL_HEALTH = "mental_health", "Mental health service"
    SUBSTANCE_MISUSE = "substance_misuse", "Substance misuse service"
    OTHER = "other", "Other service"


# Involvement with these services appears only where the child's consent is recorded.
SENSITIVE_SERVICES = frozenset({ServiceType.SEXUAL_HEALTH, ServiceType.MENTAL_HEALTH, ServiceType.SUBSTANCE_MISUSE})


class Child(models.Model):
    """One real child: the golden record assembled from linked source records."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        MERGED = "merged", "Merged into another record"
        ARCHIVED = "archived", "Archived"

    contactpoint_id = models.CharField(max_length=12, unique=True, default=new_contactpoint_id, editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    local_authority = models.ForeignKey("orgs.LocalAuthority", null=True, blank=True, on_delete=models.PROTECT)

    # The golden record's names, address, postcode, NHS number and UPN, sealed under the child's data key
    # (directory.identity opens it; NULL until the first rebuild). Date of birth and sex stay clear:
    # retention ages children in SQL, and both are already inside the search and blocking tokens.
    sealed = models.BinaryField(null=True)
    date_of_birth = models.DateField(null=True, blank=True)
    sex = models.CharField(max_length=1, choices=Sex.choices, default=Sex.UNKNOWN)

    retention_condition = models.CharField(max_length=20, blank=True)
    # Shielded: location and contact details hidden from everyone but the local directory team.
    # Only directory.services.shield_child / unshield_child change it; feeds never do.
    # db_default too: feeds and matching insert children with set-based SQL (COPY) that names no flag.
    is_shielded = models.BooleanField(default=False, db_default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "children"
        indexes = [models.Index(fields=["status", "local_authority"])]

    def __str__(self) -> str:
        # Deliberately no personal data: str() of a child ends up in logs and error messages.
        return f"Child {self.contactpoint_id}"


class ChildName(models.Model):
    """Every name a child is or was known by, from any source (kept when the golden name changes)."""

    class Kind(models.TextChoices):
        CURRENT = "current", "Current"
        FORMER = "former", "Former"

    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="names")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # Given and family names, sealed under the child's key; ``digest`` is a keyed hash of the kind and the
    # names (core.sealing.RowDigester), so a rebuild rewrites only the names that changed.
    sealed = models.BinaryField()
    digest = models.BinaryField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["child", "digest"], name="child_name_once")]


class ChildAddress(models.Model):
    """Current and former addresses (a moved-from postcode still finds the child)."""

    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="addresses")
    is_current = models.BooleanField(default=False)
    # Address lines, town and postcode, sealed under the child's key; ``digest`` as for names. Search by
    # postcode goes through the token index (SearchToken), never through these rows.
    sealed = models.BinaryField()
    digest = models.BinaryField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["child", "digest"], name="child_address_once")]


class Carer(models.Model):
    """A parent or carer, as a source reported them."""

    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="carers")
    source_record = models.ForeignKey("feeds.SourceRecord", on_delete=models.CASCADE)
    relationship = models.CharField(max_length=40, blank=True)
    # Names, phone and email, sealed under the *source record's* key (the record that reported the carer):
    # a correction that moves the record to another child moves its carer without re-encrypting it.
    sealed = models.BinaryField()


class Practitioner(models.Model):
    """A named professional. May or may not be a user of the directory."""

    name = models.CharField(max_length=100)
    role = models.CharField(max_length=100, blank=True)
    organisation = models.ForeignKey("orgs.Organisation", null=True, blank=True, on_delete=models.PROTECT)
    phone = models.CharField(max_length=40, blank=True)
    email = models.CharField(max_length=254, blank=True)
    user = models.OneToOneField(
        "access.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="practitioner"
    )
    # For practitioners named in feeds: a digest of (organisation, name, phone, email), so that the same
    # practitioner sent by many records is one row.
    feed_key = models.CharField(max_length=64, null=True, blank=True, unique=True)


class Involvement(models.Model):
    """A service or practitioner in contact with a child, from a feed or entered by a practitioner."""

    class Origin(models.TextChoices):
        FEED = "feed", "Source feed"
        PRACTITIONER = "practitioner", "Entered by the practitioner"

    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="involvements")
    service_type = models.CharField(max_length=20, choices=ServiceType.choices)
    organisation = models.ForeignKey("orgs.Organisation", null=True, blank=True, on_delete=models.PROTECT)
    practitioner = models.ForeignKey(Practitioner, null=True, blank=True, on_delete=models.PROTECT)
    started_on = models.DateField(null=True, blank=True)
    ended_on = models.DateField(null=True, blank=True)
    is_lead_professional = models.BooleanField(default=False)
    caf_held = models.BooleanField(default=False, help_text="A Common Assessment has been completed / is held")
    consent_recorded = models.BooleanField(default=False)
    origin = models.CharField(max_length=12, choices=Origin.choices)
    source_record = models.ForeignKey("feeds.SourceRecord", null=True, blank=True, on_delete=models.CASCADE)
    created_by = models.ForeignKey("access.User", null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["child", "ended_on"])]

    @property
    def is_sensitive(self) -> bool:
        return self.service_type in SENSITIVE_SERVICES


class Shield(models.Model):
    """A decision to shield a child (and, when lifted, when and by whom). The history is kept."""

    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="shields")
    reason = models.CharField(max_length=500)
    review_on = models.DateField()
    shielded_by = models.ForeignKey("access.User", on_delete=models.PROTECT, related_name="+")
    shielded_at = models.DateTimeField(auto_now_add=True)
    lifted_by = models.ForeignKey("access.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    lifted_at = models.DateTimeField(null=True, blank=True)
    lift_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["child"], condition=models.Q(lifted_at__isnull=True), name="one_open_shield"
            )
        ]


class SearchToken(models.Model):
    """The search index as keyed-hash ("blind") tokens: no clear name, date or identifier.

    One row per child: every token of every name the child is or was known by, of its postcodes and
    national identifiers (:func:`contactpoint.directory.search_tokens.child_tokens`), sorted, with a GIN
    index for ``tokens && ARRAY[...]``: the only search index (names are sealed, so there is no clear one);
    maintained only by :func:`contactpoint.directory.identity.rebuild_golden_records`. See docs/search.md.
    """

    child = models.OneToOneField(Child, on_delete=models.CASCADE, primary_key=True, related_name="+")
    tokens = ArrayField(models.BigIntegerField())

    class Meta:
        indexes = [GinIndex(fields=["tokens"], name="searchtoken_tokens")]


class Forename(models.Model):
    """The nickname table (contactpoint.core.forenames) as rows, so that SQL can canonicalise names.

    Filled by migrations; tests/directory/test_search_index.py fails if it drifts from the module.
    """

    name = models.CharField(max_length=40)
    canonical = models.CharField(max_length=40)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "canonical"], name="forename_once")]
