"""Signing in (password, then a TOTP code) and signing out, for the pages in :mod:`contactpoint.web`.

Nobody is signed in until both factors pass: after the password the session only remembers who is
half-way through, for a few minutes, and every page except the second-factor page still treats the
visitor as anonymous. Failed passwords and failed codes both count towards the lockout kept by
django-axes (``AXES_FAILURE_LIMIT`` in settings), and every outcome is written to the audit trail.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from django.contrib.auth import authenticate, login, logout, user_login_failed
from django.http import HttpRequest
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from contactpoint.access import services
from contactpoint.access.models import User
from contactpoint.access.policy import user_may_use_directory

# Session keys. Timestamps are seconds since the epoch (sessions are stored as JSON).
PENDING_USER = "contactpoint.pending_user_id"
PENDING_SINCE = "contactpoint.pending_since"
PENDING_METHOD = "contactpoint.pending_method"
SIGNED_IN_AT = "contactpoint.signed_in_at"
LAST_SEEN = "contactpoint.last_seen"

# How the first factor was given, as recorded with the sign-in (single sign-on: "oidc:<provider>").
METHOD_PASSWORD = "password"  # noqa: S105 (a method name, not a secret)

# How long someone who has given their password has to enter their code.
PENDING_LIMIT_SECONDS = 5 * 60


class Outcome(enum.Enum):
    NEEDS_SECOND_FACTOR = "needs_second_factor"
    SIGNED_IN = "signed_in"
    WRONG_CREDENTIALS = "wrong_credentials"
    WRONG_CODE = "wrong_code"
    LOCKED_OUT = "locked_out"
    LAPSED = "lapsed"
    NO_SECOND_FACTOR = "no_second_factor"
    PENDING_EXPIRED = "pending_expired"


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome in {Outcome.NEEDS_SECOND_FACTOR, Outcome.SIGNED_IN}


def client_address(request: HttpRequest) -> str:
    # REMOTE_ADDR only: a proxy in front of the service must be configured to set it, rather than
    # trusting an X-Forwarded-For header that any client can write.
    return str(request.META.get("REMOTE_ADDR", ""))[:45]


def now() -> float:
    """The clock the session limits use (tests replace it)."""
    return time.time()


def _totp_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def has_totp_device(user: User) -> bool:
    """Whether ``user`` has a confirmed authenticator app (their second factor)."""
    return _totp_device(user) is not None


def _fail(request: HttpRequest, username: str, stage: str, outcome: Outcome, why: str) -> Result:
    services.record_failed_sign_in(
        username=username, stage=stage, why=why, client_address=client_address(request)
    )
    return Result(outcome, why)


def check_password(request: HttpRequest, *, username: str, password: str) -> Result:
    """First step. On success the session remembers the user as half-signed-in."""
    user = authenticate(request, username=username, password=password)
    if getattr(request, "axes_locked_out", False):
        return _fail(request, username, "password", Outcome.LOCKED_OUT, "locked out after too many failures")
    if not isinstance(user, User):
        return _fail(request, username, "password", Outcome.WRONG_CREDENTIALS, "wrong username or password")
    decision = user_may_use_directory(user)
    if not decision:
        return _fail(request, username, "password", Outcome.LAPSED, decision.reason)
    if _totp_device(user) is None:
        return _fail(request, username, "password", Outcome.NO_SECOND_FACTOR, "no authenticator set up")
    begin_second_factor(request, user, method=METHOD_PASSWORD)
    return Result(Outcome.NEEDS_SECOND_FACTOR)


def begin_second_factor(request: HttpRequest, user: User, *, method: str) -> None:
    """Remember ``user`` as half-signed-in (first factor given by ``method``), in a new session key."""
    request.session.cycle_key()
    request.session[PENDING_USER] = user.pk
    request.session[PENDING_SINCE] = now()
    request.session[PENDING_METHOD] = method


def pending_user(request: HttpRequest) -> User | None:
    """Who has given their password in this session and not yet their code (within the time limit)."""
    user_id = request.session.get(PENDING_USER)
    since = request.session.get(PENDING_SINCE)
    if user_id is None or since is None or now() - since > PENDING_LIMIT_SECONDS:
        return None
    return User.objects.select_related("organisation").filter(pk=user_id).first()


def _forget_pending(request: HttpRequest) -> str:
    """Forget the half-signed-in state; returns how its first factor was given."""
    request.session.pop(PENDING_USER, None)
    request.session.pop(PENDING_SINCE, None)
    return str(request.session.pop(PENDING_METHOD, "") or METHOD_PASSWORD)


def check_second_factor(request: HttpRequest, *, code: str) -> Result:
    """Second step. On success the user is signed in, in a fresh session."""
    user = pending_user(request)
    if user is None:
        _forget_pending(request)
        return Result(Outcome.PENDING_EXPIRED, "start again")
    credentials = {"username": user.username}  # as django-axes reads them from the sign-in form
    if not AxesProxyHandler.is_allowed(request, credentials):
        _forget_pending(request)
        return _fail(request, user.username, "second_factor", Outcome.LOCKED_OUT, "locked out")
    device = _totp_device(user)
    if device is None:
        return _fail(request, user.username, "second_factor", Outcome.NO_SECOND_FACTOR, "no authenticator")
    allowed, _ = device.verify_is_allowed()  # django-otp's own back-off between wrong codes
    if not allowed or not device.verify_token(code.strip().replace(" ", "")):
        # Counts towards the same lockout as wrong passwords.
        user_login_failed.send(sender=__name__, credentials=credentials, request=request)
        return _fail(request, user.username, "second_factor", Outcome.WRONG_CODE, "wrong or reused code")
    decision = user_may_use_directory(user)
    if not decision:
        _forget_pending(request)
        return _fail(request, user.username, "second_factor", Outcome.LAPSED, decision.reason)

    method = _forget_pending(request)
    return complete_sign_in(request, user, device, method=method, second_factor="totp")


def complete_sign_in(request: HttpRequest, user: User, device: Any, *, method: str, second_factor: str) -> Result:
    """Sign ``user`` in, in a fresh session, verified by the django-otp ``device``; audited.

    Only for a user who has passed both factors (and whose account the caller found current).
    """
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")  # new session key
    otp_login(request, device)
    request.session[SIGNED_IN_AT] = request.session[LAST_SEEN] = now()
    request.session.save()
    assert request.session.session_key is not None
    services.record_sign_in(
        user=user,
        session_key=request.session.session_key,
        client_address=client_address(request),
        method=method,
        second_factor=second_factor,
    )
    return Result(Outcome.SIGNED_IN)


def sign_out(request: HttpRequest, *, why: str) -> None:
    """End the session (whatever the reason: the user's choice, a time limit, a lapsed account)."""
    user = request.user
    if isinstance(user, User) and user.is_authenticated:
        services.record_sign_out(
            user=user,
            session_key=request.session.session_key,
            why=why,
            client_address=client_address(request),
        )
    logout(request)
