"""Search, the child's record, involvements and shielding pages: who may use each, and what they show.

The rules themselves are the directory's and the policy's (tests/directory, tests/access); these tests
prove the pages call them, refuse as they refuse, and keep what was typed out of URLs.
"""

from __future__ import annotations

import datetime

import pytest

from access.factories import sign_in
from contactpoint.access.models import Role
from contactpoint.audit.models import AuditEvent
from contactpoint.directory.services import add_involvement, shield_child
from directory.builders import OTHER_AREA, child_row, load_children, user

pytestmark = pytest.mark.django_db


@pytest.fixture
def child(tmp_path):
    row = child_row(
        "N1",
        service_type="school",
        organisation_code="103456",
        organisation_name="Elm Primary",
        practitioner_name="Tom Reid",
        practitioner_email="dsl@elm.example.org",
        carer_given_names="Grace",
        carer_family_name="Okafor",
        carer_relationship="mother",
        carer_phone="07700 900123",
    )
    return load_children(tmp_path, [row])["N1"]


def signed_in(client, role=Role.PRACTITIONER, **kwargs):
    person = user(role, **kwargs)
    sign_in(client, person)
    return person


AMELIA = {"given_name": "Amelia", "family_name": "Okafor", "dob_day": "4", "dob_month": "3", "dob_year": "2015"}


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.ADMIN])
def test_roles_without_child_data_cannot_search_or_open_a_record(client, child, role):
    signed_in(client, role)
    assert client.get("/search").status_code == 403
    assert client.post("/search", AMELIA).status_code == 403
    assert client.get(f"/children/{child.contactpoint_id}").status_code == 403
    assert AuditEvent.objects.filter(action="access:policy:deny").count() == 3


def test_search_posts_and_lists_matches_best_first(client, child):
    signed_in(client)
    page = client.get("/search").content.decode()
    assert '<form method="post" action="/search"' in page
    page = client.post("/search", AMELIA).content.decode()
    assert "1 child matches" in page and f"/children/{child.contactpoint_id}" in page
    assert "Elm Road" not in page  # a result list is minimal: no address


def test_too_few_criteria_say_what_to_add(client, child):
    signed_in(client)
    page = client.post("/search", {"family_name": "Okafor"}).content.decode()
    assert "There is a problem" in page and "with a family name give a full date of birth" in page
    page = client.post("/search", {"family_name": "Okafor", "dob_day": "4"}).content.decode()
    assert "Date of birth must include a year" in page
    page = client.post("/search", {"family_name": "O*", "dob_day": "4", "dob_month": "3", "dob_year": "2015"})
    assert "wildcards" in page.content.decode()


def test_operators_name_the_requester_before_searching(client, child):
    operator = signed_in(client, Role.OPERATOR)
    assert client.get("/search")["Location"] == "/acting-for"
    assert client.get(f"/children/{child.contactpoint_id}")["Location"] == "/acting-for"
    assert "Enter the name and organisation" in client.post("/acting-for", {}).content.decode()
    client.post("/acting-for", {"requester": "PC 12 Jo Bloggs, WMP", "reason": "Incident 44"})
    assert client.post("/search", AMELIA).status_code == 200
    assert client.get(f"/children/{child.contactpoint_id}").status_code == 200
    searches = AuditEvent.objects.filter(actor_username=operator.username, action__startswith="access:child")
    assert {(e.requester, e.reason) for e in searches} == {("PC 12 Jo Bloggs, WMP", "Incident 44")}


def test_practitioners_are_not_asked_for_a_requester(client):
    signed_in(client)
    assert client.get("/acting-for")["Location"] == "/search"


def test_the_record_shows_who_is_involved_and_how_to_reach_them(client, child):
    signed_in(client)
    page = client.get(f"/children/{child.contactpoint_id}").content.decode()
    assert "Elm Primary" in page and "dsl@elm.example.org" in page and "Grace Okafor" in page
    assert AuditEvent.objects.filter(action="access:child:view", children=[child.contactpoint_id]).exists()


def test_an_unknown_child_is_404(client, child):
    signed_in(client)
    assert client.get("/children/AAAA-AAAA-AAAA").status_code == 404
    assert client.get("/children/not-an-id").status_code == 404


def test_a_directory_team_of_another_area_cannot_open_the_record(client, child):
    signed_in(client, Role.DIRECTORY_TEAM, area_code=OTHER_AREA)
    assert client.get(f"/children/{child.contactpoint_id}").status_code == 403
    assert client.get(f"/children/{child.contactpoint_id}/shield").status_code == 200  # the form...
    response = client.post(f"/children/{child.contactpoint_id}/shield", {"reason": "refuge", "review_on": "2099-01-01"})
    assert response.status_code == 403  # ...but the decision is refused


