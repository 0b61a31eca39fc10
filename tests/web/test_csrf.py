"""Every page that takes a POST refuses one without a CSRF token, and every form the pages render
carries one. The pages are discovered from the URL configuration, so a new form is checked tomorrow."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from access.factories import sign_in
from contactpoint.access.models import Role
from directory.builders import user
from web.test_url_authentication import SESSION_PAGES, concrete

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", [Role.DIRECTORY_TEAM, Role.AUDITOR])
def test_no_page_accepts_a_post_without_a_csrf_token(role):
    relaxed = Client()
    sign_in(relaxed, user(role))
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = relaxed.cookies
    for route, name, _ in SESSION_PAGES:
        if name == "sign-out":
            continue  # checked last: it would end the session
        response = strict.post(concrete(route), {"reason": "x", "decision": "accept", "confirm": "yes"})
        refused_by_csrf = response.status_code == 403 and b"CSRF" in response.content
        assert refused_by_csrf or response.status_code == 405, f"POST {route} answered {response.status_code}"
    response = strict.post("/sign-out")
    assert response.status_code == 403 and b"CSRF" in response.content
    assert relaxed.get("/").status_code == 200  # still signed in


@pytest.mark.parametrize(
    "role,urls",
    [
        (Role.PRACTITIONER, ["/", "/search"]),
        (Role.OPERATOR, ["/acting-for"]),
        (Role.DIRECTORY_TEAM, ["/users", "/users/new", "/review"]),
        (Role.AUDITOR, ["/audit"]),
    ],
)
def test_every_form_posts_with_a_csrf_token(client, role, urls):
    """Forms post (nothing typed ends up in a URL) and carry the token."""
    sign_in(client, user(role))
    for url in urls:
        page = client.get(url).content.decode()
        forms = re.findall(r"<form[^>]*>.*?</form>", page, flags=re.S)
        assert forms, url
        for form in forms:
            assert 'method="post"' in form, f"{url}: {form[:80]}"
            assert 'name="csrfmiddlewaretoken"' in form, f"{url}: {form[:80]}"
