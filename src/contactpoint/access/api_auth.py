"""Authentication for the JSON API: a bearer token per call, no sessions or cookies."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer

from contactpoint.access.models import User
from contactpoint.access.tokens import user_for_secret


class BearerTokenAuth(HttpBearer):
    """``Authorization: Bearer cp_…``.

    Refuses unknown, expired and revoked tokens, and tokens whose user is suspended, disabled or has
    lapsed. On success ``request.auth`` and ``request.user`` are the token's user, so operations ask
    :mod:`contactpoint.access.policy` about ``request.auth`` exactly as pages ask about ``request.user``.
    """

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user: User | None = user_for_secret(token.strip())
        if user is None:
            return None
        request.user = user
        return user
