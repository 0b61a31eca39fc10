"""Every page needs a signed-in, second-factor-verified, current user, unless it is listed below.

The middleware runs for every view (it sits after the session, authentication and OTP middleware in
settings.MIDDLEWARE), so a new page is protected without anyone remembering to protect it.
tests/web/test_url_authentication.py walks every URL pattern and fails if one answers an anonymous
visitor without being on this list.

For a signed-in user it also enforces the session limits: 15 minutes idle (settings.SESSION_COOKIE_AGE,
also enforced by the session cookie and the session row expiring) and 12 hours in all
(settings.SESSION_ABSOLUTE_LIMIT_SECONDS), and it signs out an account that has lapsed or been
suspended since it signed in, on its next request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import ResolverMatch, reverse

from contactpoint.access import services, signin
from contactpoint.access.models import User
from contactpoint.access.policy import AccessDenied, user_may_use_directory

# Views anyone may reach without signing in, by URL name, each with why. Keep this list short.
PUBLIC_VIEWS: dict[str, str] = {
    "sign-in": "where a person signs in",
    "sign-in-code": "the second factor; it checks its own half-signed-in state (contactpoint.access.signin)",
    "sso-start": "single sign-on: sends the person to their identity provider; shows no data",
    "sso-callback": "single sign-on: checks the provider's signed answer itself (contactpoint.access.oidc)",
    "signed-out": "says the person has been signed out; shows no data",
    "session-expired": "says a session timed out; shows no data",
    "api:health": "the API's liveness check; returns no data",
    "api:api-root": "django-ninja's root: points to the documentation; holds no data",
    "api:openapi-json": "the API's published schema; describes operations, holds no data",
    "api:openapi-view": "the API's documentation page, rendered from the schema; holds no data",
}

# URL namespaces whose views authenticate every request themselves rather than through a session.
# The JSON API takes a bearer token on every call (contactpoint.access.api_auth.BearerTokenAuth);
# the URL walk test sends an anonymous request to each API operation and expects 401.
SELF_AUTHENTICATING_NAMESPACES: dict[str, str] = {
    "api": "the JSON API: every operation authenticates with a bearer token",
}

# Why a session was ended, as a fixed code that may appear in the signed-out page's URL.
ENDED_LAPSED = "access-lapsed"


def is_public(match: ResolverMatch | None) -> bool:
    """Whether the view needs no signed-in user (it is on the allow-list above)."""
    if match is None:
        return False
    return match.view_name in PUBLIC_VIEWS


def authenticates_itself(match: ResolverMatch | None) -> bool:
    return match is not None and bool(set(match.namespaces) & set(SELF_AUTHENTICATING_NAMESPACES))


def _redirect(name: str, **query: str) -> HttpResponseRedirect:
    url = reverse(name)
    return HttpResponseRedirect(f"{url}?{urlencode(query)}" if query else url)


class SignInRequiredMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        match = request.resolver_match
        if is_public(match) or authenticates_itself(match):
            return None
        user = request.user
        if not isinstance(user, User) or not user.is_authenticated:
            # Only the path is carried over, never a query string (which could hold search terms).
            query = {"next": request.path} if request.method == "GET" and request.path != "/" else {}
            return _redirect("sign-in", **query)

        session = request.session
        signed_in_at = session.get(signin.SIGNED_IN_AT)
        last_seen = session.get(signin.LAST_SEEN, signed_in_at)
        if signed_in_at is None or not user.is_verified():  # type: ignore[attr-defined]
            # Signed in some other way than password + code: not good enough.
            signin.sign_out(request, why="second factor not completed")
            return _redirect("sign-in")
        current = signin.now()
        if current - signed_in_at > settings.SESSION_ABSOLUTE_LIMIT_SECONDS:
            signin.sign_out(request, why="session reached its absolute time limit")
            return _redirect("session-expired")
        if current - last_seen > settings.SESSION_COOKIE_AGE:
            signin.sign_out(request, why="session idle for too long")
            return _redirect("session-expired")
        decision = user_may_use_directory(user)
        if not decision:
            signin.sign_out(request, why=decision.reason)
            return _redirect("signed-out", why=ENDED_LAPSED)
        session[signin.LAST_SEEN] = current
        return None

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        """Record a policy refusal that a page let escape; Django then answers 403 (403.html)."""
        if isinstance(exception, AccessDenied):
            services.record_denial(
                actor=request.user,
                permission=exception.permission,
                decision=exception.decision,
                client_address=signin.client_address(request),
            )
