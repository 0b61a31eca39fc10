"""What a directory team does with an alert: see it, acknowledge, escalate, suspend the user — each audited,
each confined to the team the alert went to."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from alerts.scenarios import TUESDAY, moment, run_day, search, view
from contactpoint.access.models import Role
from contactpoint.access.policy import AccessDenied
from contactpoint.alerts import queries, services
from contactpoint.alerts.models import Alert, AlertAction, HomePostcode, Rule
from contactpoint.alerts.services import AlertError
from contactpoint.audit.models import AuditEvent
from contactpoint.audit.tags import AuditAction
from directory.builders import OTHER_AREA, user

pytestmark = pytest.mark.django_db


@pytest.fixture
def out_of_area_alert(children):
    """A practitioner of OTHER_AREA opened three Birmingham children's records with no involvement."""
    practitioner = user(Role.PRACTITIONER, area_code=OTHER_AREA, username="pr-elsewhere")
    for n, srid in enumerate(["C04", "C05", "C06"]):
        search(practitioner, children[srid], moment(TUESDAY, 10, 10 * n))
        view(practitioner, children[srid], moment(TUESDAY, 10, 10 * n + 2))
    (alert,) = run_day()
    assert alert.rule == Rule.OUT_OF_AREA
    return alert


def team(area_code=OTHER_AREA, **kwargs):
    return user(Role.DIRECTORY_TEAM, area_code=area_code, **kwargs)


def test_the_team_of_the_users_area_sees_the_alert_and_no_other_team_does(out_of_area_alert):
    assert list(queries.list_alerts(user=team())) == [out_of_area_alert]
    other = team(area_code="E08000025")
    assert list(queries.list_alerts(user=other)) == []
    with pytest.raises(AccessDenied):
        queries.get_alert(user=other, reference=out_of_area_alert.reference)
    auditor = user(Role.AUDITOR)
    assert list(queries.list_alerts(user=auditor)) == [out_of_area_alert]
    with pytest.raises(AccessDenied):
        queries.list_alerts(user=user(Role.PRACTITIONER))


def test_acknowledging_is_recorded_and_audited(out_of_area_alert):
    member = team(username="dt-north")
    alert = services.acknowledge_alert(actor=member, reference=out_of_area_alert.reference.lower(),
                                       note="spoke to her manager: covering a colleague's cases this week")
    assert alert.status == Alert.Status.ACKNOWLEDGED
    action = AlertAction.objects.get()
    assert (action.kind, action.actor_username) == ("acknowledge", "dt-north")
    event = AuditEvent.objects.get(action=AuditAction.ALERT_ACKNOWLEDGE)
    assert event.details == {"alert": alert.reference, "rule": "out_of_area", "subject_user": "pr-elsewhere"}
    assert event.children == alert.children and event.actor_username == "dt-north"
    with pytest.raises(AlertError):
        services.acknowledge_alert(actor=member, reference=alert.reference, note="again")


def test_escalating_is_recorded_and_audited(out_of_area_alert):
    alert = services.escalate_alert(actor=team(), reference=out_of_area_alert.reference,
                                    note="to the employer's information governance lead")
    assert alert.status == Alert.Status.ESCALATED
    assert AuditEvent.objects.filter(action=AuditAction.ALERT_ESCALATE, details__alert=alert.reference).exists()


def test_a_note_is_required(out_of_area_alert):
    with pytest.raises(AlertError):
        services.acknowledge_alert(actor=team(), reference=out_of_area_alert.reference, note="  ")


def test_suspending_the_user_is_one_action_away(out_of_area_alert):
    member = team(username="dt-north")
    alert = services.suspend_user_for_alert(actor=member, reference=out_of_area_alert.reference,
                                            note="no reason for these accesses; pending investigation")
    subject = alert.subject
    subject.refresh_from_db()
    assert subject.suspended_at is not None and alert.reference in subject.suspended_reason
    assert alert.status == Alert.Status.ACKNOWLEDGED
    suspension = AuditEvent.objects.get(action=AuditAction.ACCOUNT_USER_SUSPEND)
    assert alert.reference in suspension.reason and suspension.actor_username == "dt-north"
    assert AuditEvent.objects.get(action=AuditAction.ALERT_ACKNOWLEDGE).details["user_suspended"] is True
    # The suspended user can do nothing more.
    with pytest.raises(AccessDenied):
        view(subject, {"id": alert.children[0]}, moment(TUESDAY, 16))


def test_another_team_cannot_act_on_the_alert(out_of_area_alert):
    other = team(area_code="E08000025")
    for act in (services.acknowledge_alert, services.escalate_alert, services.suspend_user_for_alert):
        with pytest.raises(AccessDenied):
            act(actor=other, reference=out_of_area_alert.reference, note="not ours")
    assert not AlertAction.objects.exists()
    assert Alert.objects.get().status == Alert.Status.OPEN


def test_auditors_see_alerts_but_do_not_act_on_them(out_of_area_alert):
    with pytest.raises(AccessDenied):
        services.acknowledge_alert(actor=user(Role.AUDITOR), reference=out_of_area_alert.reference, note="seen")


def test_home_postcode_is_set_by_the_users_account_managers_and_not_written_to_the_audit_trail(children):
    practitioner = user(Role.PRACTITIONER)
    services.set_home_postcode(actor=team(area_code="E08000025"), user=practitioner, postcode="b16 8qd")
    assert HomePostcode.objects.get(user=practitioner).postcode == "B16 8QD"
    event = AuditEvent.objects.get(action=AuditAction.ACCOUNT_USER_CHANGE)
    assert "B16" not in str(event.details) and event.details["changed"] == ["home postcode"]
    with pytest.raises(AccessDenied):
        services.set_home_postcode(actor=team(), user=practitioner, postcode="B1 1AA")


def test_the_run_command_is_safe_to_repeat(children, capsys):
    practitioner = user(Role.PRACTITIONER, area_code=OTHER_AREA)
    view(practitioner, children["C04"], moment(TUESDAY, 10))
    call_command("alerts", "run", "--since", "2026-11-24", "--until", "2026-11-25")
    assert "1 raised" in capsys.readouterr().out
    call_command("alerts", "run", "--since", "2026-11-24", "--until", "2026-11-25")
    assert "0 raised, 0 updated" in capsys.readouterr().out
    assert Alert.objects.count() == 1


def test_the_scheduled_run_continues_where_the_last_one_ended(children):
    from contactpoint.alerts.models import RuleRun

    practitioner = user(Role.PRACTITIONER, area_code=OTHER_AREA)
    view(practitioner, children["C04"], moment(TUESDAY, 10))
    services.run_alert_rules(since=moment(TUESDAY, 9), until=moment(TUESDAY, 11))
    summary = services.run_alert_rules(until=moment(TUESDAY, 12))
    assert summary.since == moment(TUESDAY, 11) - services.LATE_COMMIT_OVERLAP
    assert RuleRun.objects.count() == 2 and Alert.objects.count() == 1
