"""Single sign-on with OpenID Connect, against a small identity provider that runs inside the test.

The provider (:class:`TestProvider`) serves a discovery document, a JWKS with an RSA key generated
here, and a token endpoint that checks the client's secret, the redirect address and the PKCE verifier
before issuing an ID token signed with that key. ``responses`` routes the library's HTTP calls to it;
everything on our side (mozilla-django-oidc, the views, the session, the audit trail) runs for real.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import jwt
import pytest
import responses
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client

from access.factories import OrganisationFactory, UserFactory, totp_code
from contactpoint.access import oidc
from contactpoint.access import services as access_services
from contactpoint.access.models import OidcIdentity, Role
from contactpoint.audit.models import AuditEvent
from contactpoint.audit.tags import AuditAction

pytestmark = pytest.mark.django_db

ISSUER = "https://idp.example.test"
CLIENT_ID = "contactpoint-test"
CLIENT_SECRET = "test-client-secret"  # noqa: S105 (a test value)


def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class TestProvider:
    """A tiny OpenID Connect provider: discovery, JWKS and token endpoints, behind ``responses``."""

    __test__ = False

    def __init__(self, mock: responses.RequestsMock) -> None:
        self.key = _rsa_key()
        self.kid = "test-key-1"
        self.codes: dict[str, dict[str, Any]] = {}
        # What the next ID token says and how it is signed; tests change these to misbehave.
        self.claims_override: dict[str, Any] = {}
        self.signing_key: Any = self.key
        self.algorithm = "RS256"
        self.token_requests: list[dict[str, list[str]]] = []
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update(kid=self.kid, alg="RS256", use="sig")
        mock.get(
            f"{ISSUER}/.well-known/openid-configuration",
            json={
                "issuer": ISSUER,
                "authorization_endpoint": f"{ISSUER}/authorize",
                "token_endpoint": f"{ISSUER}/token",
                "jwks_uri": f"{ISSUER}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
            },
        )
        mock.get(f"{ISSUER}/jwks", json={"keys": [jwk]})
        mock.add_callback(responses.POST, f"{ISSUER}/token", callback=self._token)

    def authorize(self, authorize_url: str, **claims: Any) -> str:
        """The person signs in at the provider, which answers with a code; returns our callback URL."""
        query = {k: v[0] for k, v in parse_qs(urlparse(authorize_url).query).items()}
        assert authorize_url.startswith(f"{ISSUER}/authorize?")
        assert query["client_id"] == CLIENT_ID and query["response_type"] == "code"
        assert query["code_challenge_method"] == "S256" and "openid" in query["scope"].split()
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"query": query, "claims": claims}
        callback = urlparse(query["redirect_uri"])
        return f"{callback.path}?{urlencode({'code': code, 'state': query['state']})}"

    def _token(self, request: Any) -> tuple[int, dict[str, str], str]:
        form = parse_qs(request.body)
        self.token_requests.append(form)
        given = {k: v[0] for k, v in form.items()}
        grant = self.codes.pop(given.get("code", ""), None)
        if given.get("client_id") != CLIENT_ID or given.get("client_secret") != CLIENT_SECRET:
            return 401, {}, json.dumps({"error": "invalid_client"})
        if grant is None or given.get("redirect_uri") != grant["query"]["redirect_uri"]:
            return 400, {}, json.dumps({"error": "invalid_grant"})
        challenge = base64.urlsafe_b64encode(hashlib.sha256(given["code_verifier"].encode()).digest()).rstrip(b"=")
        if challenge.decode() != grant["query"]["code_challenge"]:
            return 400, {}, json.dumps({"error": "invalid_grant", "error_description": "PKCE"})
        now = int(time.time())
        claims = {
            "iss": ISSUER, "aud": CLIENT_ID, "iat": now, "exp": now + 300, "nonce": grant["query"]["nonce"],
            **grant["claims"], **self.claims_override,
        }
        claims = {k: v for k, v in claims.items() if v is not None}
        key = None if self.algorithm == "none" else self.signing_key
        id_token = jwt.encode(claims, key, algorithm=self.algorithm, headers={"kid": self.kid})
        body = {"access_token": "at-" + secrets.token_urlsafe(8), "token_type": "Bearer", "id_token": id_token}
        return 200, {"Content-Type": "application/json"}, json.dumps(body)


def provider_settings(**overrides: Any) -> dict[str, Any]:
    config = {
        "issuer": ISSUER, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "match": "subject",
        "username_claim": "preferred_username", "organisations": [], "mfa_amr": [], "mfa_acr": [],
        "label": "Test identity provider",
    }
    config.update(overrides)
    return {"test-idp": config}


@pytest.fixture
def idp(settings):
    settings.CONTACTPOINT_OIDC_PROVIDERS = provider_settings(mfa_amr=["mfa"])
    oidc.forget_discovery()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield TestProvider(mock)
    oidc.forget_discovery()


@pytest.fixture
def linked_user():
    user = UserFactory(role=Role.PRACTITIONER, email="nia.jones@example.org")
    access_services.link_oidc_identity(actor="tests", user=user, issuer=ISSUER, subject="sub-nia")
    return user


def sso(client: Client, idp: TestProvider, **claims: Any):
    """Start single sign-on, sign in at the provider with ``claims``, return our callback's response."""
    response = client.get("/sign-in/sso/test-idp")
    assert response.status_code == 302, response
    return client.get(idp.authorize(response["Location"], **claims))


