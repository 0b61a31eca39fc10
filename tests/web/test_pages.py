"""The pages a signed-in user sees, and what happens when the policy refuses."""

import re

import pytest

from access.factories import OrganisationFactory, UserFactory, sign_in
from contactpoint.access.models import Role
from contactpoint.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def headings(page):
    return re.findall(r'<h3 class="govuk-heading-s[^"]*">\s*(?:<a [^>]*>)?([^<]+)', page)


@pytest.mark.parametrize(
    "role,expected",
    [
        (Role.PRACTITIONER, ["Find a child"]),
        (Role.OPERATOR, ["Find a child"]),
        (
            Role.DIRECTORY_TEAM,
            ["Find a child", "Review uncertain matches", "Access alerts", "Feeds", "Users"],
        ),
        (Role.AUDITOR, ["Access alerts", "Audit trail"]),
        (Role.ADMIN, ["Users", "Organisations"]),
    ],
)
def test_the_start_page_offers_what_the_role_may_do(client, role, expected):
    sign_in(client, UserFactory(role=role))
    page = client.get("/").content.decode()
    assert [h.strip() for h in headings(page)] == expected


def test_the_base_template_has_the_govuk_furniture(client):
    user = UserFactory(organisation=OrganisationFactory(name="Hill School"))
    sign_in(client, user)
    page = client.get("/").content.decode()
    assert 'class="govuk-skip-link"' in page and 'href="#main-content"' in page
    assert "govuk-header" in page and "ContactPoint" in page
    assert "govuk-phase-banner" in page
    assert "govuk-footer" in page
    assert 'action="/sign-out"' in page and "Sign out" in page
    assert "Hill School" in page
    assert "govuk-frontend.min.css" in page and "web/init.mjs" in page


def test_forms_post_so_nothing_typed_ends_up_in_a_url(client):
    for url in ("/sign-in",):
        page = client.get(url).content.decode()
        forms = re.findall(r"<form[^>]*>", page)
        assert forms and all('method="post"' in form for form in forms)
    # The pages where people type about a child (or about whom they search for) post too.
    sign_in(client, UserFactory(role=Role.OPERATOR))
    client.post("/acting-for", {"requester": "PC 1 Jo Bloggs", "reason": "incident 7"})
    for url in ("/acting-for", "/search"):
        forms = re.findall(r"<form[^>]*>", client.get(url).content.decode())
        assert forms and all('method="post"' in form for form in forms), url


@pytest.mark.urls("web.urls_with_a_refusing_page")
def test_a_refusal_is_a_403_page_and_is_recorded(client):
    practitioner = UserFactory()
    sign_in(client, practitioner)
    response = client.get("/test-audit")
    assert response.status_code == 403
    assert "You cannot do that" in response.content.decode()
    [event] = AuditEvent.objects.filter(action="access:policy:deny")
    assert event.actor_username == practitioner.username
    assert event.outcome == "denied"
    assert event.details == {"permission": "audit:event:view"}


@pytest.mark.urls("web.urls_with_a_refusing_page")
def test_the_allowed_role_gets_through(client):
    sign_in(client, UserFactory(role=Role.AUDITOR))
    assert client.get("/test-audit").content == b"the audit trail"
