"""Practitioners' own involvements and flags; shielding decisions; feeds and people side by side."""

from __future__ import annotations

import datetime

import pytest
from django.core.management import CommandError, call_command

from contactpoint.access.models import Role
from contactpoint.access.policy import AccessDenied
from contactpoint.audit.tags import AuditAction
from contactpoint.directory import queries, services
from contactpoint.directory.errors import DirectoryError
from contactpoint.directory.models import Involvement, Shield
from directory.builders import child_row, events, load_children, user

pytestmark = pytest.mark.django_db

REVIEW = datetime.date.today() + datetime.timedelta(days=90)


@pytest.fixture
def child(tmp_path):
    row = child_row("C1", service_type="social_care", organisation_code="SC1", organisation_name="Children's services",
                    practitioner_name="Sam Feed", practitioner_phone="0121 496 0001", involvement_start="2024-02-01")
    return load_children(tmp_path, [row])["C1"]


def test_a_practitioner_adds_ends_and_flags_their_own_involvement(child):
    nurse = user(Role.PRACTITIONER, first_name="Nia", last_name="Jones", phone="0121 496 0555")
    involvement = services.add_involvement(actor=nurse, contactpoint_id=child.contactpoint_id,
                                           service_type="health_visitor", role="school nurse")
    record = queries.get_child_record(user=nurse, contactpoint_id=child.contactpoint_id)
    mine = next(i for i in record.involvements if i.id == involvement.pk)
    assert (mine.practitioner, mine.role, mine.yours) == ("Nia Jones", "school nurse", True)
    assert mine.origin == "practitioner"
    assert mine.contact is not None and mine.contact.phone == "0121 496 0555"

    services.set_involvement_flags(actor=nurse, involvement_id=involvement.pk, is_lead_professional=True, caf_held=True)
    services.set_involvement_flags(actor=nurse, involvement_id=involvement.pk, caf_held=False)
    involvement.refresh_from_db()
    assert (involvement.is_lead_professional, involvement.caf_held) == (True, False)

    services.end_involvement(actor=nurse, involvement_id=involvement.pk)
    record = queries.get_child_record(user=nurse, contactpoint_id=child.contactpoint_id)
    assert involvement.pk not in {i.id for i in record.involvements}
    assert [e.action for e in events(AuditAction.DIRECTORY_INVOLVEMENT_ADD)] == ["directory:involvement:add"]
    assert [e.details for e in events(AuditAction.DIRECTORY_INVOLVEMENT_CHANGE)] == [
        {"involvement": involvement.pk, "lead_professional": True, "caf_held": True},
        {"involvement": involvement.pk, "caf_held": False},
    ]
    [ended] = events(AuditAction.DIRECTORY_INVOLVEMENT_END)
    assert ended.children == [child.contactpoint_id]


def test_a_practitioner_cannot_change_someone_elses_involvement(child):
    owner, other = user(Role.PRACTITIONER), user(Role.PRACTITIONER)
    involvement = services.add_involvement(actor=owner, contactpoint_id=child.contactpoint_id, service_type="other")
    with pytest.raises(AccessDenied, match="only their own"):
        services.end_involvement(actor=other, involvement_id=involvement.pk)
    with pytest.raises(AccessDenied, match="only their own"):
        services.set_involvement_flags(actor=other, involvement_id=involvement.pk, is_lead_professional=True)
    involvement.refresh_from_db()
    assert involvement.ended_on is None and not involvement.is_lead_professional


def test_the_areas_directory_team_may_end_anyones_involvement(child):
    owner = user(Role.PRACTITIONER)
    involvement = services.add_involvement(actor=owner, contactpoint_id=child.contactpoint_id, service_type="other")
    services.end_involvement(actor=user(Role.DIRECTORY_TEAM), involvement_id=involvement.pk)
    with pytest.raises(AccessDenied):
        services.add_involvement(actor=user(Role.AUDITOR), contactpoint_id=child.contactpoint_id, service_type="other")


