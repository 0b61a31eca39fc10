"""Single sign-on with OpenID Connect, for organisations that have their own identity provider.

The authorisation code flow with PKCE, state and nonce, through mozilla-django-oidc (token exchange,
the provider's signing keys, the state/nonce/PKCE helpers), with what that library leaves out for a
system like this one:

* **Several providers**, each from settings (``CONTACTPOINT_OIDC_PROVIDERS``, built from the environment
  in settings.py), each optionally confined to some organisations: a provider vouches only for
  accounts of the organisations it is set up for.
* **The ID token is checked in full**: signature (RS256/ES256 key from the provider's JWKS), issuer,
  audience (and ``azp`` when there are several), expiry, issue time, nonce. The library itself skips
  the audience and issuer checks. Claims are read from the signed ID token only, never from userinfo.
* **Accounts are never created.** The identity must map to an existing account: by a stored
  (issuer, subject) pair (:class:`~contactpoint.access.models.OidcIdentity`, the default), or by a
  verified email address or a username claim when the provider is set up to match that way (the pair is
  then stored, and a later sign-in of that account with another subject is refused).
* **The same rules as a password sign-in**: lapsed, suspended and disabled accounts and locked-out
  usernames are refused; every success and failure is audited (``record_sign_in`` /
  ``record_failed_sign_in``, stage ``sso``).
* **The second factor is explicit configuration**: a sign-in counts as two-factor only when the provider
  is trusted for it (``mfa_amr`` / ``mfa_acr``) and the ID token asserts one of those values; otherwise
  the person still gives their TOTP code (``/sign-in/code``), exactly as after a password.

URLs (allow-listed in ``contactpoint.access.middleware.PUBLIC_VIEWS``): ``/sign-in/sso/<provider>``
starts, ``/sign-in/sso/<provider>/callback`` finishes.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import jwt
import requests
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_safe
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import add_state_and_verifier_and_nonce_to_session, generate_code_challenge

from contactpoint.access import services, signin
from contactpoint.access.models import OidcIdentity, User
from contactpoint.access.policy import user_may_use_directory

MATCH_SUBJECT = "subject"
MATCH_EMAIL = "email"
MATCH_USERNAME = "username"
MATCHES = frozenset({MATCH_SUBJECT, MATCH_EMAIL, MATCH_USERNAME})

SIGNING_ALGORITHMS = ("RS256", "ES256")
HTTP_TIMEOUT_SECONDS = 10
CLOCK_LEEWAY_SECONDS = 60
DISCOVERY_TTL_SECONDS = 3600
STAGE = "sso"
NEXT = "contactpoint.next"  # where to go after signing in (as the password pages keep it)


class SignInRefused(Exception):
    """A single sign-on that must not sign anyone in; the message is recorded, never shown."""

    def __init__(self, why: str, *, username: str = "", outcome: signin.Outcome = signin.Outcome.WRONG_CREDENTIALS):
        super().__init__(why)
        self.why = why
        self.username = username
        self.outcome = outcome


@dataclass(frozen=True)
class Provider:
    """One identity provider, as configured in settings."""

    name: str
    issuer: str
    client_id: str
    client_secret: str
    match: str = MATCH_SUBJECT
    username_claim: str = "preferred_username"
    organisations: frozenset[str] = frozenset()
    mfa_amr: frozenset[str] = frozenset()
    mfa_acr: frozenset[str] = frozenset()
    label: str = ""

    @property
    def method(self) -> str:
        return f"oidc:{self.name}"

    def asserts_mfa(self, claims: dict[str, Any]) -> bool:
        """Whether this provider is trusted for the second factor and the token says one was used."""
        amr = claims.get("amr")
        amr_values = {str(v) for v in amr} if isinstance(amr, list) else set()
        return bool(self.mfa_amr & amr_values) or (bool(self.mfa_acr) and str(claims.get("acr", "")) in self.mfa_acr)


def providers() -> dict[str, Provider]:
    """The configured providers by name (settings are read on each call, so tests can change them)."""
    found = {}
    for name, config in getattr(settings, "CONTACTPOINT_OIDC_PROVIDERS", {}).items():
        match = str(config.get("match") or MATCH_SUBJECT)
        if match not in MATCHES:
            raise ImproperlyConfigured(f"single sign-on provider {name}: match must be one of {sorted(MATCHES)}")
        found[name] = Provider(
            name=name,
            issuer=str(config["issuer"]).rstrip("/"),
            client_id=str(config["client_id"]),
            client_secret=str(config["client_secret"]),
            match=match,
            username_claim=str(config.get("username_claim") or "preferred_username"),
            organisations=frozenset(config.get("organisations") or ()),
            mfa_amr=frozenset(config.get("mfa_amr") or ()),
            mfa_acr=frozenset(config.get("mfa_acr") or ()),
            label=str(config.get("label") or name),
        )
    return found


# The provider's discovery document ----------------------------------------------------------------------

_discovery_cache: dict[str, tuple[float, dict[str, Any]]] = {}
_discovery_lock = threading.Lock()


def forget_discovery() -> None:
    """Drop the cached discovery documents (tests; a provider that rotated its endpoints)."""
    with _discovery_lock:
        _discovery_cache.clear()


def discovery(provider: Provider) -> dict[str, Any]:
    """The provider's OpenID configuration, fetched from ``<issuer>/.well-known/openid-configuration``.

    Refused unless it names the configured issuer and the endpoints the flow needs (OpenID Connect
    Discovery 1.0, section 4.3). Cached for an hour.
    """
    with _discovery_lock:
        cached = _discovery_cache.get(provider.issuer)
        if cached and time.monotonic() - cached[0] < DISCOVERY_TTL_SECONDS:
            return cached[1]
    try:
        response = requests.get(
            f"{provider.issuer}/.well-known/openid-configuration", timeout=HTTP_TIMEOUT_SECONDS
        )
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise SignInRefused(f"identity provider {provider.name} unreachable or its configuration unreadable") from exc
    if not isinstance(document, dict) or str(document.get("issuer", "")).rstrip("/") != provider.issuer:
        raise SignInRefused(f"identity provider {provider.name}: discovery document names another issuer")
    missing = [k for k in ("authorization_endpoint", "token_endpoint", "jwks_uri") if not document.get(k)]
    if missing:
        raise SignInRefused(f"identity provider {provider.name}: discovery document lacks {', '.join(missing)}")
    with _discovery_lock:
        _discovery_cache[provider.issuer] = (time.monotonic(), document)
    return document


# The library's backend, per provider, with the ID token checked in full -----------------------------------


class ProviderBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's token exchange and key retrieval for one provider.

    Used directly (never listed in ``AUTHENTICATION_BACKENDS``), so that it can only ever be reached from
    the callback below, and never creates users.
    """

    def __init__(self, provider: Provider, document: dict[str, Any]) -> None:
        self.provider = provider
        self.document = document
        super().__init__()

    def get_settings(self, attr: str, *args: Any) -> Any:
        # The library reads its configuration from global settings; here each provider has its own.
        values: dict[str, Any] = {
            "OIDC_OP_TOKEN_ENDPOINT": self.document["token_endpoint"],
            "OIDC_OP_USER_ENDPOINT": self.document.get("userinfo_endpoint", ""),
            "OIDC_OP_JWKS_ENDPOINT": self.document["jwks_uri"],
            "OIDC_RP_CLIENT_ID": self.provider.client_id,
            "OIDC_RP_CLIENT_SECRET": self.provider.client_secret,
            "OIDC_RP_SIGN_ALGO": "RS256",
            "OIDC_RP_IDP_SIGN_KEY": None,
            "OIDC_ALLOW_UNSECURED_JWT": False,
            "OIDC_USE_NONCE": True,
            "OIDC_CREATE_USER": False,
            "OIDC_STORE_ACCESS_TOKEN": False,
            "OIDC_STORE_ID_TOKEN": False,
            "OIDC_TOKEN_USE_BASIC_AUTH": False,
            "OIDC_VERIFY_SSL": True,
            "OIDC_TIMEOUT": HTTP_TIMEOUT_SECONDS,
            "OIDC_PROXY": None,
        }
        if attr in values:
            return values[attr]
        if args:
            return args[0]
        raise ImproperlyConfigured(f"{attr} is not set for single sign-on provider {self.provider.name}")

    def _verify_jws(self, payload: Any, key: Any) -> dict[str, Any]:
        """Signature, issuer, audience, expiry and issue time (the library checks only the signature)."""
        try:
            header = jwt.get_unverified_header(payload)
            algorithm = header.get("alg")
            if algorithm not in SIGNING_ALGORITHMS:
                raise SuspiciousOperation(f"ID token signed with {algorithm!r}, not an accepted algorithm")
            claims = jwt.decode(
                payload,
                key,
                algorithms=[algorithm],
                audience=self.provider.client_id,
                issuer=self.provider.issuer,
                leeway=CLOCK_LEEWAY_SECONDS,
                options={"require": ["iss", "aud", "sub", "exp", "iat"]},
            )
        except jwt.PyJWTError as exc:
            raise SuspiciousOperation(f"ID token refused: {exc}") from exc
        audience = claims.get("aud")
        if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != self.provider.client_id:
            raise SuspiciousOperation("ID token refused: several audiences and we are not the authorised party")
        return dict(claims)

    def retrieve_matching_jwk(self, token: Any) -> Any:
        try:
            return super().retrieve_matching_jwk(token)
        except (KeyError, jwt.PyJWTError) as exc:  # a token without kid, a key the library can't read
            raise SuspiciousOperation(f"no usable signing key: {exc}") from exc

    def id_token_claims(self, request: HttpRequest, *, code: str, nonce: str, code_verifier: str) -> dict[str, Any]:
        """Exchange the code for tokens and return the verified claims of the ID token."""
        token_info = self.get_token(
            {
                "client_id": self.provider.client_id,
                "client_secret": self.provider.client_secret,
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": request.build_absolute_uri(callback_path(self.provider)),
                "code_verifier": code_verifier,
            }
        )
        id_token = token_info.get("id_token") if isinstance(token_info, dict) else None
        if not id_token:
            raise SuspiciousOperation("the token response has no ID token")
        return dict(self.verify_token(id_token, nonce=nonce))


