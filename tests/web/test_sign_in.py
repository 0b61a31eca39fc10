"""Signing in: password then TOTP code, lockout, lapsed accounts, session limits, signing out."""

import datetime

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from access.factories import PASSWORD, UserFactory, sign_in, totp_code
from contactpoint.access import services, signin
from contactpoint.access.models import SignedInSession
from contactpoint.audit.models import AuditEvent

pytestmark = pytest.mark.django_db
YESTERDAY = timezone.localdate() - datetime.timedelta(days=1)


def audit(action):
    return list(AuditEvent.objects.filter(action=action).order_by("sequence"))


def test_signing_in_with_password_and_code_reaches_the_start_page(client):
    user = UserFactory()
    sign_in(client, user)
    response = client.get("/")
    assert response.status_code == 200
    assert "What you can do" in response.content.decode()
    [event] = audit("account:session:sign_in")
    assert event.actor_username == user.username
    assert SignedInSession.objects.filter(user=user).count() == 1


def test_each_step_of_signing_in_starts_a_new_session_key(client):
    """No session fixation: a key planted before sign-in is not the key of the signed-in session."""
    user = UserFactory()
    client.get("/sign-in")
    client.session.save()
    planted = client.session.session_key
    client.post("/sign-in", {"username": user.username, "password": PASSWORD})
    half_way = client.session.session_key
    client.post("/sign-in/code", {"code": totp_code(user)})
    assert len({planted, half_way, client.session.session_key}) == 3
    assert not Session.objects.filter(session_key__in=[planted, half_way]).exists()


def test_a_password_alone_gives_no_access(client):
    user = UserFactory()
    response = client.post("/sign-in", {"username": user.username, "password": PASSWORD})
    assert response["Location"] == "/sign-in/code"
    assert client.get("/")["Location"].startswith("/sign-in")
    assert "_auth_user_id" not in client.session
    assert not audit("account:session:sign_in")


def test_a_wrong_password_is_refused_and_recorded(client):
    user = UserFactory()
    response = client.post("/sign-in", {"username": user.username, "password": "wrong password!"})
    assert response.status_code == 200
    assert "Enter a correct username and password" in response.content.decode()
    [event] = audit("account:session:sign_in_failed")
    assert event.actor_username == user.username
    assert event.outcome == "failure"
    assert event.details == {"stage": "password"}


def test_a_wrong_code_is_refused_and_recorded(client):
    user = UserFactory()
    client.post("/sign-in", {"username": user.username, "password": PASSWORD})
    response = client.post("/sign-in/code", {"code": "000000" if totp_code(user) != "000000" else "111111"})
    assert response.status_code == 200
    assert "The code is not correct" in response.content.decode()
    assert client.get("/")["Location"].startswith("/sign-in")
    [event] = audit("account:session:sign_in_failed")
    assert event.details == {"stage": "second_factor"}


def test_the_code_page_needs_a_password_first(client):
    assert client.get("/sign-in/code")["Location"] == "/sign-in"


def test_an_account_without_an_authenticator_cannot_sign_in(client):
    user = UserFactory(totp=False)
    response = client.post("/sign-in", {"username": user.username, "password": PASSWORD})
    assert "no authenticator app" in response.content.decode()


