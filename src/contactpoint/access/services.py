"""Writes to accounts, organisations, sessions and API tokens.

Every service takes keyword arguments and an explicit ``actor``: the :class:`User` acting, or a string
naming a system process (``"cli:alice"``, ``"demo-loader"``). A user actor is checked against
:mod:`contactpoint.access.policy` first; a system actor is trusted (it already has the server).
Each service runs in one transaction and writes its audit event in that transaction.

Organisations are created here rather than in :mod:`contactpoint.orgs` because the orgs app sits
below the audit app in the layers contract and so cannot write audit events itself.
"""

from __future__ import annotations

import base64
import datetime
import secrets
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from contactpoint.access import tokens
from contactpoint.access.models import ApiToken, OidcIdentity, Role, SignedInSession, User
from contactpoint.access.permissions import Permission
from contactpoint.access.policy import AccessDenied, Decision, can, can_grant_role, require
from contactpoint.audit.services import record_event
from contactpoint.audit.tags import AuditAction
from contactpoint.orgs.models import LocalAuthority, Organisation

Actor = User | str

DEFAULT_TOKEN_TTL_SECONDS = 30 * 24 * 60 * 60
MAX_TOKEN_TTL_SECONDS = 365 * 24 * 60 * 60
TOTP_DEVICE_NAME = "authenticator app"


class AccessError(ValueError):
    """A request to a service that cannot be carried out (bad input, not a policy refusal)."""


@dataclass(frozen=True)
class NewAccount:
    """What a new user needs to sign in for the first time. Shown once; never stored in clear."""

    user: User
    password: str
    totp_secret: str  # base32, for typing into an authenticator app
    totp_uri: str  # otpauth:// URI, for a QR code


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # shown once; only its hash is stored


def _audit(actor: Actor, action: AuditAction, **kwargs: Any) -> None:
    if isinstance(actor, User):
        record_event(action=action, actor=actor, **kwargs)
    else:
        record_event(action=action, actor=None, system_actor=actor, **kwargs)


def _check(actor: Actor, decision: Decision, permission: str) -> None:
    if isinstance(actor, User) and not decision:
        raise AccessDenied(decision, permission)


def _actor_name(actor: Actor) -> str:
    return actor.username if isinstance(actor, User) else actor


# Organisations ---------------------------------------------------------------------------------------


@transaction.atomic
def add_organisation(
    *,
    actor: Actor,
    code: str,
    name: str,
    local_authority_code: str,
    local_authority_name: str = "",
    kind: str = Organisation.Kind.OTHER,
) -> Organisation:
    """Create an organisation in a local authority, creating the local authority if it is new."""
    if isinstance(actor, User):
        require(actor, Permission.ORGS_ORGANISATION_MANAGE)
    if Organisation.objects.filter(code=code).exists():
        raise AccessError(f"an organisation with code {code} already exists")
    if kind not in Organisation.Kind.values:
        raise AccessError(f"unknown kind of organisation: {kind}")
    authority, created_authority = LocalAuthority.objects.get_or_create(
        code=local_authority_code, defaults={"name": local_authority_name or local_authority_code}
    )
    organisation = Organisation.objects.create(code=code, name=name, kind=kind, local_authority=authority)
    _audit(
        actor,
        AuditAction.ACCOUNT_ORGANISATION_CREATE,
        details={
            "organisation": code,
            "local_authority": authority.code,
            "local_authority_created": created_authority,
        },
    )
    return organisation


# Accounts --------------------------------------------------------------------------------------------


def _new_password() -> str:
    # 128 bits, readable in groups; the user is given it once, with their authenticator secret.
    raw = secrets.token_hex(16)
    return "-".join(raw[i : i + 8] for i in range(0, len(raw), 8))


@transaction.atomic
def create_user(
    *,
    actor: Actor,
    username: str,
    role: str,
    organisation: Organisation,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    checks_valid_until: datetime.date | None = None,
) -> NewAccount:
    """Create an account with a random password and a TOTP authenticator.

    ``checks_valid_until`` sets the employer authorisation, background check and training dates at
    once (practitioners, operators and directory teams can do nothing until they are set).
    Returns the password and TOTP secret, which are shown once and cannot be recovered later.
    """
    try:
        role = Role(role)
    except ValueError:
        raise AccessError(f"unknown role: {role}; choose from {', '.join(Role.values)}") from None
    _check(
        actor, can_grant_role(actor, role, local_authority_id=organisation.local_authority_id), "grant role"
    )
    if User.objects.filter(username=username).exists():
        raise AccessError(f"a user called {username} already exists")
    password = _new_password()
    user = User(
        username=username,
        role=role,
        organisation=organisation,
        first_name=first_name,
        last_name=last_name,
        email=email,
        employer_authorised_until=checks_valid_until,
        background_check_until=checks_valid_until,
        training_until=checks_valid_until,
    )
    user.set_password(password)
    user.save()
    device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=True)
    _audit(
        actor,
        AuditAction.ACCOUNT_USER_CREATE,
        details={"user": username, "role": str(role), "organisation": organisation.code},
    )
    return NewAccount(
        user=user,
        password=password,
        totp_secret=base64.b32encode(device.bin_key).decode(),
        totp_uri=device.config_url,
    )


