"""API bearer token secrets: how they are made, stored (hashed) and recognised."""

from __future__ import annotations

import hashlib
import secrets

from django.utils import timezone

from contactpoint.access.models import ApiToken, User
from contactpoint.access.policy import user_may_use_directory

TOKEN_PREFIX = "cp_"  # noqa: S105 (a marker, not a secret)
# Refresh last_used_at at most this often, so that a busy client does not write on every request.
LAST_USED_RESOLUTION_SECONDS = 60


def new_secret() -> str:
    """A fresh token secret: a recognisable prefix and 256 random bits."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def user_for_secret(secret: str) -> User | None:
    """The user a presented secret authenticates, or None.

    None when the token is unknown, expired or revoked, or when its user may not use the directory
    (suspended, disabled or lapsed).
    """
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("user", "user__organisation")
        .filter(token_hash=hash_secret(secret))
        .first()
    )
    now = timezone.now()
    if token is None or not token.is_usable(now):
        return None
    if not user_may_use_directory(token.user):
        return None
    if (
        token.last_used_at is None
        or (now - token.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS
    ):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
