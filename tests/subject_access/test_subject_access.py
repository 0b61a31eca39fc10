"""Subject access: everything held about a child and every access to its record, for the child's own
directory team only; producing it is audited; the command writes readable HTML and JSON."""

from __future__ import annotations

import datetime
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from contactpoint.access.models import Role
from contactpoint.access.policy import AccessDenied
from contactpoint.alerts.models import Alert, Rule
from contactpoint.audit.models import AuditEvent
from contactpoint.audit.tags import AuditAction
from contactpoint.directory import queries
from contactpoint.directory import services as directory_services
from contactpoint.directory.search import SearchCriteria
from contactpoint.subject_access.services import produce_report, render_html, render_json
from directory.builders import OTHER_AREA, child_row, load_children, user

pytestmark = pytest.mark.django_db

REVIEW = datetime.date.today() + datetime.timedelta(days=90)


@pytest.fixture
def maya(tmp_path):
    """Maya, from two sources (NHS and the school census), with carers and services; and Sam, another child."""
    common = {"given_names": "Maya", "family_name": "Fernandes", "date_of_birth": "2010-04-17",
              "postcode": "B12 8QT", "address_line_1": "3 Oak Lane", "nhs_number": "9434765919",
              "carer_given_names": "Rita", "carer_family_name": "Fernandes", "carer_relationship": "mother",
              "carer_phone": "0121 496 0000"}
    load_children(tmp_path, [
        child_row("N1", **common, service_type="gp", organisation_code="GP1", organisation_name="Oak Surgery"),
        child_row("N2", **common, service_type="sexual_health", organisation_code="SH1",
                  organisation_name="Clinic Nine", consent_recorded="N"),
    ])
    children = load_children(tmp_path, [
        child_row("S1", **{**common, "address_line_1": "3 Oak Lane"}, service_type="school",
                  organisation_code="SCH1", organisation_name="Elm Primary"),
    ], source_code="school_census")
    other = load_children(tmp_path, [child_row("X1", given_names="Sam", family_name="Quartermaine",
                                               date_of_birth="2012-01-01", postcode="B5 4AA")])
    return {"maya": children["S1"].contactpoint_id, "sam": other["X1"].contactpoint_id}


@pytest.fixture
def team():
    return user(Role.DIRECTORY_TEAM, username="dt-brum")


def test_the_report_holds_the_record_names_addresses_carers_involvements_and_sources(maya, team):
    report = produce_report(user=team, contactpoint_id=maya["maya"], reason="SAR-2026-014 from the mother")
    h = report.holdings
    assert (h.golden["given_names"], h.golden["family_name"], h.golden["date_of_birth"]) == (
        "Maya", "Fernandes", "2010-04-17")
    assert h.golden["nhs_number"] == "9434765919" and h.golden["postcode"] == "B12 8QT"
    assert ("current", "Maya", "Fernandes") in {(n["kind"], n["given_names"], n["family_name"]) for n in h.names}
    assert any(a["postcode"] == "B12 8QT" and a["is_current"] for a in h.addresses)
    assert {(c["given_names"], c["relationship"]) for c in h.carers} == {("Rita", "mother")}
    services = {i["service_type"]: i for i in h.involvements}
    # Everything held, the sensitive service without consent included (flagged for the team to check).
    assert set(services) == {"gp", "sexual_health", "school"}
    assert services["sexual_health"]["sensitive"] and not services["sexual_health"]["consent_recorded"]
    sources = {(r["source"], r["source_record_id"]) for r in h.source_records}
    assert sources == {("nhs_demographics", "N1"), ("nhs_demographics", "N2"), ("school_census", "S1")}
    assert all(r["first_received"] and r["fields"]["family_name"] == "Fernandes" for r in h.source_records)