def test_lockout_after_five_wrong_passwords(client):
    user = UserFactory()
    for _ in range(5):
        client.post("/sign-in", {"username": user.username, "password": "wrong password!"})
    # Even the right password is now refused.
    response = client.post("/sign-in", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 429
    assert "You cannot sign in for now" in response.content.decode()
    assert audit("account:session:sign_in_failed")[-1].reason == "locked out after too many failures"


def test_wrong_codes_count_towards_the_lockout(client, monkeypatch):
    user = UserFactory()
    client.post("/sign-in", {"username": user.username, "password": PASSWORD})
    wrong = "000000" if totp_code(user) != "000000" else "111111"
    # django-otp also slows down repeated wrong codes; take that out to reach the lockout quickly.
    monkeypatch.setattr("django_otp.plugins.otp_totp.models.TOTPDevice.verify_is_allowed", lambda self: (True, None))
    for _ in range(5):
        client.post("/sign-in/code", {"code": wrong})
    response = client.post("/sign-in", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 429


@pytest.mark.parametrize(
    "lapse",
    [
        {"employer_authorised_until": YESTERDAY},
        {"background_check_until": YESTERDAY},
        {"training_until": YESTERDAY},
        {"suspended_at": timezone.now()},
        {"is_active": False},
    ],
    ids=["employer", "background-check", "training", "suspended", "disabled"],
)
def test_a_lapsed_account_cannot_sign_in(client, lapse):
    user = UserFactory(**lapse)
    response = client.post("/sign-in", {"username": user.username, "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    assert signin.PENDING_USER not in client.session
    assert not audit("account:session:sign_in")
    if "is_active" not in lapse:  # Django refuses inactive users before we can say why
        assert "is not current" in response.content.decode()
    assert audit("account:session:sign_in_failed")


@pytest.mark.parametrize("check", ["employer_authorised_until", "background_check_until", "training_until"])
def test_an_account_that_lapses_mid_session_is_signed_out(client, check):
    user = UserFactory()
    sign_in(client, user)
    setattr(user, check, YESTERDAY)
    user.save()
    response = client.get("/")
    assert response["Location"] == "/signed-out?why=access-lapsed"
    assert "no longer current" in client.get(response["Location"]).content.decode()
    assert client.get("/")["Location"].startswith("/sign-in")
    [event] = audit("account:session:sign_out")
    assert "not current" in event.reason


def test_suspension_ends_every_session_at_once(client):
    user = UserFactory()
    other_browser = Client()
    sign_in(client, user)
    user.totpdevice_set.update(last_t=-1)  # allow the same code again, in the same 30 seconds
    sign_in(other_browser, user)
    assert Session.objects.count() == 2
    services.suspend_user(actor="cli:test", user=user, reason="investigation")
    assert Session.objects.count() == 0
    assert SignedInSession.objects.count() == 0
    for browser in (client, other_browser):
        assert browser.get("/")["Location"].startswith("/sign-in")


def test_a_session_ends_after_15_minutes_idle(client, monkeypatch):
    sign_in(client, UserFactory())
    start = signin.now()
    monkeypatch.setattr(signin, "now", lambda: start + 14 * 60)
    assert client.get("/").status_code == 200
    monkeypatch.setattr(signin, "now", lambda: start + 28 * 60)  # 14 minutes after the last request
    assert client.get("/").status_code == 200
    monkeypatch.setattr(signin, "now", lambda: start + 43 * 60 + 1)
    assert client.get("/")["Location"] == "/session-expired"
    assert audit("account:session:sign_out")[-1].reason == "session idle for too long"
    assert client.get("/")["Location"].startswith("/sign-in")


def test_a_session_ends_after_12_hours_however_busy(client, monkeypatch):
    sign_in(client, UserFactory())
    start = signin.now()
    for minutes in range(10, 12 * 60, 10):
        monkeypatch.setattr(signin, "now", lambda m=minutes: start + m * 60)
        assert client.get("/").status_code == 200
    monkeypatch.setattr(signin, "now", lambda: start + 12 * 60 * 60 + 1)
    assert client.get("/")["Location"] == "/session-expired"
    assert audit("account:session:sign_out")[-1].reason == "session reached its absolute time limit"


def test_the_session_cookie_and_row_expire_after_15_minutes_idle(settings):
    assert settings.SESSION_COOKIE_AGE == 15 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    assert settings.SESSION_ABSOLUTE_LIMIT_SECONDS == 12 * 60 * 60
    assert settings.SESSION_COOKIE_HTTPONLY is True
    assert settings.SESSION_COOKIE_SAMESITE == "Strict"


def test_a_password_only_session_is_not_enough(client):
    """A session made without the second factor (force_login) is refused and ended."""
    client.force_login(UserFactory())
    assert client.get("/")["Location"] == "/sign-in"
    assert "_auth_user_id" not in client.session


def test_signing_out(client):
    user = UserFactory()
    sign_in(client, user)
    assert client.get("/sign-out").status_code == 405  # only by POST, with the CSRF token
    response = client.post("/sign-out")
    assert response["Location"] == "/signed-out"
    assert "You have been signed out" in client.get("/signed-out").content.decode()
    assert client.get("/")["Location"].startswith("/sign-in")
    [event] = audit("account:session:sign_out")
    assert event.reason == "signed out"
    assert not SignedInSession.objects.exists()


def test_after_sign_in_you_return_to_the_page_you_asked_for_but_never_off_site(client):
    user = UserFactory()
    assert client.get("/session-expired").status_code == 200
    response = client.get("/")
    assert response["Location"] == "/sign-in"
    client.post("/sign-in?next=https://evil.example/", {"username": user.username, "password": PASSWORD})
    response = client.post("/sign-in/code", {"code": totp_code(user)})
    assert response["Location"] == "/"


def test_every_form_is_protected_against_csrf():
    user = UserFactory()
    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/sign-in", {"username": user.username, "password": PASSWORD}).status_code == 403
    page = strict.get("/sign-in").content.decode()
    assert 'name="csrfmiddlewaretoken"' in page
