"""The orgs, users and tokens commands."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from contactpoint.access.models import ApiToken, User
from contactpoint.access.tokens import user_for_secret
from contactpoint.orgs.models import LocalAuthority, Organisation

from .factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue()


def test_orgs_add_creates_the_local_authority_if_missing():
    output = run(
        "orgs",
        "add",
        "HILL",
        "--name",
        "Hill School",
        "--authority",
        "E08000025",
        "--authority-name",
        "Birmingham",
        "--kind",
        "school",
    )
    assert "Hill School" in output
    assert Organisation.objects.get(code="HILL").local_authority == LocalAuthority.objects.get(name="Birmingham")
    run("orgs", "add", "VALE", "--name", "Vale GP", "--authority", "E08000025")
    assert LocalAuthority.objects.count() == 1
    assert "VALE" in run("orgs", "list")
    with pytest.raises(CommandError):
        run("orgs", "add", "VALE", "--name", "Again", "--authority", "E08000025")


def test_users_add_prints_password_and_totp_secret_as_json():
    org = OrganisationFactory()
    result = json.loads(
        run(
            "users",
            "add",
            "asha",
            "--role",
            "practitioner",
            "--org",
            org.code,
            "--checks-valid-until",
            "2099-01-01",
            "--json",
        )
    )
    assert result["username"] == "asha"
    assert result["may_use_directory"] is True
    assert User.objects.get(username="asha").check_password(result["password"])
    assert len(result["totp_secret"]) == 32


def test_users_add_warns_when_checks_are_missing():
    org = OrganisationFactory()
    output = run("users", "add", "ben", "--role", "practitioner", "--org", org.code)
    assert "Initial password:" in output
    assert "Cannot sign in yet" in output
    with pytest.raises(CommandError, match="no organisation"):
        run("users", "add", "cal", "--role", "practitioner", "--org", "NOPE")


def test_users_suspend_unsuspend_and_renew():
    user = UserFactory(username="dee")
    run("users", "suspend", "dee", "--reason", "investigation")
    user.refresh_from_db()
    assert user.suspended_at is not None
    assert "account suspended" in run("users", "list")
    run("users", "unsuspend", "dee", "--reason", "cleared")
    run("users", "renew", "dee", "--training-until", "2099-12-31")
    user.refresh_from_db()
    assert user.suspended_at is None and str(user.training_until) == "2099-12-31"
    with pytest.raises(CommandError):
        run("users", "suspend", "nobody", "--reason", "x")


def test_tokens_create_prints_a_working_token_and_revoke_ends_it():
    user = UserFactory(username="feeds")
    secret = run("tokens", "create", "feeds", "--ttl", "3600").strip()
    assert user_for_secret(secret) == user
    token = ApiToken.objects.get()
    assert token.prefix in run("tokens", "list", "feeds")
    run("tokens", "revoke", token.prefix, "--reason", "rotated")
    assert user_for_secret(secret) is None
    run("tokens", "create", "feeds")
    assert "Revoked 1" in run("tokens", "revoke", "--user", "feeds")


def test_users_link_sso_links_an_identity_once_and_refuses_it_for_another_account():
    from contactpoint.access.models import OidcIdentity
    from contactpoint.audit.models import AuditEvent

    ann, ben = UserFactory(username="ann"), UserFactory(username="ben")
    issuer = "https://login.example.nhs.uk"
    output = run("users", "link-sso", "ann", "--issuer", issuer, "--subject", "a-123")
    assert "ann may now sign in through https://login.example.nhs.uk" in output
    assert OidcIdentity.objects.get(issuer=issuer, subject="a-123").user == ann
    assert AuditEvent.objects.filter(details__oidc_issuer=issuer).count() == 1
    run("users", "link-sso", "ann", "--issuer", issuer, "--subject", "a-123")  # again: nothing changes
    assert OidcIdentity.objects.count() == 1
    with pytest.raises(CommandError, match="already linked to another account"):
        run("users", "link-sso", ben.username, "--issuer", issuer, "--subject", "a-123")
    with pytest.raises(CommandError, match="no user"):
        run("users", "link-sso", "nobody", "--issuer", issuer, "--subject", "x")
