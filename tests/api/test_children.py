"""The JSON API for search, a child's record and a practitioner's own involvements."""

from __future__ import annotations

import datetime

import pytest

from api.conftest import token_for
from contactpoint.access.models import Role
from contactpoint.audit.tags import AuditAction
from contactpoint.directory import services
from contactpoint.matching.corrections import merge_children_by_identifier, undo_correction
from directory.builders import OTHER_AREA, events, user

pytestmark = pytest.mark.django_db


def test_search_returns_results_best_first(client, children, auth):
    response = client.get("/api/v1/search", {"given_name": "Bill", "family_name": "Hartly",
                                              "date_of_birth": "2014-05-08"}, **auth)
    assert response.status_code == 200, response.content
    body = response.json()
    [result] = body["results"]
    assert result == {
        "contactpoint_id": children["A1"].contactpoint_id, "given_names": "William", "family_name": "Hartley",
        "date_of_birth": "2014-05-08", "sex": "M", "town": "Birmingham", "postcode_district": "B13",
        "score": result["score"],
    }
    assert body["too_many"] is False
    [event] = events(AuditAction.ACCESS_SEARCH)
    assert event.children == [children["A1"].contactpoint_id]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"family_name": "Hartley"}, "not enough to search on"),
        ({"family_name": "H*", "date_of_birth": "2014-05-08"}, "wildcards"),
        ({"family_name": "Hartley", "date_of_birth": "2014/05/08"}, "YYYY-MM-DD"),
        ({"family_name": "x" * 101, "date_of_birth": "2014-05-08"}, "100"),
    ],
)
def test_invalid_searches_get_a_specific_4xx(client, children, auth, params, message):
    response = client.get("/api/v1/search", params, **auth)
    assert 400 <= response.status_code < 500
    assert message in response.content.decode()


def test_no_token_no_search(client, children):
    response = client.get("/api/v1/search", {"family_name": "Hartley", "date_of_birth": "2014-05-08"})
    assert response.status_code == 401


def test_operators_give_requester_and_reason_as_headers(client, children):
    operator = {"HTTP_AUTHORIZATION": f"Bearer {token_for(user(Role.OPERATOR))}"}
    params = {"family_name": "Hartley", "date_of_birth": "2014-05-08"}
    refused = client.get("/api/v1/search", params, **operator)
    assert refused.status_code == 403 and "acting for" in refused.json()["detail"]
    response = client.get("/api/v1/search", params, HTTP_X_REQUESTER="PC 1234, West Midlands Police",
                          HTTP_X_REASON="missing child", **operator)
    assert response.status_code == 200 and len(response.json()["results"]) == 1
    event = events(AuditAction.ACCESS_SEARCH)[-1]
    assert (event.requester, event.reason) == ("PC 1234, West Midlands Police", "missing child")


def test_the_childs_record(client, children, auth):
    response = client.get(f"/api/v1/children/{children['A1'].contactpoint_id}", **auth)
    assert response.status_code == 200, response.content
    record = response.json()
    assert record["location"]["postcode"] == "B13 9AH" and record["shielded"] is False
    assert record["carers"][0]["contact"]["phone"] == "0121 496 0000"
    [school] = record["involvements"]
    assert (school["service_type"], school["organisation"], school["since"]) == (
        "school", "Elm Primary School", "2019-09-01"
    )
    assert [e.children for e in events(AuditAction.ACCESS_CHILD_VIEW)] == [[children["A1"].contactpoint_id]]


def test_unknown_children_are_404(client, children, auth):
    assert client.get("/api/v1/children/2222-2222-2222", **auth).status_code == 404
    assert client.get("/api/v1/children/not-an-id", **auth).status_code == 404


def test_a_shielded_record_through_the_api_withholds_location(client, children, auth):
    services.shield_child(actor=user(Role.DIRECTORY_TEAM), contactpoint_id=children["A1"].contactpoint_id,
                          reason="refuge", review_on=datetime.date.today() + datetime.timedelta(days=30))
    record = client.get(f"/api/v1/children/{children['A1'].contactpoint_id}", **auth).json()
    assert record["shielded"] is True and record["location"] is None and record["carers"] == []
    assert record["involvements"] == []  # the only one is the school
    assert "B13" not in str(record) and "Elm Primary" not in str(record) and "0121 496 0000" not in str(record)
    found = client.get("/api/v1/search", {"family_name": "Hartley", "postcode": "B13 9AH"}, **auth).json()
    assert found["results"] == []
    by_name = client.get("/api/v1/search", {"family_name": "Hartley", "date_of_birth": "2014-05-08"}, **auth).json()
    assert [(r["town"], r["postcode_district"]) for r in by_name["results"]] == [(None, None)]