def callback_path(provider: Provider) -> str:
    return reverse("sso-callback", kwargs={"provider": provider.name})


# Finding the account --------------------------------------------------------------------------------------


def account_for(provider: Provider, claims: dict[str, Any]) -> tuple[User, OidcIdentity]:
    """The existing account the verified claims identify, and its identity link. Never makes an account."""
    issuer, subject = provider.issuer, str(claims["sub"])
    identity = OidcIdentity.objects.select_related("user__organisation").filter(issuer=issuer, subject=subject).first()
    if identity is not None:
        user = identity.user
    elif provider.match == MATCH_SUBJECT:
        raise SignInRefused("no account is linked to this identity")
    else:
        user = _account_by_claim(provider, claims)
        if OidcIdentity.objects.filter(user=user, issuer=issuer).exists():
            # The claim now names a different person at the provider than the one who signed in before.
            raise SignInRefused("this account is linked to another identity at this provider", username=user.username)
        try:
            with transaction.atomic():
                identity = OidcIdentity.objects.create(
                    user=user, name=f"single sign-on: {issuer}", issuer=issuer, subject=subject,
                    linked_by=provider.method,
                )
        except IntegrityError as exc:  # the same identity linked at the same moment elsewhere
            raise SignInRefused("this identity was linked concurrently; try again", username=user.username) from exc
    if provider.organisations:
        organisation = user.organisation.code if user.organisation else None
        if organisation not in provider.organisations:
            raise SignInRefused(
                f"identity provider {provider.name} is not trusted for this account's organisation",
                username=user.username,
            )
    return user, identity


