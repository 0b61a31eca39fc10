"""Users of the directory and what keeps their access current."""

from __future__ import annotations

import datetime

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django_otp.models import Device


class Role(models.TextChoices):
    PRACTITIONER = "practitioner", "Practitioner"
    OPERATOR = "operator", "Operator"
    DIRECTORY_TEAM = "directory_team", "Directory team"
    AUDITOR = "auditor", "Auditor"
    ADMIN = "admin", "Administrator"


class User(AbstractUser):  # type: ignore[django-manager-missing]  # OidcIdentity subclasses untyped django-otp
    """A person who signs in. Belongs to an organisation within a local authority.

    A practitioner or operator may use the directory only while their employer authorisation,
    enhanced background check and training are all current; see :meth:`lapsed_reasons`.
    """

    role = models.CharField(max_length=20, choices=Role.choices, default=Role.PRACTITIONER)
    organisation = models.ForeignKey("orgs.Organisation", null=True, blank=True, on_delete=models.PROTECT)
    phone = models.CharField(max_length=40, blank=True)
    employer_authorised_until = models.DateField(null=True, blank=True)
    background_check_until = models.DateField(null=True, blank=True)
    training_until = models.DateField(null=True, blank=True)
    suspended_at = models.DateTimeField(null=True, blank=True)
    suspended_reason = models.CharField(max_length=500, blank=True)

    @property
    def local_authority_id(self) -> int | None:
        return self.organisation.local_authority_id if self.organisation else None

    def lapsed_reasons(self, today: datetime.date | None = None) -> list[str]:
        """Why this account may not use the directory now (empty when it may)."""
        today = today or timezone.localdate()
        reasons = []
        if not self.is_active:
            reasons.append("account disabled")
        if self.suspended_at is not None:
            reasons.append("account suspended")
        checks = {
            "employer authorisation": self.employer_authorised_until,
            "background check": self.background_check_until,
            "training": self.training_until,
        }
        if self.role in (Role.PRACTITIONER, Role.OPERATOR, Role.DIRECTORY_TEAM):
            for name, until in checks.items():
                if until is None or until < today:
                    reasons.append(f"{name} not current")
        return reasons


class SignedInSession(models.Model):
    """A web session a user signed in to, so that suspending them can end every session at once.

    Sessions live in the database (Django's default engine); deleting the session row deletes this row.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="signed_in_sessions")
    session = models.OneToOneField("sessions.Session", on_delete=models.CASCADE, related_name="+")
    signed_in_at = models.DateTimeField(default=timezone.now)
    client_address = models.CharField(max_length=45, blank=True)

    def __str__(self) -> str:
        return f"Session of {self.user.username} since {self.signed_in_at:%Y-%m-%d %H:%M}"


class ApiToken(models.Model):
    """A bearer token for the JSON API.

    Only a SHA-256 hash of the secret is stored (the secret is shown once, when created); tokens are
    long random strings, so a fast hash is enough. A token is usable until it expires or is revoked,
    and only while its user may use the directory.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True, help_text="what the token is for")
    prefix = models.CharField(max_length=12, help_text="the token's first characters, to tell tokens apart")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.CharField(max_length=150, blank=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "revoked_at"])]

    def __str__(self) -> str:
        return f"API token {self.prefix}… of {self.user.username}"

    def is_usable(self, now: datetime.datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and self.expires_at > now


class OidcIdentity(Device):
    """An account's identity at an OpenID Connect provider: the (issuer, subject) pair it signs in as.

    Made by a directory team or admin (``access.services.link_oidc_identity``), or on the first single
    sign-on of an account found by a verified email address or username (when the provider is set up to
    match that way); never makes an account. A django-otp device too, so that a sign-in on which the
    provider asserted multi-factor authentication (and the provider is trusted for it) counts as the
    second factor: ``django_otp.login(request, identity)``. It never checks a typed code.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="oidc_identities")
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    linked_at = models.DateTimeField(default=timezone.now)
    linked_by = models.CharField(max_length=150, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="oidc_identity_once")]