def test_a_practitioner_manages_their_own_involvement(client, children, auth):
    child_id = children["B1"].contactpoint_id
    added = client.post(f"/api/v1/children/{child_id}/involvements",
                        {"service_type": "health_visitor", "role": "health visitor"},
                        content_type="application/json", **auth)
    assert added.status_code == 201, added.content
    involvement_id = added.json()["id"]
    flagged = client.patch(f"/api/v1/involvements/{involvement_id}", {"is_lead_professional": True},
                           content_type="application/json", **auth)
    assert flagged.status_code == 200 and flagged.json()["is_lead_professional"] is True
    record = client.get(f"/api/v1/children/{child_id}", **auth).json()
    [mine] = record["involvements"]
    assert (mine["practitioner"], mine["yours"], mine["is_lead_professional"]) == ("Nia Jones", True, True)

    other = {"HTTP_AUTHORIZATION": f"Bearer {token_for(user(Role.PRACTITIONER))}"}
    refused = client.post(f"/api/v1/involvements/{involvement_id}/end", {}, content_type="application/json", **other)
    assert refused.status_code == 403 and "only their own" in refused.json()["detail"]

    ended = client.post(f"/api/v1/involvements/{involvement_id}/end", {}, content_type="application/json", **auth)
    assert ended.status_code == 200 and ended.json()["ended_on"] == datetime.date.today().isoformat()
    assert client.get(f"/api/v1/children/{child_id}", **auth).json()["involvements"] == []


def test_bad_involvement_input_is_4xx(client, children, auth):
    child_id = children["B1"].contactpoint_id
    bad_type = client.post(f"/api/v1/children/{child_id}/involvements", {"service_type": "astrology"},
                           content_type="application/json", **auth)
    assert bad_type.status_code == 422
    missing = client.post("/api/v1/involvements/999999/end", {}, content_type="application/json", **auth)
    assert missing.status_code == 404


def test_the_schema_is_published(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert {"/api/v1/search", "/api/v1/children/{contactpoint_id}"} <= set(schema["paths"])
    parameters = {p["name"] for p in schema["paths"]["/api/v1/search"]["get"]["parameters"]}
    assert {"family_name", "date_of_birth", "postcode", "X-Requester", "X-Reason"} <= parameters


def merge(surviving, merged_away):
    return merge_children_by_identifier(
        actor=user(Role.DIRECTORY_TEAM), surviving_id=surviving.contactpoint_id,
        merged_id=merged_away.contactpoint_id, reason="the same child, registered twice",
    )


def test_a_merged_away_identifier_answers_with_the_surviving_record(client, children, auth):
    survivor, merged_away = children["A1"], children["B1"]
    correction = merge(survivor, merged_away)
    response = client.get(f"/api/v1/children/{merged_away.contactpoint_id}", **auth)
    assert response.status_code == 200, response.content
    record = response.json()
    assert record["contactpoint_id"] == survivor.contactpoint_id
    assert record["merged_from"] == merged_away.contactpoint_id
    [view] = events(AuditAction.ACCESS_CHILD_VIEW)
    assert view.children == [survivor.contactpoint_id]
    assert view.details == {"details_withheld": False, "merged_from": merged_away.contactpoint_id}
    assert client.get(f"/api/v1/children/{survivor.contactpoint_id}", **auth).json()["merged_from"] is None

    undo_correction(actor=user(Role.DIRECTORY_TEAM), correction=correction, reason="merged in error")
    record = client.get(f"/api/v1/children/{merged_away.contactpoint_id}", **auth).json()
    assert (record["contactpoint_id"], record["merged_from"]) == (merged_away.contactpoint_id, None)


def test_a_merged_away_identifier_of_a_shielded_child_withholds_as_the_survivor_does(client, children, auth):
    survivor, merged_away = children["A1"], children["B1"]
    services.shield_child(actor=user(Role.DIRECTORY_TEAM), contactpoint_id=survivor.contactpoint_id,
                          reason="refuge", review_on=datetime.date.today() + datetime.timedelta(days=30))
    merge(survivor, merged_away)
    response = client.get(f"/api/v1/children/{merged_away.contactpoint_id}", **auth)
    record = response.json()
    assert record["shielded"] is True and record["location"] is None and record["carers"] == []
    body = response.content.decode()
    assert not [leak for leak in ("B13", "B19", "Elm Primary", "0121 496 0000") if leak in body]

    elsewhere = {"HTTP_AUTHORIZATION": f"Bearer {token_for(user(Role.DIRECTORY_TEAM, area_code=OTHER_AREA))}"}
    refused = client.get(f"/api/v1/children/{merged_away.contactpoint_id}", **elsewhere)
    assert refused.status_code == 403 and survivor.contactpoint_id not in refused.content.decode()


def test_the_record_operation_documents_merged_identifiers(client):
    operation = client.get("/api/v1/openapi.json").json()["paths"]["/api/v1/children/{contactpoint_id}"]["get"]
    assert "merged into another" in operation["description"]
    schema = client.get("/api/v1/openapi.json").json()["components"]["schemas"]["ChildOut"]
    assert "merged_from" in schema["properties"]
