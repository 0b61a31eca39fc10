"""API bearer tokens: stored hashed, refused once expired, revoked, or their user lapses."""

import datetime

import pytest
from django.test import RequestFactory
from django.utils import timezone

from contactpoint.access import services
from contactpoint.access.api_auth import BearerTokenAuth
from contactpoint.access.models import ApiToken
from contactpoint.access.tokens import hash_secret

from .factories import UserFactory

pytestmark = pytest.mark.django_db


def authenticate(secret):
    request = RequestFactory().get("/api/v1/anything", HTTP_AUTHORIZATION=f"Bearer {secret}")
    return BearerTokenAuth()(request)


def test_a_token_authenticates_its_user_and_only_its_hash_is_stored():
    user = UserFactory()
    new = services.create_api_token(actor="cli:test", user=user, ttl_seconds=60)
    assert authenticate(new.secret) == user
    stored = ApiToken.objects.get()
    assert stored.token_hash == hash_secret(new.secret)
    assert new.secret not in {stored.token_hash, stored.prefix}
    assert stored.last_used_at is not None


def test_unknown_and_malformed_tokens_are_refused():
    assert authenticate("cp_not-a-real-token") is None
    assert authenticate("") is None
    request = RequestFactory().get("/api/v1/anything", HTTP_AUTHORIZATION="Basic abc")
    assert BearerTokenAuth()(request) is None


def test_an_expired_token_is_refused():
    new = services.create_api_token(actor="cli:test", user=UserFactory(), ttl_seconds=60)
    ApiToken.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert authenticate(new.secret) is None


def test_a_revoked_token_is_refused_at_once():
    new = services.create_api_token(actor="cli:test", user=UserFactory())
    services.revoke_api_token(actor="cli:test", token=new.token, reason="laptop lost")
    assert authenticate(new.secret) is None


def test_a_suspended_users_tokens_are_refused():
    user = UserFactory()
    new = services.create_api_token(actor="cli:test", user=user)
    services.suspend_user(actor="cli:test", user=user, reason="investigation")
    assert authenticate(new.secret) is None


@pytest.mark.parametrize("check", ["employer_authorised_until", "background_check_until", "training_until"])
def test_a_lapsed_users_tokens_are_refused(check):
    user = UserFactory()
    new = services.create_api_token(actor="cli:test", user=user)
    setattr(user, check, timezone.localdate() - datetime.timedelta(days=1))
    user.save()
    assert authenticate(new.secret) is None


def test_token_lifetime_is_bounded():
    with pytest.raises(services.AccessError):
        services.create_api_token(actor="cli:test", user=UserFactory(), ttl_seconds=0)
    with pytest.raises(services.AccessError):
        services.create_api_token(actor="cli:test", user=UserFactory(), ttl_seconds=10**9)
