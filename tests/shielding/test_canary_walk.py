"""The shielding canary: no page and no API operation shows a shielded child's hidden details to anyone
but the child's own directory team.

For every role that must not see them, the walk signs in for real, then

* requests **every URL pattern** in the URL configuration (``get_resolver()``, as
  tests/web/test_url_authentication.py does), with the child's ContactPoint identifier in every text
  parameter and each identifier related to the child (involvements, source records, feed batches) in
  every numeric one, by GET and by POST (each form the page offers, filled in, plus a generic one); the
  search forms are submitted with the child's name and date of birth, and separately with its current and
  former postcodes;
* calls **every operation in the OpenAPI schema** (``/api/v1/openapi.json``) with a valid bearer token,
  path, query and header parameters and a JSON body filled from the schema (``X-Requester`` and
  ``X-Reason`` always given: a reason must not unlock anything for these roles);

and asserts that no canary value (:data:`shielding.conftest.CANARIES`) is in any response body or header,
and that no search that used a postcode lists the child. Nothing is listed by hand: a page or operation
added tomorrow is walked tomorrow.
"""

from __future__ import annotations

import datetime
import re
import uuid
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve

from access.factories import sign_in
from contactpoint.access import services as access_services
from contactpoint.access.middleware import SELF_AUTHENTICATING_NAMESPACES
from contactpoint.access.models import Role, User
from contactpoint.matching.corrections import merge_children
from directory.builders import AREA, child_row, load_children
from shielding.conftest import DOB, FAMILY, FORMER_POSTCODE, GIVEN, NHS_NUMBER, POSTCODE, ROLES_WITHOUT_SIGHT, account
from shielding.conftest import leaks as canary_leaks

pytestmark = pytest.mark.django_db

# Never requested by the walk, each with why. Keep this list short.
NOT_WALKED = {
    "sign-out": "ends the walker's own session; shows no data",
}

REQUESTER, REASON = "PC 1234, West Midlands Police", "canary walk: checking what a reason unlocks"
DAY, MONTH, YEAR = (str(int(part)) for part in reversed(DOB.split("-")))


# The URL configuration --------------------------------------------------------------------------------------


def walk(patterns, prefix="", namespaces=()):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = (*namespaces, entry.namespace) if entry.namespace else namespaces
            yield from walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            yield "/" + prefix + str(entry.pattern), entry.name or "", namespaces


def concrete_urls(route: str, contactpoint_id: str, numbers: list[int]) -> list[str]:
    """Every URL the route matches with the child's identifiers in its parameters."""
    if route.startswith("/^") or "(?P" in route:
        pytest.fail(f"regex URL pattern {route}: teach the canary walk its parameters")
    urls = [route]
    while any("<" in url for url in urls):
        expanded = []
        for url in urls:
            match = re.search(r"<(?:(\w+):)?(\w+)>", url)
            if match is None:
                expanded.append(url)
                continue
            converter = match.group(1) or "str"
            values = {
                "int": [str(n) for n in numbers],
                "str": [contactpoint_id],
                "slug": [contactpoint_id],
                "path": [contactpoint_id],
                "uuid": [str(uuid.uuid4())],
            }[converter]
            expanded += [url[: match.start()] + value + url[match.end():] for value in values]
        urls = expanded
    return urls


def pages() -> list[tuple[str, str]]:
    found = []
    for route, name, namespaces in walk(get_resolver().url_patterns):
        if set(namespaces) & set(SELF_AUTHENTICATING_NAMESPACES):
            continue  # the API: walked from its schema below
        if name in NOT_WALKED or route.startswith("/static"):
            continue
        found.append((route, name))
    return sorted(found)


# Forms on a page -------------------------------------------------------------------------------------------


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    blank: list[str] = field(default_factory=list)  # fields to fill in


class FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(action=a.get("action", ""), method=a.get("method", "get").lower()))
            return
        if not self.forms or not a.get("name"):
            if tag == "option" and self._select and self.forms and not self.forms[-1].fields.get(self._select):
                self.forms[-1].fields[self._select] = a.get("value", "")
            return
        form, name = self.forms[-1], a["name"]
        if tag == "select":
            self._select = name
            form.fields.setdefault(name, "")
        elif tag == "textarea":
            form.blank.append(name)
        elif tag == "input":
            kind = a.get("type", "text")
            if kind in {"checkbox", "radio"}:
                form.fields.setdefault(name, a.get("value", "on"))
            elif kind in {"submit", "button"}:
                if a.get("value"):
                    form.fields.setdefault(name, a["value"])
            elif a.get("value"):
                form.fields[name] = a["value"]
            else:
                form.blank.append(name)

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def fill(name: str, contactpoint_id: str) -> str:
    """A plausible value for a blank field, by its name. Never a canary value."""
    lowered = name.lower()
    values = {
        "given_name": GIVEN, "family_name": FAMILY, "dob_day": DAY, "dob_month": MONTH, "dob_year": YEAR,
        "requester": REQUESTER, "child": contactpoint_id, "contactpoint_id": contactpoint_id, "confirm": "yes",
        "sex": "F", "postcode": "", "nhs_number": "", "upn": "",
    }
    if lowered in values:
        return values[lowered]
    if "reason" in lowered or "note" in lowered:
        return REASON
    if lowered.endswith(("_on", "_until", "until", "since")):
        return (datetime.date.today() + datetime.timedelta(days=180)).isoformat()
    return "canary walk"


Submission = tuple[str, dict[str, str], tuple[str, ...]]


def form_submissions(page_url: str, html: str, contactpoint_id: str) -> list[Submission]:
    """(URL, data, typed canaries) for each POST form on the page; search forms several times."""
    parser = FormParser()
    parser.feed(html)
    submissions = []
    for form in parser.forms:
        if form.method != "post":
            continue
        data = {**form.fields, **{name: fill(name, contactpoint_id) for name in form.blank}}
        url = form.action or page_url
        try:
            if resolve(url.split("?")[0]).url_name in NOT_WALKED:
                continue  # the sign-out button in every page's header
        except Resolver404:
            pass
        if "family_name" in data and ("dob_day" in data or "postcode" in data):
            # A search form: by name and date of birth, then by each postcode the child has lived at.
            submissions.append((url, data, ()))
            for postcode in (POSTCODE, FORMER_POSTCODE):
                by_place = {**data, "given_name": "", "dob_day": "", "dob_month": "", "dob_year": "",
                            "postcode": postcode}
                submissions.append((url, by_place, (postcode,)))
                submissions.append((url, {**data, "postcode": postcode}, (postcode,)))
        else:
            submissions.append((url, data, ()))
    return submissions


def generic_post(contactpoint_id: str) -> dict[str, str]:
    """For URLs that take a POST without offering a form on a GET (break glass, flags, end, …)."""
    return {"reason": REASON, "requester": REQUESTER, "contactpoint_id": contactpoint_id, "confirm": "yes",
            "is_lead_professional": "on", "caf_held": "on", "decision": "link", "lift_reason": REASON}


# Checking a response -------------------------------------------------------------------------------------------


def response_text(response) -> str:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    headers = "\n".join(f"{k}: {v}" for k, v in response.items())
    return headers + "\n" + body.decode("utf-8", errors="replace")


@dataclass
class Findings:
    contactpoint_id: str
    leaks: list[str] = field(default_factory=list)
    located: list[str] = field(default_factory=list)  # searches by postcode that listed the child
    requests: int = 0
    answered: set[int] = field(default_factory=set)

    def check(self, what: str, response, *, typed: tuple[str, ...] = ()) -> None:
        self.requests += 1
        self.answered.add(response.status_code)
        text = response_text(response)
        found = canary_leaks(text, contactpoint_id=self.contactpoint_id, typed=typed)
        if found:
            self.leaks.append(f"{what} → {response.status_code}: {', '.join(found)}")
        if typed and self.contactpoint_id in text:
            self.located.append(f"{what} → {response.status_code} listed the shielded child")

    def assert_clean(self) -> None:
        assert not self.leaks, "shielded details leaked:\n" + "\n".join(self.leaks)
        assert not self.located, "a postcode search found the shielded child:\n" + "\n".join(self.located)


# The page walk --------------------------------------------------------------------------------------------------


def signed_in_client(person: User) -> Client:
    client = Client()
    sign_in(client, person)
    if person.role == Role.OPERATOR:
        response = client.post("/acting-for", {"requester": REQUESTER, "reason": REASON})
        assert response.status_code == 302, "operators say whom they act for before anything else"
    return client


def walk_pages(client: Client, canary) -> Findings:
    findings = Findings(canary.contactpoint_id)
    cpid, numbers = canary.contactpoint_id, canary.related_ids()
    for route, name in pages():
        for url in concrete_urls(route, cpid, numbers):
            response = client.get(url)
            findings.check(f"GET {url} ({name})", response)
            submissions = []
            if response.status_code == 200 and "text/html" in response.get("Content-Type", ""):
                submissions = form_submissions(url, response.content.decode(), cpid)
            if not any(action == url for action, _, _ in submissions):
                submissions.append((url, generic_post(cpid), ()))
            for action, data, typed in submissions:
                posted = client.post(action, data)
                findings.check(f"POST {action} ({name}) {sorted(data)}", posted, typed=typed)
    return findings