def _account_by_claim(provider: Provider, claims: dict[str, Any]) -> User:
    if provider.match == MATCH_EMAIL:
        email = str(claims.get("email") or "").strip()
        if not email or claims.get("email_verified") is not True:
            raise SignInRefused("the identity provider gave no verified email address")
        users = list(User.objects.select_related("organisation").filter(email__iexact=email)[:2])
    else:
        username = str(claims.get(provider.username_claim) or "").strip()
        if not username:
            raise SignInRefused(f"the identity provider gave no {provider.username_claim}")
        users = list(User.objects.select_related("organisation").filter(username=username)[:2])
    if len(users) != 1:
        # None, or an email address two accounts share: picking one would be a guess.
        raise SignInRefused("no single account matches this identity")
    return users[0]


# The two views ---------------------------------------------------------------------------------------------


def _provider_or_none(name: str) -> Provider | None:
    return providers().get(name)


def _refused(request: HttpRequest, refusal: SignInRefused) -> HttpResponse:
    services.record_failed_sign_in(
        username=refusal.username, stage=STAGE, why=refusal.why[:500], client_address=signin.client_address(request)
    )
    query = {"sso": "lapsed" if refusal.outcome == signin.Outcome.LAPSED else "refused"}
    return HttpResponseRedirect(f"{reverse('sign-in')}?{urlencode(query)}")