def test_every_access_is_listed_and_no_other_childs_data(maya, team):
    practitioner = user(Role.PRACTITIONER, username="hv-jones")
    operator = user(Role.OPERATOR, username="cr-ahmed", area_code=OTHER_AREA)
    criteria = SearchCriteria(family_name="Fernandes", date_of_birth="2010-04-17")
    queries.search_children(user=practitioner, criteria=criteria)
    queries.get_child_record(user=practitioner, contactpoint_id=maya["maya"])
    queries.get_child_record(user=operator, contactpoint_id=maya["maya"], requester="PC 2210 Lee",
                             reason="concern for welfare")
    queries.get_child_record(user=practitioner, contactpoint_id=maya["sam"])  # another child: not Maya's
    naming_maya = AuditEvent.objects.filter(children__contains=[maya["maya"]]).count()

    report = produce_report(user=team, contactpoint_id=maya["maya"], reason="SAR-2026-014")
    # Every event naming Maya, this report's own production last.
    assert len(report.accesses) == naming_maya + 1
    assert [a.who for a in report.accesses[-4:]] == ["hv-jones", "hv-jones", "cr-ahmed", "dt-brum"]
    by_operator = report.accesses[-2]
    assert (by_operator.on_behalf_of, by_operator.why, by_operator.role) == (
        "PC 2210 Lee", "concern for welfare", "Control room operator")
    assert by_operator.organisation.endswith(f"({operator.organisation.code})")
    assert report.accesses[-1].action == AuditAction.EXPORT_SUBJECT_ACCESS
    for text in (render_json(report), render_html(report)):
        assert "Quartermaine" not in text and maya["sam"] not in text


def test_producing_it_is_audited(maya, team):
    produce_report(user=team, contactpoint_id=maya["maya"], reason="SAR-2026-014", client_address="10.0.0.7")
    event = AuditEvent.objects.get(action=AuditAction.EXPORT_SUBJECT_ACCESS)
    assert (event.actor_username, event.children, event.reason, event.client_address) == (
        "dt-brum", [maya["maya"]], "SAR-2026-014", "10.0.0.7")
    assert event.details == {"shielded": False, "source_records": 3}


@pytest.mark.parametrize(
    "role, area_code",
    [(Role.PRACTITIONER, None), (Role.OPERATOR, None), (Role.AUDITOR, None), (Role.ADMIN, None),
     (Role.DIRECTORY_TEAM, OTHER_AREA)],
)
def test_refused_to_everyone_but_the_childs_own_directory_team(maya, role, area_code):
    someone = user(role, **({"area_code": area_code} if area_code else {}))
    with pytest.raises(AccessDenied):
        produce_report(user=someone, contactpoint_id=maya["maya"], reason="curious")
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT_SUBJECT_ACCESS).exists()


def test_a_reason_is_required(maya, team):
    from contactpoint.directory.errors import DirectoryError

    with pytest.raises(DirectoryError):
        produce_report(user=team, contactpoint_id=maya["maya"], reason=" ")


def test_a_shielded_childs_report_is_complete_for_the_team_and_alerts_like_break_glass(maya, team):
    directory_services.shield_child(actor=team, contactpoint_id=maya["maya"], reason="refuge", review_on=REVIEW)
    report = produce_report(user=team, contactpoint_id=maya["maya"], reason="SAR-2026-015")
    assert report.holdings.is_shielded and report.holdings.golden["postcode"] == "B12 8QT"
    assert "shielded" in render_html(report)
    alert = Alert.objects.get()
    assert alert.rule == Rule.BREAK_GLASS and alert.children == [maya["maya"]]


def test_the_command_writes_both_formats(maya, team, tmp_path):
    out = tmp_path / "sar-maya"
    call_command("subject-access", maya["maya"], "--out", str(out), "--by", "dt-brum", "--reason", "SAR-2026-014")
    html = (tmp_path / "sar-maya.html").read_text(encoding="utf-8")
    data = json.loads((tmp_path / "sar-maya.json").read_text(encoding="utf-8"))
    assert data["contactpoint_id"] == maya["maya"] and data["holdings"]["golden"]["family_name"] == "Fernandes"
    assert data["accesses"][-1]["action"] == "export:child:subject_access"
    assert "Fernandes" in html and "Every access to the record" in html
    # Self-contained: no scripts, no external stylesheets, images or links.
    for needle in ("<script", "<link", "src=", "http://", "https://", "@import", "url("):
        assert needle not in html.lower()
    assert (tmp_path / "sar-maya.html").stat().st_mode & 0o077 == 0


def test_the_command_writes_one_format_and_refuses_others(maya, team, tmp_path):
    call_command("subject-access", maya["maya"], "--out", str(tmp_path / "r.json"), "--format", "json",
                 "--by", "dt-brum", "--reason", "SAR-1")
    assert json.loads((tmp_path / "r.json").read_text())["contactpoint_id"] == maya["maya"]
    user(Role.PRACTITIONER, username="gp-1")
    with pytest.raises(CommandError):
        call_command("subject-access", maya["maya"], "--out", str(tmp_path / "x"), "--by", "gp-1", "--reason", "x")
    assert not (tmp_path / "x.html").exists()
