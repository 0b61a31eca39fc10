"""A child with no local authority (no source named one) is in no directory team's area.

No team finds it in a search, so no team opens its record, sees its hidden details, reports on it,
changes its involvements or shields it either. Practitioners and operators, who are not confined to an
area, see it like any other child; auditors and admins see no child at all. A shielded child with no
local authority shows its location to no one.
"""

from __future__ import annotations

import datetime

import pytest

from contactpoint.access.models import Role
from contactpoint.access.policy import AccessDenied
from contactpoint.audit.tags import AuditAction
from contactpoint.directory import queries, services
from contactpoint.directory.errors import ChildNotFound
from contactpoint.directory.models import Child, Involvement
from directory.builders import AREA, OTHER_AREA, child_row, events, load_children, user

pytestmark = pytest.mark.django_db

REVIEW = datetime.date.today() + datetime.timedelta(days=90)
HIDDEN = ("9 Nowhere Lane", "YX1 4QA", "Noarea Town", "Carrie", "0121 496 0444", "Nowhere Primary")


@pytest.fixture
def arealess(tmp_path) -> Child:
    row = child_row(
        "NA-1", given_names="Orla", family_name="Nowhereson", local_authority="",
        address_line_1=HIDDEN[0], postcode=HIDDEN[1], town=HIDDEN[2], carer_given_names=HIDDEN[3],
        carer_family_name="Nowhereson", carer_relationship="mother", carer_phone=HIDDEN[4],
        service_type="school", organisation_code="NOWH1", organisation_name=HIDDEN[5],
        practitioner_name="Ms Teach", practitioner_phone="0121 496 0555", involvement_start="2023-09-01",
    )
    child = load_children(tmp_path, [row])["NA-1"]
    assert child.local_authority_id is None
    return child


def teams() -> list:
    return [user(Role.DIRECTORY_TEAM, area_code=AREA), user(Role.DIRECTORY_TEAM, area_code=OTHER_AREA)]


def test_no_directory_team_opens_its_record_its_details_or_its_subject_access_report(arealess):
    cpid = arealess.contactpoint_id
    for team in teams():
        for read, kwargs in (
            (queries.get_child_record, {}),
            (queries.get_child_record, {"reason": "section 47 enquiry"}),
            (queries.list_involvements, {}),
            (queries.read_child_holdings, {"reason": "SAR-1"}),
        ):
            with pytest.raises(AccessDenied, match="no local authority"):
                read(user=team, contactpoint_id=cpid, **kwargs)
    for action in (AuditAction.ACCESS_CHILD_VIEW, AuditAction.ACCESS_BREAK_GLASS, AuditAction.EXPORT_SUBJECT_ACCESS):
        assert events(action) == [], action


def test_an_archived_child_with_no_local_authority_is_as_if_never_held_for_every_team(arealess):
    Child.objects.filter(pk=arealess.pk).update(status=Child.Status.ARCHIVED)
    for team in teams():
        with pytest.raises(ChildNotFound):
            queries.get_child_record(user=team, contactpoint_id=arealess.contactpoint_id)


def test_practitioners_and_operators_see_it_like_any_other_child(arealess):
    practitioner = user(Role.PRACTITIONER)
    record = queries.get_child_record(user=practitioner, contactpoint_id=arealess.contactpoint_id)
    assert record.location is not None and record.location.postcode == HIDDEN[1]
    assert not record.in_a_local_authority and record.carers
    operator = user(Role.OPERATOR)
    with pytest.raises(AccessDenied):
        queries.get_child_record(user=operator, contactpoint_id=arealess.contactpoint_id)
    record = queries.get_child_record(
        user=operator, contactpoint_id=arealess.contactpoint_id, requester="PC 1", reason="welfare check"
    )
    assert record.location is not None
    for role in (Role.AUDITOR, Role.ADMIN):
        with pytest.raises(AccessDenied):
            queries.get_child_record(user=user(role), contactpoint_id=arealess.contactpoint_id)


def test_a_shielded_child_with_no_local_authority_shows_its_location_to_no_one(arealess):
    """Shielded while its area was known, then held by none: no one is its own team any more."""
    own_team = user(Role.DIRECTORY_TEAM)
    Child.objects.filter(pk=arealess.pk).update(local_authority_id=own_team.local_authority_id)
    services.shield_child(actor=own_team, contactpoint_id=arealess.contactpoint_id, reason="refuge", review_on=REVIEW)
    Child.objects.filter(pk=arealess.pk).update(local_authority=None)
    cpid = arealess.contactpoint_id
    seen = [
        queries.get_child_record(user=user(Role.PRACTITIONER), contactpoint_id=cpid, reason="urgent"),
        queries.get_child_record(user=user(Role.OPERATOR), contactpoint_id=cpid, requester="PC 1", reason="urgent"),
        queries.list_involvements(user=user(Role.PRACTITIONER), contactpoint_id=cpid, reason="urgent"),
    ]
    assert seen[0].shielded and seen[0].location is None and seen[0].carers == []
    assert seen[0].directory_team is None  # no team to ask: none holds it
    leaked = [value for value in HIDDEN if value in repr(seen)]
    assert leaked == []
    for team in teams():
        with pytest.raises(AccessDenied):
            queries.get_child_record(user=team, contactpoint_id=cpid, reason="section 47 enquiry")
    assert events(AuditAction.ACCESS_BREAK_GLASS) == []


def test_no_team_changes_its_involvements_or_its_shield(arealess):
    involvement = Involvement.objects.get(child=arealess)
    Involvement.objects.filter(pk=involvement.pk).update(origin=Involvement.Origin.PRACTITIONER)
    for team in teams():
        with pytest.raises(AccessDenied, match="no local authority"):
            services.end_involvement(actor=team, involvement_id=involvement.pk)
        with pytest.raises(AccessDenied, match="no local authority"):
            services.set_involvement_flags(actor=team, involvement_id=involvement.pk, caf_held=True)
        with pytest.raises(AccessDenied, match="no local authority"):
            services.shield_child(actor=team, contactpoint_id=arealess.contactpoint_id, reason="x", review_on=REVIEW)
    involvement.refresh_from_db()
    assert involvement.ended_on is None and not involvement.caf_held
    # A practitioner still records their own involvement with the child.
    mine = services.add_involvement(actor=user(Role.PRACTITIONER), contactpoint_id=arealess.contactpoint_id,
                                    service_type="health_visitor")
    assert mine.child_id == arealess.pk
