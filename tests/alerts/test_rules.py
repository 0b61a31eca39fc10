"""Each misuse rule fires on its scenario and stays quiet on a practitioner's ordinary day."""

from __future__ import annotations

import datetime

import pytest

from alerts.scenarios import SATURDAY, TUESDAY, at, moment, normal_day, rules_of, run_day, search, view
from contactpoint.access.models import Role
from contactpoint.alerts.models import Alert, HomePostcode, Rule
from contactpoint.alerts.services import run_alert_rules
from contactpoint.audit.models import AuditEvent
from contactpoint.audit.tags import AuditAction
from contactpoint.directory import services as directory_services
from directory.builders import AREA, OTHER_AREA, user

pytestmark = pytest.mark.django_db

MINUTES = datetime.timedelta(minutes=1)
REVIEW = datetime.date(2027, 3, 1)


def area_id(code: str) -> int:
    from contactpoint.orgs.models import LocalAuthority

    return LocalAuthority.objects.get(code=code).pk


def test_an_ordinary_day_raises_no_alert(children):
    practitioner = user(Role.PRACTITIONER, last_name="Whitfield")
    HomePostcode.objects.create(user=practitioner, postcode="B30 1AA")
    normal_day(practitioner, children)
    assert run_day() == []
    assert run_day() == []  # and again


def test_unusual_search_volume_for_the_role(children):
    practitioner = user(Role.PRACTITIONER)
    # 45 searches in a day, each followed by opening the child: busy, but far beyond a practitioner's usual.
    start = moment(TUESDAY, 9)
    for n in range(45):
        child = children[f"C{n % 10 + 1:02d}"]
        search(practitioner, child, start + n * 5 * MINUTES)
        view(practitioner, child, start + (n * 5 + 1) * MINUTES)
    alerts = run_day()
    assert rules_of(alerts) == [Rule.SEARCH_VOLUME]
    alert = alerts[0]
    assert alert.subject_username == practitioner.username
    assert alert.local_authority_id == practitioner.local_authority_id
    assert len(alert.events) == 45 and "45 searches" in alert.reason


def test_the_same_volume_is_ordinary_for_an_operator(children):
    operator = user(Role.OPERATOR)
    start = moment(TUESDAY, 9)
    for n in range(45):
        child = children[f"C{n % 10 + 1:02d}"]
        search(operator, child, start + n * 5 * MINUTES, requester="PC 4411 Harris", reason="welfare check")
        view(operator, child, start + (n * 5 + 1) * MINUTES, requester="PC 4411 Harris", reason="welfare check")
    assert run_day() == []


def test_thresholds_are_configuration_per_role(children, settings):
    settings.CONTACTPOINT_ALERT_THRESHOLDS = {"practitioner": {"max_searches_per_day": 3}}
    practitioner = user(Role.PRACTITIONER)
    normal_day(practitioner, children)  # five searches
    assert rules_of(run_day()) == [Rule.SEARCH_VOLUME]


def test_fishing_many_searches_few_records_opened(children):
    practitioner = user(Role.PRACTITIONER)
    start = moment(TUESDAY, 10)
    for n in range(14):  # searching child after child, opening none but one
        search(practitioner, children[f"C{n % 10 + 1:02d}"], start + n * 2 * MINUTES)
    view(practitioner, children["C01"], start + 1 * MINUTES)
    alerts = run_day()
    assert rules_of(alerts) == [Rule.FISHING]
    assert "14 searches" in alerts[0].reason and "only 1 of them" in alerts[0].reason


def test_searches_not_yet_followed_up_are_not_judged(children):
    practitioner = user(Role.PRACTITIONER)
    start = moment(TUESDAY, 10)
    for n in range(14):
        search(practitioner, children[f"C{n % 10 + 1:02d}"], start + n * MINUTES)
    # Ten minutes after the last search: the practitioner may still be about to open the records.
    run_alert_rules(since=moment(TUESDAY, 0), until=start + 24 * MINUTES)
    assert not Alert.objects.exists()


def test_a_child_sharing_the_users_own_family_name(children):
    practitioner = user(Role.PRACTITIONER, area_code=OTHER_AREA, last_name="Kowalski")
    found = search(practitioner, children["C02"], moment(TUESDAY, 11))
    view(practitioner, children["C02"], moment(TUESDAY, 11, 2))
    alerts = [a for a in run_day() if a.rule == Rule.OWN_FAMILY_NAME]
    assert len(alerts) == 2  # the search that showed the child, and opening the record
    assert {tuple(a.children) for a in alerts} == {tuple(found)}
    # To the team of the user's own area (who manage the account), with no name in the reason.
    assert {a.local_authority_id for a in alerts} == {area_id(OTHER_AREA)}
    assert all("Kowalski" not in a.reason for a in alerts)