def sign_in_events(action: AuditAction) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=str(action)).order_by("pk"))


def assert_refused(client: Client, response, *, why: str) -> None:
    assert response.status_code == 302 and response["Location"].startswith("/sign-in?sso=")
    assert client.get("/").status_code == 302, "refused, yet the start page answered"
    failure = AuditEvent.objects.order_by("-pk").first()  # the attempt's last word: a failure, no sign-in
    assert failure is not None and failure.action == AuditAction.ACCOUNT_SIGN_IN_FAILED
    assert failure.details["stage"] == "sso"
    assert why in failure.reason, failure.reason


# Signing in ------------------------------------------------------------------------------------------------


def test_a_linked_identity_with_mfa_reaches_the_start_page_and_is_audited(idp, linked_user):
    client = Client()
    response = sso(client, idp, sub="sub-nia", amr=["pwd", "mfa"])
    assert response.status_code == 302 and response["Location"] == "/"
    start = client.get("/")
    assert start.status_code == 200 and b"Find a child" in start.content
    (event,) = sign_in_events(AuditAction.ACCOUNT_SIGN_IN)
    assert event.actor_username == linked_user.username
    assert event.details == {"method": "oidc:test-idp", "second_factor": "idp-mfa"}
    # The token request carried our secret and the PKCE verifier; the client never asked for userinfo.
    (token_request,) = idp.token_requests
    assert token_request["client_secret"] == [CLIENT_SECRET] and token_request["code_verifier"]


def test_without_an_mfa_assertion_the_authenticator_code_is_still_asked(idp, linked_user):
    client = Client()
    response = sso(client, idp, sub="sub-nia", amr=["pwd"])
    assert response["Location"] == "/sign-in/code"
    assert client.get("/").status_code == 302, "one factor must not be enough"
    response = client.post("/sign-in/code", {"code": totp_code(linked_user)})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200
    (event,) = sign_in_events(AuditAction.ACCOUNT_SIGN_IN)
    assert event.details == {"method": "oidc:test-idp", "second_factor": "totp"}


def test_mfa_is_trusted_only_when_configured(idp, linked_user, settings):
    settings.CONTACTPOINT_OIDC_PROVIDERS = provider_settings(mfa_amr=[], mfa_acr=[])
    response = sso(Client(), idp, sub="sub-nia", amr=["mfa"], acr="high")
    assert response["Location"] == "/sign-in/code"
    settings.CONTACTPOINT_OIDC_PROVIDERS = provider_settings(mfa_acr=["high"])
    assert sso(Client(), idp, sub="sub-nia", acr="high")["Location"] == "/"


def test_without_a_second_factor_of_any_kind_sign_in_is_refused(idp):
    user = UserFactory(totp=False)
    access_services.link_oidc_identity(actor="tests", user=user, issuer=ISSUER, subject="sub-nototp")
    client = Client()
    assert_refused(client, sso(client, idp, sub="sub-nototp"), why="no authenticator")


