"""The signed-in user of a page request, typed as an account."""

from __future__ import annotations

from django.http import HttpRequest

from contactpoint.access.models import User


def actor(request: HttpRequest) -> User:
    """``request.user`` as a :class:`User`. Every page but the allow-listed ones has one (the access
    middleware redirects anyone else to sign in), so anything else here is a bug, not a refusal."""
    user = request.user
    if not isinstance(user, User):
        raise TypeError("a page that needs a signed-in user was reached without one")
    return user