def test_a_double_barrelled_family_name_counts(children):
    practitioner = user(Role.PRACTITIONER, last_name="Begum-Rahman")
    search(practitioner, children["C03"], moment(TUESDAY, 11))
    view(practitioner, children["C03"], moment(TUESDAY, 11, 2))
    assert Rule.OWN_FAMILY_NAME in rules_of(run_day())


def test_a_child_living_at_the_users_home_postcode(children):
    practitioner = user(Role.PRACTITIONER, last_name="Whitfield")
    HomePostcode.objects.create(user=practitioner, postcode="b16 8qd")  # as typed by the employer
    search(practitioner, children["C02"], moment(TUESDAY, 14))
    view(practitioner, children["C02"], moment(TUESDAY, 14, 1))
    alerts = [a for a in run_day() if a.rule == Rule.OWN_ADDRESS]
    assert len(alerts) == 2
    assert all("B16" not in a.reason for a in alerts)


def test_records_opened_outside_the_users_area_and_caseload(children):
    practitioner = user(Role.PRACTITIONER, area_code=OTHER_AREA)  # works elsewhere; the children live in AREA
    for n, srid in enumerate(["C04", "C05", "C06"]):
        search(practitioner, children[srid], moment(TUESDAY, 10, 10 * n))
        view(practitioner, children[srid], moment(TUESDAY, 10, 10 * n + 2))
    alerts = run_day()
    assert rules_of(alerts) == [Rule.OUT_OF_AREA]  # one alert for the day, listing the three children
    assert sorted(alerts[0].children) == sorted(children[s]["id"] for s in ["C04", "C05", "C06"])
    assert alerts[0].local_authority_id == area_id(OTHER_AREA)


def test_a_child_on_the_users_caseload_elsewhere_is_not_out_of_area(children):
    practitioner = user(Role.PRACTITIONER, area_code=OTHER_AREA)
    with at(moment(TUESDAY, 9)):
        directory_services.add_involvement(
            actor=practitioner, contactpoint_id=children["C04"]["id"], service_type="health_visitor"
        )
    search(practitioner, children["C04"], moment(TUESDAY, 10))
    view(practitioner, children["C04"], moment(TUESDAY, 10, 2))
    assert run_day() == []


def test_a_burst_of_accesses_out_of_hours(children):
    practitioner = user(Role.PRACTITIONER)
    for n, srid in enumerate(["C01", "C02", "C03"]):  # late on a Saturday night, six accesses in 15 minutes
        search(practitioner, children[srid], moment(SATURDAY, 23, 5 * n))
        view(practitioner, children[srid], moment(SATURDAY, 23, 5 * n + 1))
    alerts = run_day(SATURDAY)
    assert rules_of(alerts) == [Rule.OUT_OF_HOURS]
    assert len(alerts[0].events) == 6


def test_one_look_out_of_hours_is_not_a_burst(children):
    practitioner = user(Role.PRACTITIONER)
    search(practitioner, children["C01"], moment(SATURDAY, 8, 30))
    view(practitioner, children["C01"], moment(SATURDAY, 8, 31))
    assert run_day(SATURDAY) == []


def test_operators_work_round_the_clock(children):
    operator = user(Role.OPERATOR)
    for n, srid in enumerate(["C01", "C02", "C03"]):
        extra = {"requester": "DS Okoye", "reason": "missing child report"}
        search(operator, children[srid], moment(SATURDAY, 3, 5 * n), **extra)
        view(operator, children[srid], moment(SATURDAY, 3, 5 * n + 1), **extra)
    assert run_day(SATURDAY) == []


@pytest.fixture
def shielded(children):
    team = user(Role.DIRECTORY_TEAM, username="team-area")
    with at(moment(TUESDAY, 8)):
        directory_services.shield_child(
            actor=team, contactpoint_id=children["C07"]["id"], reason="refuge placement", review_on=REVIEW
        )
    return {"child": children["C07"], "team": team}


