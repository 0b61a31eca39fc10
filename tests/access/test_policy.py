"""The access policy: scoping, lapsed accounts, operators' requesters, shielding."""

import datetime

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from contactpoint.access.models import Role
from contactpoint.access.permissions import Permission
from contactpoint.access.policy import (
    AccessDenied,
    can,
    can_act_on_child,
    can_find_by_location,
    can_grant_role,
    can_link_children,
    can_manage_involvement,
    can_see_shielded_details,
    require,
    user_may_use_directory,
)

from .factories import LocalAuthorityFactory, OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db
P = Permission
YESTERDAY = timezone.localdate() - datetime.timedelta(days=1)


@pytest.fixture
def home():
    return LocalAuthorityFactory()


@pytest.fixture
def elsewhere():
    return LocalAuthorityFactory()


@pytest.fixture
def team_member(home):
    return UserFactory(role=Role.DIRECTORY_TEAM, organisation=OrganisationFactory(local_authority=home))


def test_anonymous_users_may_do_nothing():
    decision = can(AnonymousUser(), P.DIRECTORY_CHILD_SEARCH)
    assert not decision
    assert decision.reason == "not signed in"


def test_a_current_practitioner_may_search_anywhere():
    decision = can(UserFactory(), P.DIRECTORY_CHILD_SEARCH)
    assert decision.allowed
    assert decision.local_authority_scope is None


@pytest.mark.parametrize("check", ["employer_authorised_until", "background_check_until", "training_until"])
def test_each_expired_check_stops_a_practitioner(check):
    user = UserFactory(**{check: YESTERDAY})
    decision = can(user, P.DIRECTORY_CHILD_SEARCH)
    assert not decision
    assert "not current" in decision.reason
    assert not user_may_use_directory(user)


def test_a_check_valid_until_today_is_still_current():
    assert user_may_use_directory(UserFactory(training_until=timezone.localdate()))


def test_suspended_and_disabled_accounts_may_do_nothing():
    assert "suspended" in can(UserFactory(suspended_at=timezone.now()), P.DIRECTORY_CHILD_VIEW).reason
    assert "disabled" in can(UserFactory(is_active=False), P.DIRECTORY_CHILD_VIEW).reason


def test_a_role_without_the_permission_is_refused():
    decision = can(UserFactory(role=Role.ADMIN), P.DIRECTORY_CHILD_VIEW)
    assert not decision
    assert "does not include directory:child:view" in decision.reason


def test_operators_must_name_a_requester_and_a_reason():
    operator = UserFactory(role=Role.OPERATOR)
    assert not can(operator, P.DIRECTORY_CHILD_SEARCH)
    assert not can(operator, P.DIRECTORY_CHILD_SEARCH, requester="PC 123 Smith", reason=" ")
    assert can(operator, P.DIRECTORY_CHILD_SEARCH, requester="PC 123 Smith", reason="missing child report")


def test_directory_team_is_confined_to_its_local_authority(team_member, home, elsewhere):
    assert can(team_member, P.MATCHING_REVIEW_DECIDE, local_authority_id=home.pk)
    refused = can(team_member, P.MATCHING_REVIEW_DECIDE, local_authority_id=elsewhere.pk)
    assert not refused
    assert refused.reason == "outside your local authority"
    listing = can(team_member, P.MATCHING_REVIEW_VIEW)
    assert listing.allowed and listing.local_authority_scope == home.pk


def test_a_child_with_no_local_authority_is_in_no_directory_teams_area(team_member, home):
    # can() reads no local_authority_id as "a list"; acting on one child with no area is refused instead.
    assert can(team_member, P.MATCHING_REVIEW_DECIDE, local_authority_id=None)
    for permission in (
        P.DIRECTORY_CHILD_VIEW, P.DIRECTORY_ARCHIVED_VIEW, P.DIRECTORY_SUBJECT_ACCESS_EXPORT, P.DIRECTORY_CHILD_SHIELD,
        P.DIRECTORY_INVOLVEMENT_MANAGE, P.MATCHING_REVIEW_DECIDE,
    ):
        refused = can_act_on_child(team_member, permission, child_local_authority_id=None)
        assert not refused and "no local authority" in refused.reason, permission
        assert can_act_on_child(team_member, permission, child_local_authority_id=home.pk), permission
    # Its record and its details: refused to every directory team, as their search never lists it.
    details = can_see_shielded_details(team_member, child_local_authority_id=None, is_shielded=False)
    assert not details and "no local authority" in details.reason
    involvement = can_manage_involvement(team_member, child_local_authority_id=None, owner_user_id=None)
    assert not involvement and "no local authority" in involvement.reason
    # Roles that are not confined to an area see it like any other child (no such role corrects records).
    practitioner = UserFactory()
    assert can_act_on_child(practitioner, P.DIRECTORY_CHILD_VIEW, child_local_authority_id=None)
    assert can_see_shielded_details(practitioner, child_local_authority_id=None, is_shielded=False)
    assert can_manage_involvement(practitioner, child_local_authority_id=None, owner_user_id=practitioner.pk)
    operator = UserFactory(role=Role.OPERATOR)
    assert not can_act_on_child(operator, P.DIRECTORY_CHILD_VIEW, child_local_authority_id=None)
    assert can_act_on_child(
        operator, P.DIRECTORY_CHILD_VIEW, child_local_authority_id=None, requester="PC 1", reason="x"
    )
    assert not can_act_on_child(practitioner, P.MATCHING_REVIEW_DECIDE, child_local_authority_id=home.pk)
    for role in (Role.AUDITOR, Role.ADMIN):
        assert not can_act_on_child(UserFactory(role=role), P.DIRECTORY_CHILD_VIEW, child_local_authority_id=None)
    # Shielded and with no area: no one sees its hidden details, whatever the reason.
    for person in (team_member, practitioner, operator):
        assert not can_see_shielded_details(
            person, child_local_authority_id=None, is_shielded=True, reason="x", requester="PC 1"
        )


