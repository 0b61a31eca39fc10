"""Access alert pages: a directory team sees and acts on its own area's alerts only; auditors see all
and act on none; the front line sees none."""

from __future__ import annotations

import pytest
from django.utils import timezone

from access.factories import sign_in
from contactpoint.access.models import Role
from contactpoint.alerts.models import Alert, Rule
from contactpoint.audit.models import AuditEvent
from directory.builders import AREA, OTHER_AREA, area, user

pytestmark = pytest.mark.django_db


@pytest.fixture
def alert():
    subject = user(Role.PRACTITIONER, username="pr-subject")
    now = timezone.now()
    return Alert.objects.create(
        rule=Rule.FISHING,
        local_authority=area(AREA),
        subject=subject,
        subject_username=subject.username,
        reason="40 searches, 1 record opened",
        window_start=now,
        window_end=now,
        dedup_key="test",
        raised_at=now,
    )


def signed_in(client, role, **kwargs):
    person = user(role, **kwargs)
    sign_in(client, person)
    return person


@pytest.mark.parametrize("role", [Role.PRACTITIONER, Role.OPERATOR, Role.ADMIN])
def test_the_front_line_and_administrators_see_no_alerts(client, alert, role):
    signed_in(client, role)
    assert client.get("/alerts").status_code == 403
    assert client.get(f"/alerts/{alert.reference}").status_code == 403


def test_the_team_acknowledges_its_own_areas_alert(client, alert):
    signed_in(client, Role.DIRECTORY_TEAM)
    assert alert.reference in client.get("/alerts").content.decode()
    page = client.get(f"/alerts/{alert.reference}").content.decode()
    assert "Many searches, few records opened" in page and "What are you doing about it?" in page
    assert "Select what you are doing" in client.post(f"/alerts/{alert.reference}", {}).content.decode()
    response = client.post(f"/alerts/{alert.reference}", {"action": "acknowledge", "note": "training exercise"})
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.status == Alert.Status.ACKNOWLEDGED
    assert AuditEvent.objects.filter(action="alert:alert:acknowledge").count() == 1
    again = client.post(f"/alerts/{alert.reference}", {"action": "acknowledge", "note": "again"})
    assert again.status_code == 400 and "already acknowledged" in again.content.decode()


def test_the_team_suspends_the_user_from_the_alert(client, alert):
    signed_in(client, Role.DIRECTORY_TEAM)
    client.post(f"/alerts/{alert.reference}", {"action": "suspend", "note": "no reason to search"})
    alert.subject.refresh_from_db()
    assert alert.subject.suspended_at is not None


def test_another_areas_team_cannot_see_or_act(client, alert):
    signed_in(client, Role.DIRECTORY_TEAM, area_code=OTHER_AREA)
    assert alert.reference not in client.get("/alerts?status=all").content.decode()
    assert client.get(f"/alerts/{alert.reference}").status_code == 403
    assert client.post(f"/alerts/{alert.reference}", {"action": "escalate", "note": "x"}).status_code == 403
    alert.refresh_from_db()
    assert alert.status == Alert.Status.OPEN


def test_auditors_see_every_alert_but_cannot_act(client, alert):
    signed_in(client, Role.AUDITOR)
    assert alert.reference in client.get("/alerts").content.decode()
    assert "What are you doing about it?" not in client.get(f"/alerts/{alert.reference}").content.decode()
    assert client.post(f"/alerts/{alert.reference}", {"action": "acknowledge", "note": "x"}).status_code == 403


def test_an_unknown_alert_is_404(client, alert):
    signed_in(client, Role.DIRECTORY_TEAM)
    assert client.get("/alerts/AL-0000-0000").status_code == 404
