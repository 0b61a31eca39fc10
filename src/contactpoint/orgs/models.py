"""Local authorities and the organisations in contact with children (schools, GP practices, services)."""

from __future__ import annotations

from django.db import models


class LocalAuthority(models.Model):
    """One of the ~150 local authorities; each has a directory team and is the unit of scoping."""

    code = models.CharField(max_length=9, unique=True, help_text="ONS code, e.g. E08000025")
    name = models.CharField(max_length=200)
    directory_team_phone = models.CharField(max_length=40, blank=True)
    directory_team_email = models.EmailField(blank=True)

    class Meta:
        verbose_name_plural = "local authorities"
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Organisation(models.Model):
    """An organisation: a practitioner's employer, or a service in contact with children (or both)."""

    class Kind(models.TextChoices):
        SCHOOL = "school", "School or educational setting"
        GP_PRACTICE = "gp_practice", "GP practice"
        HEALTH = "health", "Health service"
        LOCAL_AUTHORITY = "local_authority", "Local authority service"
        POLICE = "police", "Police"
        OTHER = "other", "Other service"

    code = models.CharField(max_length=20, unique=True, help_text="URN, ODS code or the directory's own code")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.OTHER)
    local_authority = models.ForeignKey(LocalAuthority, null=True, blank=True, on_delete=models.PROTECT)
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"
