"""The directory team's subject access page: produces the report as a download, audited; refused to others."""

from __future__ import annotations

import json

import pytest

from access.factories import sign_in
from contactpoint.access.models import Role
from contactpoint.audit.models import AuditEvent
from directory.builders import OTHER_AREA, child_row, load_children, user

pytestmark = pytest.mark.django_db


@pytest.fixture
def child(tmp_path):
    row = child_row("N1", carer_given_names="Grace", carer_family_name="Okafor", carer_relationship="mother")
    return load_children(tmp_path, [row])["N1"]


def test_the_childs_team_downloads_the_report_as_json_and_html(client, child):
    sign_in(client, user(Role.DIRECTORY_TEAM))
    page = client.get(f"/children/{child.contactpoint_id}/subject-access")
    assert page.status_code == 200 and b"Subject access report" in page.content

    response = client.post(
        f"/children/{child.contactpoint_id}/subject-access", {"reason": "SAR-2026-0042", "format": "json"}
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    report = json.loads(response.content)
    assert report["contactpoint_id"] == child.contactpoint_id
    assert "Grace" in response.content.decode()
    event = AuditEvent.objects.filter(action="export:child:subject_access").latest("sequence")
    assert event.children == [child.contactpoint_id] and event.reason == "SAR-2026-0042"

    html = client.post(
        f"/children/{child.contactpoint_id}/subject-access", {"reason": "SAR-2026-0042", "format": "html"}
    )
    assert html.status_code == 200 and html["Content-Type"].startswith("text/html")
    assert b"SAR-2026-0042" in html.content or child.contactpoint_id.encode() in html.content


def test_a_reference_is_required(client, child):
    sign_in(client, user(Role.DIRECTORY_TEAM))
    response = client.post(f"/children/{child.contactpoint_id}/subject-access", {"reason": "", "format": "json"})
    assert response.status_code == 200
    assert b"Enter the subject access request" in response.content
    assert not AuditEvent.objects.filter(action="export:child:subject_access").exists()


@pytest.mark.parametrize("role", [Role.PRACTITIONER, Role.AUDITOR, Role.ADMIN])
def test_other_roles_are_refused(client, child, role):
    sign_in(client, user(role))
    response = client.post(f"/children/{child.contactpoint_id}/subject-access", {"reason": "X", "format": "json"})
    assert response.status_code == 403
    assert b"Grace" not in response.content


def test_another_areas_team_is_refused(client, child):
    sign_in(client, user(Role.DIRECTORY_TEAM, area_code=OTHER_AREA))
    response = client.post(f"/children/{child.contactpoint_id}/subject-access", {"reason": "X", "format": "json"})
    assert response.status_code in (403, 404)
    assert b"Grace" not in response.content
    assert not AuditEvent.objects.filter(action="export:child:subject_access", outcome="success").exists()