def _require_manage(actor: Actor, user: User) -> None:
    _check(
        actor,
        can(actor, Permission.ACCESS_USER_MANAGE, local_authority_id=user.local_authority_id),
        Permission.ACCESS_USER_MANAGE,
    )


def _end_sessions_and_tokens(user: User, *, now: datetime.datetime) -> tuple[int, int]:
    """End every web session and revoke every API token of ``user``. Returns the two counts."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    keys = list(SignedInSession.objects.filter(user=user).values_list("session_id", flat=True))
    for key in keys:
        store(session_key=key).delete()
    SignedInSession.objects.filter(user=user).delete()
    revoked = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=now)
    return len(keys), revoked


@transaction.atomic
def suspend_user(*, actor: Actor, user: User, reason: str) -> None:
    """Suspend an account: it can do nothing, and its sessions and API tokens end at once."""
    if not reason.strip():
        raise AccessError("give a reason for the suspension")
    _require_manage(actor, user)
    now = timezone.now()
    user.suspended_at = now
    user.suspended_reason = reason
    user.save(update_fields=["suspended_at", "suspended_reason"])
    sessions, revoked = _end_sessions_and_tokens(user, now=now)
    _audit(
        actor,
        AuditAction.ACCOUNT_USER_SUSPEND,
        reason=reason,
        details={"user": user.username, "sessions_ended": sessions, "tokens_revoked": revoked},
    )


@transaction.atomic
def unsuspend_user(*, actor: Actor, user: User, reason: str) -> None:
    """Lift a suspension. Revoked API tokens stay revoked; the user signs in again."""
    if not reason.strip():
        raise AccessError("give a reason for lifting the suspension")
    _require_manage(actor, user)
    if user.suspended_at is None:
        raise AccessError(f"{user.username} is not suspended")
    user.suspended_at = None
    user.suspended_reason = ""
    user.save(update_fields=["suspended_at", "suspended_reason"])
    _audit(actor, AuditAction.ACCOUNT_USER_UNSUSPEND, reason=reason, details={"user": user.username})


@transaction.atomic
def renew_checks(
    *,
    actor: Actor,
    user: User,
    employer_authorised_until: datetime.date | None = None,
    background_check_until: datetime.date | None = None,
    training_until: datetime.date | None = None,
) -> None:
    """Record renewed employer authorisation, background check and/or training (only those given)."""
    _require_manage(actor, user)
    given = {
        "employer_authorised_until": employer_authorised_until,
        "background_check_until": background_check_until,
        "training_until": training_until,
    }
    changes = {field: value for field, value in given.items() if value is not None}
    if not changes:
        raise AccessError("give at least one new date")
    for field, value in changes.items():
        setattr(user, field, value)
    user.save(update_fields=list(changes))
    _audit(
        actor,
        AuditAction.ACCOUNT_USER_CHANGE,
        details={"user": user.username, **{field: value.isoformat() for field, value in changes.items()}},
    )


# Sessions --------------------------------------------------------------------------------------------


@transaction.atomic
def record_sign_in(
    *, user: User, session_key: str, client_address: str = "", method: str = "", second_factor: str = ""
) -> None:
    """Note a completed sign-in (first and second factor) and the session it opened.

    ``method`` says how the first factor was given (``password``, or ``oidc:<provider>`` for single
    sign-on) and ``second_factor`` how the second was (``totp``, or ``idp-mfa`` when the identity
    provider's multi-factor assertion was trusted).
    """
    SignedInSession.objects.update_or_create(
        session_id=session_key, defaults={"user": user, "client_address": client_address}
    )
    details = {key: value for key, value in {"method": method, "second_factor": second_factor}.items() if value}
    record_event(
        action=AuditAction.ACCOUNT_SIGN_IN, actor=user, client_address=client_address, details=details or None
    )


@transaction.atomic
def record_failed_sign_in(*, username: str, stage: str, why: str, client_address: str = "") -> None:
    """Note a refused sign-in. ``stage`` is ``password`` or ``second_factor``."""
    user = User.objects.select_related("organisation").filter(username=username).first()
    record_event(
        action=AuditAction.ACCOUNT_SIGN_IN_FAILED,
        actor=user,
        # An unknown username is not recorded: it is often a password typed into the wrong box.
        system_actor="" if user else "unknown user",
        outcome="failure",
        client_address=client_address,
        reason=why,
        details={"stage": stage},
    )


@transaction.atomic
def record_sign_out(*, user: User, session_key: str | None, why: str, client_address: str = "") -> None:
    """Note the end of a session: signed out, timed out, or ended because the account lapsed."""
    if session_key:
        SignedInSession.objects.filter(session_id=session_key).delete()
    record_event(action=AuditAction.ACCOUNT_SIGN_OUT, actor=user, client_address=client_address, reason=why)


@transaction.atomic
def record_denial(
    *, actor: Any, permission: str, decision: Decision, client_address: str = "", requester: str = ""
) -> None:
    """Note a refusal by the access policy (pages and the API call this when AccessDenied escapes)."""
    account = actor if isinstance(actor, User) and actor.is_authenticated else None
    record_event(
        action=AuditAction.ACCESS_DENIED,
        actor=account,
        system_actor="" if account else "anonymous",
        outcome="denied",
        client_address=client_address,
        requester=requester,
        reason=decision.reason,
        details={"permission": permission},
    )


# Single sign-on --------------------------------------------------------------------------------------


@transaction.atomic
def link_oidc_identity(*, actor: Actor, user: User, issuer: str, subject: str) -> OidcIdentity:
    """Let ``user`` sign in as ``subject`` at the OpenID Connect provider ``issuer`` (single sign-on).

    Needs the right to manage ``user``'s account. An identity already linked to another account is
    refused; linking the same pair again changes nothing.
    """
    _require_manage(actor, user)
    issuer, subject = issuer.strip(), subject.strip()
    if not issuer or not subject:
        raise AccessError("give the provider's issuer and the subject")
    existing = OidcIdentity.objects.filter(issuer=issuer, subject=subject).first()
    if existing is not None:
        if existing.user_id != user.pk:
            raise AccessError("this identity is already linked to another account")
        return existing
    identity = OidcIdentity.objects.create(
        user=user, name=f"single sign-on: {issuer}", issuer=issuer, subject=subject, linked_by=_actor_name(actor)
    )
    _audit(actor, AuditAction.ACCOUNT_USER_CHANGE, details={"user": user.username, "oidc_issuer": issuer})
    return identity


# API tokens ------------------------------------------------------------------------------------------


@transaction.atomic
def create_api_token(
    *, actor: Actor, user: User, ttl_seconds: int = DEFAULT_TOKEN_TTL_SECONDS, name: str = ""
) -> NewToken:
    """Issue a bearer token for ``user`` that expires after ``ttl_seconds``. The secret is shown once."""
    if not 0 < ttl_seconds <= MAX_TOKEN_TTL_SECONDS:
        raise AccessError(f"a token's lifetime must be between 1 and {MAX_TOKEN_TTL_SECONDS} seconds")
    _check(
        actor,
        can(actor, Permission.ACCESS_TOKEN_MANAGE, local_authority_id=user.local_authority_id),
        Permission.ACCESS_TOKEN_MANAGE,
    )
    if not user.is_active or user.suspended_at is not None:
        raise AccessError(f"{user.username} is disabled or suspended")
    secret = tokens.new_secret()
    now = timezone.now()
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=secret[:10],
        token_hash=tokens.hash_secret(secret),
        created_at=now,
        created_by=_actor_name(actor),
        expires_at=now + datetime.timedelta(seconds=ttl_seconds),
    )
    _audit(
        actor,
        AuditAction.ACCOUNT_TOKEN_CREATE,
        details={"user": user.username, "token": token.prefix, "expires_at": token.expires_at.isoformat()},
    )
    return NewToken(token=token, secret=secret)


@transaction.atomic
def revoke_api_token(*, actor: Actor, token: ApiToken, reason: str = "") -> None:
    """Revoke one token at once. Revoking a revoked token changes nothing and records nothing."""
    _check(
        actor,
        can(actor, Permission.ACCESS_TOKEN_MANAGE, local_authority_id=token.user.local_authority_id),
        Permission.ACCESS_TOKEN_MANAGE,
    )
    if token.revoked_at is not None:
        return
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    _audit(
        actor,
        AuditAction.ACCOUNT_TOKEN_REVOKE,
        reason=reason,
        details={"user": token.user.username, "token": token.prefix},
    )


# Demonstration accounts ------------------------------------------------------------------------------


@transaction.atomic
def create_demo_accounts(
    *,
    actor: Actor,
    organisation: Organisation,
    username_prefix: str = "demo-",
    checks_valid_until: datetime.date | None = None,
) -> list[NewAccount]:
    """One account per role in ``organisation`` (usernames ``demo-practitioner`` and so on).

    For the demo loader only: returns each password and TOTP secret so that they can be printed.
    Accounts that already exist are left alone and not returned.
    """
    valid_until = checks_valid_until or timezone.localdate() + datetime.timedelta(days=365)
    accounts = []
    for role in Role:
        username = f"{username_prefix}{role.value.replace('_', '-')}"
        if User.objects.filter(username=username).exists():
            continue
        accounts.append(
            create_user(
                actor=actor,
                username=username,
                role=role,
                organisation=organisation,
                first_name="Demo",
                last_name=role.label,
                checks_valid_until=valid_until,
            )
        )
    return accounts
