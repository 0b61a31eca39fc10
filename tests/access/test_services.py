"""Account, organisation and token services: each does its job and writes its audit event."""

import base64
import datetime

import pyotp
import pytest
from django.contrib.auth.hashers import check_password
from django.utils import timezone

from contactpoint.access import services
from contactpoint.access.models import ApiToken, Role, User
from contactpoint.access.policy import AccessDenied, user_may_use_directory
from contactpoint.audit.models import AuditEvent
from contactpoint.orgs.models import LocalAuthority

from .factories import LocalAuthorityFactory, OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db


def events(action):
    return AuditEvent.objects.filter(action=action)


def test_add_organisation_creates_its_local_authority_once():
    org = services.add_organisation(
        actor="cli:test",
        code="SCH1",
        name="Hill School",
        local_authority_code="E08000025",
        local_authority_name="Birmingham",
        kind="school",
    )
    services.add_organisation(actor="cli:test", code="GP1", name="Hill GP", local_authority_code="E08000025")
    assert org.local_authority.name == "Birmingham"
    assert LocalAuthority.objects.filter(code="E08000025").count() == 1
    event = events("account:organisation:create").first()
    assert event.actor_username == "cli:test"
    assert event.details == {
        "organisation": "SCH1",
        "local_authority": "E08000025",
        "local_authority_created": True,
    }


def test_only_admins_add_organisations():
    with pytest.raises(AccessDenied):
        services.add_organisation(
            actor=UserFactory(role=Role.DIRECTORY_TEAM), code="X", name="X", local_authority_code="E1"
        )
    services.add_organisation(actor=UserFactory(role=Role.ADMIN), code="X", name="X", local_authority_code="E1")


def test_create_user_returns_a_working_password_and_totp_secret():
    org = OrganisationFactory()
    new = services.create_user(
        actor="cli:test",
        username="asha",
        role="practitioner",
        organisation=org,
        checks_valid_until=timezone.localdate() + datetime.timedelta(days=30),
    )
    user = User.objects.get(username="asha")
    assert check_password(new.password, user.password)
    assert len(new.password) >= 12
    device = user.totpdevice_set.get()
    assert device.confirmed
    assert base64.b32decode(new.totp_secret) == device.bin_key
    assert device.verify_token(pyotp.TOTP(new.totp_secret).now())
    assert new.totp_uri.startswith("otpauth://totp/")
    assert user_may_use_directory(user)
    event = events("account:user:create").get()
    assert event.details == {"user": "asha", "role": "practitioner", "organisation": org.code}
    assert new.password not in str(event.details) and new.totp_secret not in str(event.details)


def test_create_user_refuses_duplicates_and_unknown_roles():
    org = OrganisationFactory()
    services.create_user(actor="cli:test", username="asha", role="practitioner", organisation=org)
    with pytest.raises(services.AccessError):
        services.create_user(actor="cli:test", username="asha", role="practitioner", organisation=org)
    with pytest.raises(services.AccessError):
        services.create_user(actor="cli:test", username="ben", role="superuser", organisation=org)


def test_a_directory_team_creates_accounts_only_in_its_own_area():
    team = UserFactory(role=Role.DIRECTORY_TEAM)
    home_org = OrganisationFactory(local_authority=team.organisation.local_authority)
    services.create_user(actor=team, username="local", role="practitioner", organisation=home_org)
    with pytest.raises(AccessDenied):
        services.create_user(actor=team, username="far", role="practitioner", organisation=OrganisationFactory())
    with pytest.raises(AccessDenied):
        services.create_user(actor=team, username="boss", role="admin", organisation=home_org)
    assert events("account:user:create").get().actor_username == team.username


def test_suspension_needs_a_reason_and_is_audited():
    user = UserFactory()
    with pytest.raises(services.AccessError):
        services.suspend_user(actor="cli:test", user=user, reason=" ")
    services.suspend_user(actor="cli:test", user=user, reason="left employer")
    user.refresh_from_db()
    assert not user_may_use_directory(user)
    assert events("account:user:suspend").get().reason == "left employer"
    services.unsuspend_user(actor="cli:test", user=user, reason="returned")
    user.refresh_from_db()
    assert user_may_use_directory(user)
    assert events("account:user:unsuspend").count() == 1


def test_suspension_revokes_every_token_at_once():
    user = UserFactory()
    first = services.create_api_token(actor="cli:test", user=user)
    second = services.create_api_token(actor="cli:test", user=user)
    services.suspend_user(actor="cli:test", user=user, reason="investigation")
    assert ApiToken.objects.filter(pk__in=[first.token.pk, second.token.pk], revoked_at__isnull=False).count() == 2
    assert events("account:user:suspend").get().details["tokens_revoked"] == 2


def test_renew_checks_restores_a_lapsed_account():
    user = UserFactory(training_until=timezone.localdate() - datetime.timedelta(days=1))
    assert not user_may_use_directory(user)
    next_year = timezone.localdate() + datetime.timedelta(days=365)
    services.renew_checks(actor="cli:test", user=user, training_until=next_year)
    user.refresh_from_db()
    assert user_may_use_directory(user)
    assert events("account:user:change").get().details == {
        "user": user.username,
        "training_until": next_year.isoformat(),
    }


def test_failed_sign_in_never_records_an_unknown_username():
    services_call = services.record_failed_sign_in
    services_call(username="hunter2-typed-in-the-wrong-box", stage="password", why="wrong password")
    event = events("account:session:sign_in_failed").get()
    assert event.actor_username == "unknown user"
    assert "hunter2" not in str(event.details)


def test_demo_accounts_one_per_role():
    org = OrganisationFactory(local_authority=LocalAuthorityFactory())
    accounts = services.create_demo_accounts(actor="demo-loader", organisation=org)
    assert sorted(a.user.role for a in accounts) == sorted(Role.values)
    assert all(user_may_use_directory(a.user) for a in accounts)
    assert services.create_demo_accounts(actor="demo-loader", organisation=org) == []