def test_a_shielded_child_opened_by_a_practitioner_alerts_the_childs_team_at_once(shielded):
    practitioner = user(Role.PRACTITIONER, area_code=OTHER_AREA)
    view(practitioner, shielded["child"], moment(TUESDAY, 10))
    # No scheduled run: the alert was raised with the view.
    alert = Alert.objects.get()
    assert alert.rule == Rule.SHIELDED_ACCESS
    assert alert.local_authority_id == area_id(AREA)  # the child's team, not the practitioner's
    assert alert.children == [shielded["child"]["id"]]
    raised = AuditEvent.objects.get(action=AuditAction.ALERT_RAISE)
    assert raised.details["alert"] == alert.reference and raised.children == alert.children


def test_a_shielded_child_in_search_results_alerts_at_once(shielded):
    practitioner = user(Role.PRACTITIONER)
    assert search(practitioner, shielded["child"], moment(TUESDAY, 10)) == [shielded["child"]["id"]]
    assert [a.rule for a in Alert.objects.all()] == [Rule.SHIELDED_ACCESS]


def test_break_glass_alerts_the_childs_team_at_once(shielded):
    view(shielded["team"], shielded["child"], moment(TUESDAY, 10), reason="court order check, ref 55/2026")
    alert = Alert.objects.get()
    assert alert.rule == Rule.BREAK_GLASS and alert.local_authority_id == area_id(AREA)
    assert "court order check" in alert.reason
    # The scheduled run sees the same access and raises nothing more.
    assert len(run_day()) == 1


def test_the_childs_own_team_looking_without_breaking_glass_is_not_alerted(shielded):
    view(shielded["team"], shielded["child"], moment(TUESDAY, 10))  # no reason: details withheld
    assert run_day() == []


def test_a_break_glass_view_and_its_alert_commit_together(shielded, monkeypatch):
    from contactpoint.alerts import services

    def broken(finding):
        raise RuntimeError("alerting failed")

    monkeypatch.setattr(services, "raise_alert", broken)
    with pytest.raises(RuntimeError):
        view(shielded["team"], shielded["child"], moment(TUESDAY, 10), reason="check")
    assert not AuditEvent.objects.filter(action=AuditAction.ACCESS_BREAK_GLASS).exists()


def test_running_twice_raises_no_duplicates(children):
    practitioner = user(Role.PRACTITIONER, area_code=OTHER_AREA, last_name="Kowalski")
    for n in range(14):
        search(practitioner, children[f"C{n % 10 + 1:02d}"], moment(TUESDAY, 10, 2 * n))
    view(practitioner, children["C02"], moment(TUESDAY, 10, 30))
    first = run_day()
    # Kowalski was searched twice and opened once: three own-name alerts, one fishing, one out of area.
    assert rules_of(first) == [Rule.FISHING, Rule.OUT_OF_AREA] + [Rule.OWN_FAMILY_NAME] * 3
    assert run_day() == first
    run_alert_rules(since=moment(TUESDAY, 10), until=moment(TUESDAY, 12))  # an overlapping window
    assert list(Alert.objects.order_by("id")) == first
    assert AuditEvent.objects.filter(action=AuditAction.ALERT_RAISE).count() == len(first)


def test_an_open_days_alert_gathers_later_evidence(children):
    practitioner = user(Role.PRACTITIONER, area_code=OTHER_AREA)
    view(practitioner, children["C04"], moment(TUESDAY, 10))
    run_alert_rules(since=moment(TUESDAY, 0), until=moment(TUESDAY, 11))
    view(practitioner, children["C05"], moment(TUESDAY, 15))
    run_alert_rules(since=moment(TUESDAY, 11), until=moment(TUESDAY, 16))
    alert = Alert.objects.get()
    assert sorted(alert.children) == sorted([children["C04"]["id"], children["C05"]["id"]])
    assert AuditEvent.objects.filter(action=AuditAction.ALERT_RAISE).count() == 1


def test_the_immediate_check_of_an_ordinary_search_costs_one_query(children, django_assert_num_queries):
    # It runs inside every search and record view: with no shielded child listed it must only look that up.
    from contactpoint.alerts.rules import evaluate_immediately

    practitioner = user(Role.PRACTITIONER)
    search(practitioner, children["C01"], moment(TUESDAY, 10))
    event = AuditEvent.objects.filter(action=AuditAction.ACCESS_SEARCH).latest("sequence")
    assert event.children == [children["C01"]["id"]]
    with django_assert_num_queries(1):
        assert evaluate_immediately(event) == []