def test_a_practitioner_cannot_shield(client, child):
    signed_in(client)
    assert client.get(f"/children/{child.contactpoint_id}/shield").status_code == 403
    assert client.post(f"/children/{child.contactpoint_id}/unshield", {"reason": "x"}).status_code == 403


def test_a_practitioner_adds_sets_flags_and_ends_their_own_involvement(client, child):
    signed_in(client)
    url = f"/children/{child.contactpoint_id}/involvements/add"
    assert "Select the service" in client.post(url, {}).content.decode()
    page = client.post(url, {"service_type": "mental_health"}).content.decode()
    assert "Confirm that the young person has consented" in page
    response = client.post(url, {"service_type": "health_visitor", "is_lead_professional": "on"})
    assert response["Location"] == f"/children/{child.contactpoint_id}#involvements"
    [event] = AuditEvent.objects.filter(action="directory:involvement:add")
    involvement = event.details["involvement"]
    client.post(f"/involvements/{involvement}/flags", {"contactpoint_id": child.contactpoint_id, "caf_held": "on"})
    assert AuditEvent.objects.filter(action="directory:involvement:change").count() == 1
    confirm = client.post(f"/involvements/{involvement}/end", {"contactpoint_id": child.contactpoint_id})
    assert "Are you sure" in confirm.content.decode()
    assert not AuditEvent.objects.filter(action="directory:involvement:end").exists()
    client.post(f"/involvements/{involvement}/end", {"contactpoint_id": child.contactpoint_id, "confirm": "yes"})
    assert AuditEvent.objects.filter(action="directory:involvement:end").count() == 1


def test_a_practitioner_cannot_change_someone_elses_involvement(client, child):
    owner = user()
    involvement = add_involvement(actor=owner, contactpoint_id=child.contactpoint_id, service_type="health_visitor")
    signed_in(client)
    data = {"contactpoint_id": child.contactpoint_id, "caf_held": "on", "confirm": "yes"}
    assert client.post(f"/involvements/{involvement.pk}/flags", data).status_code == 403
    assert client.post(f"/involvements/{involvement.pk}/end", data).status_code == 403
    assert client.get(f"/involvements/{involvement.pk}/end").status_code == 405


def test_a_shielded_record_withholds_details_and_only_the_own_team_breaks_the_glass(client, child):
    team = user(Role.DIRECTORY_TEAM)
    shield_child(
        actor=team,
        contactpoint_id=child.contactpoint_id,
        reason="refuge",
        review_on=datetime.date.today() + datetime.timedelta(days=30),
    )
    signed_in(client)
    page = client.get(f"/children/{child.contactpoint_id}").content.decode()
    assert "Shielded record" in page and "Elm Primary" not in page and "Grace" not in page
    assert "See the hidden details" not in page
    response = client.post(f"/children/{child.contactpoint_id}/hidden-details", {"reason": "I insist"})
    assert "Elm Primary" not in response.content.decode()
    assert not AuditEvent.objects.filter(action="access:child:break_glass").exists()

    client.logout()
    sign_in(client, team)
    page = client.get(f"/children/{child.contactpoint_id}").content.decode()
    assert "See the hidden details" in page and "Elm Primary" not in page
    assert client.post(f"/children/{child.contactpoint_id}/hidden-details", {"reason": ""}).status_code == 400
    page = client.post(f"/children/{child.contactpoint_id}/hidden-details", {"reason": "court order"}).content.decode()
    assert "Elm Primary" in page and "this view is recorded" in page
    assert AuditEvent.objects.filter(action="access:child:break_glass").count() == 1
    assert client.get(f"/children/{child.contactpoint_id}/hidden-details").status_code == 405


def test_too_many_matches_list_none_and_say_what_to_add(client, monkeypatch):
    from contactpoint.directory import queries

    signed_in(client)
    monkeypatch.setattr(queries, "search_children", lambda **kwargs: queries.SearchOutcome(results=[], too_many=True))
    page = client.post("/search", AMELIA).content.decode()
    assert "Too many children match. None are shown." in page and "<table" not in page
    monkeypatch.setattr(queries, "search_children", lambda **kwargs: queries.SearchOutcome(results=[], too_many=False))
    assert "No child matches" in client.post("/search", AMELIA).content.decode()


def test_codes_are_said_in_words(client, child):
    signed_in(client)
    assert "<td class=\"govuk-table__cell\">Female</td>" in client.post("/search", AMELIA).content.decode()
    assert ">Female</dd>" in client.get(f"/children/{child.contactpoint_id}").content.decode()