def test_a_review_pair_with_a_child_of_no_area_belongs_to_the_other_childs_area(team_member, home, elsewhere):
    """The team of the area decides a pair that links a child of no area into it; never another area's child."""
    decide = P.MATCHING_REVIEW_DECIDE
    assert can_link_children(team_member, decide, child_local_authority_ids=(home.pk, home.pk))
    assert can_link_children(team_member, decide, child_local_authority_ids=(None, home.pk))
    assert can_link_children(team_member, decide, child_local_authority_ids=(home.pk, None))
    refused = can_link_children(team_member, decide, child_local_authority_ids=(None, None))
    assert not refused and "no local authority" in refused.reason
    for pair in ((home.pk, elsewhere.pk), (None, elsewhere.pk), (elsewhere.pk, None), (elsewhere.pk, elsewhere.pk)):
        refused = can_link_children(team_member, decide, child_local_authority_ids=pair)
        assert not refused and refused.reason == "outside your local authority", pair
    assert not can_link_children(team_member, decide, child_local_authority_ids=())
    assert not can_link_children(UserFactory(), decide, child_local_authority_ids=(None, home.pk))


def test_directory_team_without_a_local_authority_is_refused():
    user = UserFactory(role=Role.DIRECTORY_TEAM, organisation=OrganisationFactory(local_authority=None))
    assert not can(user, P.MATCHING_REVIEW_VIEW)


def test_require_raises_a_typed_error():
    with pytest.raises(AccessDenied) as raised:
        require(UserFactory(role=Role.AUDITOR), P.DIRECTORY_CHILD_VIEW)
    assert raised.value.permission == "directory:child:view"
    assert not raised.value.decision.allowed


def test_unshielded_details_follow_the_view_permission(home):
    assert can_see_shielded_details(UserFactory(), child_local_authority_id=home.pk, is_shielded=False)
    assert not can_see_shielded_details(
        UserFactory(role=Role.AUDITOR), child_local_authority_id=home.pk, is_shielded=False
    )


def test_shielded_details_are_hidden_from_practitioners_even_with_a_reason(home):
    decision = can_see_shielded_details(
        UserFactory(), child_local_authority_id=home.pk, is_shielded=True, reason="urgent"
    )
    assert not decision


def test_shielded_details_need_the_childs_own_directory_team_and_a_reason(team_member, home, elsewhere):
    assert not can_see_shielded_details(team_member, child_local_authority_id=home.pk, is_shielded=True)
    assert not can_see_shielded_details(
        team_member, child_local_authority_id=elsewhere.pk, is_shielded=True, reason="checking"
    )
    decision = can_see_shielded_details(
        team_member, child_local_authority_id=home.pk, is_shielded=True, reason="strategy meeting"
    )
    assert decision.allowed and decision.break_glass


def test_shielded_children_cannot_be_found_by_location(team_member, home):
    practitioner = UserFactory()
    assert can_find_by_location(practitioner, child_local_authority_id=home.pk, is_shielded=False)
    assert not can_find_by_location(practitioner, child_local_authority_id=home.pk, is_shielded=True)
    assert can_find_by_location(team_member, child_local_authority_id=home.pk, is_shielded=True)


def test_practitioners_manage_only_their_own_involvements(team_member, home):
    practitioner, colleague = UserFactory(), UserFactory()
    assert can_manage_involvement(practitioner, child_local_authority_id=home.pk, owner_user_id=practitioner.pk)
    assert not can_manage_involvement(practitioner, child_local_authority_id=home.pk, owner_user_id=colleague.pk)
    assert can_manage_involvement(team_member, child_local_authority_id=home.pk, owner_user_id=colleague.pk)
    assert not can_manage_involvement(
        UserFactory(role=Role.AUDITOR), child_local_authority_id=home.pk, owner_user_id=None
    )


def test_who_may_give_which_role(team_member, home, elsewhere):
    admin = UserFactory(role=Role.ADMIN)
    assert can_grant_role(admin, Role.AUDITOR, local_authority_id=None)
    assert can_grant_role(team_member, Role.PRACTITIONER, local_authority_id=home.pk)
    assert not can_grant_role(team_member, Role.PRACTITIONER, local_authority_id=elsewhere.pk)
    assert not can_grant_role(team_member, Role.ADMIN, local_authority_id=home.pk)
    assert not can_grant_role(team_member, Role.PRACTITIONER, local_authority_id=None)
    assert not can_grant_role(UserFactory(), Role.PRACTITIONER, local_authority_id=home.pk)
