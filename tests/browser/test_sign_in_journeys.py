"""Signing in with both factors, signing out, and the notice when a session ends, in a real browser."""

from __future__ import annotations

from access.factories import UserFactory
from contactpoint.access import signin


def test_sign_in_with_a_second_factor_then_sign_out(journey):
    user = UserFactory(first_name="Priya", last_name="Shah")
    journey.goto("/")
    assert journey.heading() == "Sign in to ContactPoint"
    journey.check("sign-in")

    journey.page.get_by_role("button", name="Continue").click()
    assert "There is a problem" in journey.page.content()
    journey.check("sign-in-error")

    journey.page.get_by_label("Username").fill(user.username)
    journey.page.get_by_label("Password").fill("correct horse battery staple")
    journey.page.get_by_role("button", name="Continue").click()
    assert journey.heading() == "Enter the code from your authenticator app"
    journey.check("sign-in-code")

    journey.page.get_by_label("Enter the code from your authenticator app").fill("000000")
    journey.page.get_by_role("button", name="Sign in").click()
    assert "The code is not correct" in journey.page.content()
    journey.check("sign-in-code-error")

    from access.factories import totp_code

    # django-otp throttles a device after a wrong code (1 second after the first, doubling after each).
    journey.page.wait_for_timeout(1100)
    journey.page.get_by_label("Enter the code from your authenticator app").fill(totp_code(user))
    journey.page.get_by_role("button", name="Sign in").click()
    assert journey.heading() == "ContactPoint"
    assert "Signed in as Priya Shah" in journey.page.content()
    journey.check("start-practitioner")

    journey.page.get_by_role("button", name="Sign out").click()
    assert journey.heading() == "You have been signed out"
    journey.check("signed-out")
    journey.goto("/")
    assert journey.heading() == "Sign in to ContactPoint"


def test_an_idle_session_ends_with_a_notice(journey, monkeypatch):
    user = UserFactory()
    journey.sign_in(user)
    assert journey.heading() == "ContactPoint"
    started = signin.now()
    monkeypatch.setattr(signin, "now", lambda: started + 16 * 60)
    journey.page.reload()
    assert journey.heading() == "Your session has ended"
    journey.check("session-expired")
    journey.page.get_by_role("link", name="Sign in again").click()
    assert journey.heading() == "Sign in to ContactPoint"


def test_the_accessibility_check_would_catch_a_problem(journey):
    """The axe check really looks at each page it is given (here, a copy of a page with two faults)."""
    journey.goto("/sign-in")
    journey.axe_violations()  # first page: axe is injected
    journey.page.evaluate(
        "() => { document.querySelector('label[for=id_username]').remove();"
        " document.body.insertAdjacentHTML('beforeend', '<img src=/static/web/nothing.png>'); }"
    )
    problems = "\n".join(journey.axe_violations())
    assert "image-alt" in problems and "label" in problems