# The API walk ----------------------------------------------------------------------------------------------------


def deref(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = schema
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def example(schema: dict[str, Any], node: dict[str, Any], name: str = "") -> Any:
    """A valid value for a JSON schema node (required properties only, enums' first value)."""
    node = deref(schema, node)
    for combined in ("anyOf", "oneOf", "allOf"):
        if combined in node:
            options = [o for o in node[combined] if deref(schema, o).get("type") != "null"]
            return example(schema, options[0], name)
    if "enum" in node:
        return node["enum"][0]
    kind = node.get("type")
    if kind == "object":
        return {key: example(schema, value, key) for key, value in node.get("properties", {}).items()
                if key in node.get("required", [])}
    if kind == "array":
        return []
    if kind == "boolean":
        return False
    if kind == "integer":
        return max(1, node.get("minimum", 1))
    if kind == "number":
        return 1
    if node.get("format") == "date":
        return datetime.date.today().isoformat()
    return fill(name, "") if name else "canary walk"


QUERY_VARIANTS = [
    ({"given_name": GIVEN, "family_name": FAMILY, "date_of_birth": DOB}, ()),
    ({"family_name": FAMILY, "postcode": POSTCODE}, (POSTCODE,)),
    ({"family_name": FAMILY, "postcode": FORMER_POSTCODE}, (FORMER_POSTCODE,)),
    ({"given_name": GIVEN, "family_name": FAMILY, "date_of_birth": DOB, "postcode": POSTCODE}, (POSTCODE,)),
    ({"nhs_number": NHS_NUMBER}, ()),
    ({}, ()),
]


def api_calls(schema: dict[str, Any], canary) -> list[tuple[str, str, dict[str, str], Any, tuple[str, ...]]]:
    """(method, URL, query, JSON body, typed canaries) for every operation in the schema."""
    calls = []
    for path_template, operations in schema["paths"].items():
        for method, operation in operations.items():
            parameters = [deref(schema, p) for p in operation.get("parameters", [])]
            path_values: dict[str, list[str]] = {}
            query_names = []
            for parameter in parameters:
                if parameter["in"] == "path":
                    kind = deref(schema, parameter.get("schema", {})).get("type")
                    path_values[parameter["name"]] = (
                        [str(n) for n in canary.related_ids()] if kind == "integer" else [canary.contactpoint_id]
                    )
                elif parameter["in"] == "query":
                    query_names.append(parameter["name"])
            urls = [path_template]
            for name, values in path_values.items():
                urls = [u.replace("{" + name + "}", v) for u in urls for v in values]
            body = None
            content = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if content:
                body = example(schema, content["schema"])
            variants = [(q, typed) for q, typed in QUERY_VARIANTS if set(q) <= set(query_names)] or [({}, ())]
            for url in urls:
                for query, typed in variants:
                    calls.append((method, url, query, body, typed))
    return calls


def walk_api(client: Client, canary, headers: dict[str, str]) -> Findings:
    findings = Findings(canary.contactpoint_id)
    schema = client.get("/api/v1/openapi.json").json()
    for method, url, query, body, typed in api_calls(schema, canary):
        kwargs: dict[str, Any] = {**headers}
        if body is not None:
            kwargs.update(data=body, content_type="application/json")
        elif query:
            kwargs["data"] = query
        target = url
        if body is not None and query:
            target = url + "?" + "&".join(f"{k}={v}" for k, v in query.items())
        response = getattr(client, method)(target, **kwargs)
        findings.check(f"{method.upper()} {url} {query}", response, typed=typed)
    return findings


def bearer(person: User) -> dict[str, str]:
    secret = access_services.create_api_token(actor="tests", user=person).secret
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}", "HTTP_X_REQUESTER": REQUESTER, "HTTP_X_REASON": REASON}


@pytest.mark.parametrize("label", list(ROLES_WITHOUT_SIGHT))
def test_no_page_or_api_operation_shows_a_shielded_childs_hidden_details(canary, label):
    person = account(label)
    client = signed_in_client(person)
    pages_findings = walk_pages(client, canary)
    api_findings = walk_api(Client(), canary, bearer(person))
    pages_findings.assert_clean()
    api_findings.assert_clean()
    # Not vacuous: the walker stayed signed in, pages answered, the API accepted the token.
    assert client.get("/").status_code == 200, "the walker was signed out part-way"
    assert pages_findings.requests > 50 and 200 in pages_findings.answered
    assert api_findings.requests > 5 and api_findings.answered - {401}