def test_feed_involvements_change_only_through_feeds(child):
    feed = Involvement.objects.get(child=child, origin="feed")
    with pytest.raises(DirectoryError, match="source system"):
        services.set_involvement_flags(actor=user(Role.DIRECTORY_TEAM), involvement_id=feed.pk, caf_held=True)


def test_feeds_and_people_coexist(tmp_path, child):
    nurse = user(Role.PRACTITIONER)
    mine = services.add_involvement(actor=nurse, contactpoint_id=child.contactpoint_id, service_type="health_visitor")
    # The source sends the record again with a different practitioner: its own involvement is replaced...
    load_children(tmp_path, [child_row("C1", service_type="social_care", organisation_code="SC1",
                                       practitioner_name="Alex Feed", involvement_start="2024-03-01")])
    involvements = Involvement.objects.filter(child=child)
    assert {(i.origin, i.practitioner.name) for i in involvements} == {
        ("feed", "Alex Feed"), ("practitioner", mine.practitioner.name)
    }


def test_invalid_involvement_input_is_refused(child):
    nurse = user(Role.PRACTITIONER)
    with pytest.raises(DirectoryError, match="unknown service type"):
        services.add_involvement(actor=nurse, contactpoint_id=child.contactpoint_id, service_type="astrology")
    tomorrow = datetime.date.today() + datetime.timedelta(days=1)
    with pytest.raises(DirectoryError, match="future"):
        services.add_involvement(actor=nurse, contactpoint_id=child.contactpoint_id, service_type="other",
                                 started_on=tomorrow)
    services.add_involvement(actor=nurse, contactpoint_id=child.contactpoint_id, service_type="other")
    with pytest.raises(DirectoryError, match="already have"):
        services.add_involvement(actor=nurse, contactpoint_id=child.contactpoint_id, service_type="other")


def test_shielding_is_decided_by_the_childs_own_directory_team(child):
    with pytest.raises(AccessDenied):
        services.shield_child(actor=user(Role.DIRECTORY_TEAM, area_code="E08000026"),
                              contactpoint_id=child.contactpoint_id, reason="x", review_on=REVIEW)
    with pytest.raises(AccessDenied):
        services.shield_child(actor=user(Role.PRACTITIONER), contactpoint_id=child.contactpoint_id, reason="x",
                              review_on=REVIEW)
    team = user(Role.DIRECTORY_TEAM)
    shield = services.shield_child(actor=team, contactpoint_id=child.contactpoint_id, reason="witness protection",
                                   review_on=REVIEW)
    child.refresh_from_db()
    assert child.is_shielded and shield.shielded_by == team
    [event] = events(AuditAction.DIRECTORY_SHIELD)
    assert event.children == [child.contactpoint_id] and event.reason == "witness protection"
    with pytest.raises(DirectoryError, match="already shielded"):
        services.shield_child(actor=team, contactpoint_id=child.contactpoint_id, reason="x", review_on=REVIEW)


def test_shield_and_unshield_commands(child, capsys):
    team = user(Role.DIRECTORY_TEAM, username="dt-alice")
    call_command("shield", child.contactpoint_id, "--reason", "refuge", "--review-date", REVIEW.isoformat(),
                 "--by", team.username)
    child.refresh_from_db()
    assert child.is_shielded and Shield.objects.get(child=child).reason == "refuge"
    call_command("unshield", child.contactpoint_id, "--reason", "moved on", "--by", team.username)
    child.refresh_from_db()
    assert not child.is_shielded and Shield.objects.get(child=child).lift_reason == "moved on"
    with pytest.raises(CommandError, match="not shielded"):
        call_command("unshield", child.contactpoint_id, "--reason", "again", "--by", team.username)
    with pytest.raises(CommandError, match="not a date"):
        call_command("shield", child.contactpoint_id, "--reason", "r", "--review-date", "soon", "--by", team.username)
    outsider = user(Role.DIRECTORY_TEAM, area_code="E08000026", username="dt-bob")
    with pytest.raises(CommandError, match="outside your local authority"):
        call_command("shield", child.contactpoint_id, "--reason", "r", "--review-date", REVIEW.isoformat(),
                     "--by", outsider.username)