def test_after_sign_in_you_return_to_the_page_you_asked_for_but_never_off_site(idp, linked_user):
    client = Client()
    start = client.get("/sign-in/sso/test-idp?next=/search")
    assert client.get(idp.authorize(start["Location"], sub="sub-nia", amr=["mfa"]))["Location"] == "/search"
    other = Client()
    start = other.get("/sign-in/sso/test-idp?next=https://evil.example/")
    assert other.get(idp.authorize(start["Location"], sub="sub-nia", amr=["mfa"]))["Location"] == "/"


# The ID token is checked -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "override,why",
    [
        ({"aud": "someone-else"}, "Audience"),
        ({"aud": [CLIENT_ID, "someone-else"]}, "authorised party"),
        ({"iss": "https://evil.example.test"}, "issuer"),
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, "expired"),
        ({"exp": None}, "exp"),
        ({"nonce": "replayed-nonce"}, "Nonce"),
    ],
    ids=["wrong-audience", "several-audiences-no-azp", "wrong-issuer", "expired", "no-expiry", "wrong-nonce"],
)
def test_a_bad_id_token_is_refused(idp, linked_user, override, why):
    idp.claims_override = override
    client = Client()
    assert_refused(client, sso(client, idp, sub="sub-nia", amr=["mfa"]), why=why)


def test_a_token_signed_with_another_key_is_refused(idp, linked_user):
    idp.signing_key = _rsa_key()  # same kid, different key: the signature does not verify
    client = Client()
    assert_refused(client, sso(client, idp, sub="sub-nia", amr=["mfa"]), why="verification failed")


def test_an_unsigned_token_is_refused(idp, linked_user):
    idp.algorithm = "none"
    client = Client()
    assert_refused(client, sso(client, idp, sub="sub-nia", amr=["mfa"]), why="JWKS")


def test_a_reused_or_forged_state_is_refused(idp, linked_user):
    client = Client()
    response = client.get("/sign-in/sso/test-idp")
    callback = idp.authorize(response["Location"], sub="sub-nia", amr=["mfa"])
    forged = callback.replace("state=", "state=forged")
    assert_refused(client, client.get(forged), why="state")
    assert client.get(callback)["Location"] == "/"  # the real answer still works once…
    client.post("/sign-out")
    assert_refused(client, client.get(callback), why="state")  # …and only once


def test_a_provider_error_is_refused(idp, linked_user):
    client = Client()
    start = client.get("/sign-in/sso/test-idp")
    state = parse_qs(urlparse(start["Location"]).query)["state"][0]
    response = client.get(f"/sign-in/sso/test-idp/callback?error=access_denied&state={state}")
    assert_refused(client, response, why="did not sign the person in")


def test_an_unknown_provider_goes_back_to_the_sign_in_page(idp):
    assert Client().get("/sign-in/sso/nobody")["Location"] == "/sign-in"


# Which account ---------------------------------------------------------------------------------------------


def test_an_unknown_subject_is_refused_and_no_account_is_made(idp, linked_user):
    from contactpoint.access.models import User

    before = User.objects.count()
    client = Client()
    response = sso(client, idp, sub="sub-stranger", amr=["mfa"], email="nia.jones@example.org", email_verified=True)
    assert_refused(client, response, why="no account is linked")
    assert User.objects.count() == before
    failure = sign_in_events(AuditAction.ACCOUNT_SIGN_IN_FAILED)[-1]
    assert failure.actor_username == "unknown user"


@pytest.mark.parametrize(
    "lapse",
    [
        {"suspended_at": "2026-01-01T00:00:00Z"},
        {"is_active": False},
        {"training_until": "2020-01-01"},
        {"background_check_until": "2020-01-01"},
        {"employer_authorised_until": "2020-01-01"},
    ],
    ids=["suspended", "disabled", "training", "background-check", "employer-authorisation"],
)
def test_a_lapsed_account_is_refused(idp, linked_user, lapse):
    for field, value in lapse.items():
        setattr(linked_user, field, value)
    linked_user.save()
    client = Client()
    response = sso(client, idp, sub="sub-nia", amr=["mfa"])
    assert_refused(client, response, why="access lapsed")
    assert response["Location"] == "/sign-in?sso=lapsed"
    assert sign_in_events(AuditAction.ACCOUNT_SIGN_IN_FAILED)[-1].actor_username == linked_user.username


