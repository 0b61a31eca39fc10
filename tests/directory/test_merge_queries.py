"""The directory team's reads before a merge: only its own area's active children, shielded locations
withheld, every look recorded (and a look at another area's child recorded as a refusal)."""

from __future__ import annotations

import datetime

import pytest

from contactpoint.access.models import Role
from contactpoint.access.policy import AccessDenied
from contactpoint.audit.tags import AuditAction
from contactpoint.directory import queries, services
from contactpoint.directory.errors import NotMergeable
from directory.builders import OTHER_AREA, child_row, events, load_children, user

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(tmp_path):
    children = load_children(
        tmp_path,
        [
            child_row("A1"),
            child_row("B1", given_names="Tobi", family_name="Adeyemi", date_of_birth="2012-01-09",
                      postcode="B29 6TT", address_line_1="3 Birch Close"),
            child_row("C1", given_names="Kofi", family_name="Mensah", local_authority=OTHER_AREA),
        ],
    )
    return children["A1"], children["B1"], children["C1"]


def test_both_records_are_read_as_one_recorded_view(pair):
    a, b, _ = pair
    team = user(Role.DIRECTORY_TEAM)
    first, second = queries.compare_children_to_merge(
        user=team, contactpoint_id=a.contactpoint_id, other_contactpoint_id=b.contactpoint_id.lower()
    )
    assert (first.family_name, second.family_name) == ("Okafor", "Adeyemi")
    assert second.location is not None and second.location.postcode == "B29 6TT"
    assert second.sources == [("nhs demographics", 1)]
    [view] = events(AuditAction.ACCESS_CHILD_VIEW)
    assert sorted(view.children) == sorted([a.contactpoint_id, b.contactpoint_id])


def test_a_shielded_childs_location_is_withheld_even_from_its_own_team(pair):
    a, b, _ = pair
    team = user(Role.DIRECTORY_TEAM)
    review_on = datetime.date.today() + datetime.timedelta(days=90)
    services.shield_child(actor=team, contactpoint_id=b.contactpoint_id, reason="refuge", review_on=review_on)
    _, second = queries.compare_children_to_merge(
        user=team, contactpoint_id=a.contactpoint_id, other_contactpoint_id=b.contactpoint_id
    )
    assert second.is_shielded and second.location is None
    assert not events(AuditAction.ACCESS_BREAK_GLASS)


def test_another_areas_child_is_refused_either_way_and_recorded(pair):
    a, _, elsewhere = pair
    team = user(Role.DIRECTORY_TEAM)
    with pytest.raises(NotMergeable, match="another local authority"):
        queries.compare_children_to_merge(
            user=team, contactpoint_id=a.contactpoint_id, other_contactpoint_id=elsewhere.contactpoint_id
        )
    [denied] = events(AuditAction.ACCESS_DENIED)
    assert denied.children == [elsewhere.contactpoint_id]
    with pytest.raises(AccessDenied):
        queries.get_child_to_merge(user=team, contactpoint_id=elsewhere.contactpoint_id)
    assert not events(AuditAction.ACCESS_CHILD_VIEW)


@pytest.mark.parametrize("role", [Role.PRACTITIONER, Role.OPERATOR, Role.AUDITOR, Role.ADMIN])
def test_only_directory_teams_read_children_to_merge(pair, role):
    a, b, _ = pair
    with pytest.raises(AccessDenied):
        queries.get_child_to_merge(user=user(role), contactpoint_id=a.contactpoint_id)
    with pytest.raises(AccessDenied):
        queries.compare_children_to_merge(
            user=user(role), contactpoint_id=a.contactpoint_id, other_contactpoint_id=b.contactpoint_id
        )
    assert not events(AuditAction.ACCESS_CHILD_VIEW)