def test_the_walks_would_see_a_leak(canary, own_team):
    """The walks are not vacuous: the child's own directory team, giving a reason, sees the canaries."""
    api_findings = walk_api(Client(), canary, bearer(own_team))  # first: the page walk may lift the shield
    assert any("CANARY-ADDR-7Q" in leak for leak in api_findings.leaks), "the record with X-Reason shows the address"
    pages_findings = walk_pages(signed_in_client(own_team), canary)
    assert any("Canaryton" in leak for leak in pages_findings.leaks), "the break-glass page shows the town"


# A record merged into the shielded child: its old identifier leads there, and shows no more ---------------------

MERGED_AWAY_ADDRESS = "DUPE-ADDR-4M"


def merged_into_canary(tmp_path, canary, own_team) -> str:
    """A second record of the shielded child, merged into it by its own team; returns the old identifier."""
    duplicate = load_children(tmp_path, [child_row(
        "DUP-1", given_names="Merle", family_name="Dupeworth", date_of_birth="2013-01-01", sex="F",
        address_line_1=MERGED_AWAY_ADDRESS, town="Dupeton", postcode="YX9 8QQ", local_authority=AREA)],
        source_code="nhs_demographics")["DUP-1"]
    assert duplicate.pk != canary.child.pk
    merge_children(actor=own_team, surviving=canary.child, merged=duplicate, reason="canary test: one child")
    return duplicate.contactpoint_id


@pytest.mark.parametrize("label", list(ROLES_WITHOUT_SIGHT))
def test_a_merged_away_identifier_leads_to_the_shielded_child_and_leaks_nothing(tmp_path, canary, own_team, label):
    old_id = merged_into_canary(tmp_path, canary, own_team)
    findings = Findings(canary.contactpoint_id)
    person = account(label)
    client = signed_in_client(person)
    redirect = client.get(f"/children/{old_id}")
    findings.check(f"GET /children/{old_id}", redirect)
    findings.check(f"GET /children/{old_id} followed", client.get(f"/children/{old_id}", follow=True))
    findings.check(f"POST /children/{old_id}/hidden-details",
                   client.post(f"/children/{old_id}/hidden-details", {"reason": REASON}, follow=True))
    api = Client().get(f"/api/v1/children/{old_id}", **bearer(person))
    findings.check(f"GET /api/v1/children/{old_id}", api)
    findings.assert_clean()
    for response in (redirect, api):
        assert MERGED_AWAY_ADDRESS not in response_text(response)
    if label in {"practitioner", "operator"}:  # they may open the record: the old identifier reaches it
        assert redirect.status_code == 302 and redirect["Location"] == f"/children/{canary.contactpoint_id}"
        assert api.status_code == 200 and api.json()["merged_from"] == old_id and api.json()["shielded"]
    else:
        assert redirect.status_code in {403, 404} and api.status_code in {403, 404}
        assert canary.contactpoint_id not in response_text(redirect) + response_text(api)


def test_the_merged_away_check_would_see_a_leak(tmp_path, canary, own_team):
    """Not vacuous: the own team, giving a reason, sees the merged record's address through the old identifier."""
    old_id = merged_into_canary(tmp_path, canary, own_team)
    response = Client().get(f"/api/v1/children/{old_id}", **bearer(own_team))
    assert response.status_code == 200 and response.json()["merged_from"] == old_id
    assert MERGED_AWAY_ADDRESS in response_text(response) or canary_leaks(
        response_text(response), contactpoint_id=canary.contactpoint_id
    )


# A shielded child no local authority holds: no one is its own team, so no one sees its hidden details -------------


@pytest.mark.parametrize("who", ["team that shielded it", "practitioner"])
def test_a_shielded_child_with_no_local_authority_shows_its_hidden_details_to_no_one(canary, own_team, who):
    """The team of the area it was in when shielded walks every page and operation, with reasons, as does a
    practitioner: every read, break glass and review item applies the same rule (policy.can_act_on_child)."""
    from contactpoint.directory.models import Child

    Child.objects.filter(pk=canary.child.pk).update(local_authority=None)
    person = own_team if who.startswith("team") else account("practitioner")
    pages_findings = walk_pages(signed_in_client(person), canary)
    api_findings = walk_api(Client(), canary, bearer(person))
    pages_findings.assert_clean()
    api_findings.assert_clean()
    assert pages_findings.requests > 50 and 200 in pages_findings.answered