def test_matching_by_verified_email_links_the_subject_and_holds_it(idp, settings):
    settings.CONTACTPOINT_OIDC_PROVIDERS = provider_settings(match="email", mfa_amr=["mfa"])
    user = UserFactory(email="Sam.Lee@example.org")
    claims = {"email": "sam.lee@example.org", "amr": ["mfa"]}
    client = Client()
    assert_refused(client, sso(client, idp, sub="sub-sam", email_verified=False, **claims), why="verified email")
    assert sso(Client(), idp, sub="sub-sam", email_verified=True, **claims)["Location"] == "/"
    assert OidcIdentity.objects.get(user=user).subject == "sub-sam"
    # The provider later gives the same address to someone else: refused.
    client = Client()
    assert_refused(client, sso(client, idp, sub="sub-impostor", email_verified=True, **claims), why="another identity")


def test_an_email_two_accounts_share_matches_neither(idp, settings):
    settings.CONTACTPOINT_OIDC_PROVIDERS = provider_settings(match="email", mfa_amr=["mfa"])
    UserFactory(email="shared@example.org")
    UserFactory(email="shared@example.org")
    client = Client()
    response = sso(client, idp, sub="s", email="shared@example.org", email_verified=True, amr=["mfa"])
    assert_refused(client, response, why="no single account")


def test_matching_by_username_claim(idp, settings):
    settings.CONTACTPOINT_OIDC_PROVIDERS = provider_settings(match="username", mfa_amr=["mfa"])
    user = UserFactory(username="jo.bloggs")
    assert sso(Client(), idp, sub="sub-jo", preferred_username="jo.bloggs", amr=["mfa"])["Location"] == "/"
    assert OidcIdentity.objects.get(user=user).subject == "sub-jo"


def test_a_provider_confined_to_organisations_vouches_for_no_one_else(idp, linked_user, settings):
    settings.CONTACTPOINT_OIDC_PROVIDERS = provider_settings(organisations=["NOT-THEIRS"], mfa_amr=["mfa"])
    client = Client()
    assert_refused(client, sso(client, idp, sub="sub-nia", amr=["mfa"]), why="not trusted for this account's")
    settings.CONTACTPOINT_OIDC_PROVIDERS = provider_settings(
        organisations=[linked_user.organisation.code], mfa_amr=["mfa"]
    )
    assert sso(Client(), idp, sub="sub-nia", amr=["mfa"])["Location"] == "/"


def test_a_locked_out_username_is_refused(idp, linked_user):
    client = Client()
    for _ in range(5):
        client.post("/sign-in", {"username": linked_user.username, "password": "wrong password!"})
    assert_refused(Client(), sso(Client(), idp, sub="sub-nia", amr=["mfa"]), why="locked out")


def test_the_single_sign_on_session_is_subject_to_the_same_limits(idp, linked_user):
    client = Client()
    assert sso(client, idp, sub="sub-nia", amr=["mfa"])["Location"] == "/"
    access_services.suspend_user(actor="tests", user=linked_user, reason="test")
    assert client.get("/")["Location"].startswith("/sign-in")  # suspension ended the session


# Linking -----------------------------------------------------------------------------------------------------


def test_linking_needs_the_right_to_manage_the_account_and_is_audited():
    from contactpoint.access.policy import AccessDenied

    user = UserFactory()
    other_area_team = UserFactory(role=Role.DIRECTORY_TEAM, organisation=OrganisationFactory())
    with pytest.raises(AccessDenied):
        access_services.link_oidc_identity(actor=other_area_team, user=user, issuer=ISSUER, subject="s")
    own_team = UserFactory(role=Role.DIRECTORY_TEAM, organisation=OrganisationFactory(
        local_authority=user.organisation.local_authority))
    access_services.link_oidc_identity(actor=own_team, user=user, issuer=ISSUER, subject="s")
    event = sign_in_events(AuditAction.ACCOUNT_USER_CHANGE)[-1]
    assert event.actor_username == own_team.username and event.details["oidc_issuer"] == ISSUER
    with pytest.raises(access_services.AccessError):
        access_services.link_oidc_identity(actor="tests", user=UserFactory(), issuer=ISSUER, subject="s")