@require_safe
def sso_start(request: HttpRequest, provider: str) -> HttpResponse:
    """Send the person to their identity provider (authorisation code flow with PKCE, state and nonce)."""
    if request.user.is_authenticated and request.session.get(signin.SIGNED_IN_AT):
        return HttpResponseRedirect(reverse("start"))
    chosen = _provider_or_none(provider)
    if chosen is None:
        return HttpResponseRedirect(reverse("sign-in"))
    try:
        document = discovery(chosen)
    except SignInRefused as refusal:
        return _refused(request, refusal)
    next_url = request.GET.get("next")
    if next_url and url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        request.session[NEXT] = next_url
    state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(64)
    params = {
        "response_type": "code",
        "scope": "openid email profile",
        "client_id": chosen.client_id,
        "redirect_uri": request.build_absolute_uri(callback_path(chosen)),
        "state": state,
        "nonce": nonce,
        "code_challenge": generate_code_challenge(verifier, "S256"),
        "code_challenge_method": "S256",
    }
    add_state_and_verifier_and_nonce_to_session(request, state, params, verifier)
    request.session["oidc_states"][state]["provider"] = chosen.name
    request.session.modified = True
    return HttpResponseRedirect(f"{document['authorization_endpoint']}?{urlencode(params)}")


@require_safe
def sso_callback(request: HttpRequest, provider: str) -> HttpResponse:
    """Finish: check the provider's answer, find the account, then sign in or ask for the TOTP code."""
    chosen = _provider_or_none(provider)
    states = request.session.get("oidc_states")
    state = request.GET.get("state", "")
    pending = states.pop(state, None) if isinstance(states, dict) else None  # single use
    request.session.modified = True
    if chosen is None or pending is None or pending.get("provider") != chosen.name:
        return _refused(request, SignInRefused("single sign-on answer with an unknown or reused state"))
    if request.GET.get("error") or not request.GET.get("code"):
        return _refused(request, SignInRefused(f"identity provider {chosen.name} did not sign the person in"))
    try:
        backend = ProviderBackend(chosen, discovery(chosen))
        claims = backend.id_token_claims(
            request, code=request.GET["code"], nonce=pending["nonce"], code_verifier=pending["code_verifier"]
        )
        user, identity = account_for(chosen, claims)
    except SignInRefused as refusal:
        return _refused(request, refusal)
    except (SuspiciousOperation, requests.RequestException, ValueError) as exc:
        return _refused(request, SignInRefused(f"identity provider {chosen.name}: {str(exc)[:300]}"))

    if not AxesProxyHandler.is_allowed(request, {"username": user.username}):
        return _refused(request, SignInRefused("locked out after too many failures", username=user.username))
    decision = user_may_use_directory(user)
    if not decision:
        return _refused(request, SignInRefused(decision.reason, username=user.username, outcome=signin.Outcome.LAPSED))

    next_url = request.session.get(NEXT) or reverse("start")
    if chosen.asserts_mfa(claims):
        signin.complete_sign_in(request, user, identity, method=chosen.method, second_factor="idp-mfa")
        request.session.pop(NEXT, None)
        return HttpResponseRedirect(next_url)
    if not signin.has_totp_device(user):
        return _refused(
            request,
            SignInRefused("no authenticator set up", username=user.username, outcome=signin.Outcome.NO_SECOND_FACTOR),
        )
    signin.begin_second_factor(request, user, method=chosen.method)
    request.session[NEXT] = next_url
    return HttpResponseRedirect(reverse("sign-in-code"))


urlpatterns = [
    path("sign-in/sso/<str:provider>", sso_start, name="sso-start"),
    path("sign-in/sso/<str:provider>/callback", sso_callback, name="sso-callback"),
]
