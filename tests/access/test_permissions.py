"""The role → permission map says what each kind of user may do, and nothing more."""

from contactpoint.access.models import Role
from contactpoint.access.permissions import ROLE_PERMISSIONS, Permission, permissions_for

P = Permission


def test_permissions_are_alphabetised_and_shaped_scope_resource_action():
    names = [p.name for p in Permission]
    assert names == sorted(names)
    for permission in Permission:
        scope, resource, action = permission.value.split(":")
        assert scope and resource and action
        assert permission.name == f"{scope}_{resource}_{action}".upper()


def test_every_role_has_an_entry():
    assert set(ROLE_PERMISSIONS) == set(Role)


def test_practitioners_search_view_and_manage_their_own_involvements():
    assert permissions_for(Role.PRACTITIONER) == {
        P.DIRECTORY_CHILD_SEARCH,
        P.DIRECTORY_CHILD_VIEW,
        P.DIRECTORY_INVOLVEMENT_MANAGE_OWN,
    }


def test_operators_only_search_and_view():
    assert permissions_for(Role.OPERATOR) == {P.DIRECTORY_CHILD_SEARCH, P.DIRECTORY_CHILD_VIEW}


def test_directory_team_runs_its_area():
    team = permissions_for(Role.DIRECTORY_TEAM)
    for needed in (
        P.ACCESS_USER_MANAGE,
        P.MATCHING_REVIEW_DECIDE,
        P.DIRECTORY_CHILD_SHIELD,
        P.DIRECTORY_SHIELDED_VIEW,
        P.ALERTS_ALERT_ACKNOWLEDGE,
        P.FEEDS_BATCH_VIEW,
        P.DIRECTORY_SUBJECT_ACCESS_EXPORT,
    ):
        assert needed in team
    assert P.ORGS_ORGANISATION_MANAGE not in team
    assert P.AUDIT_EVENT_VIEW not in team


def test_auditors_see_the_trail_and_alerts_but_no_child_data():
    assert permissions_for(Role.AUDITOR) == {P.ALERTS_ALERT_VIEW, P.AUDIT_EVENT_VIEW, P.AUDIT_TRAIL_VERIFY}


def test_admins_manage_organisations_and_accounts_but_never_child_data():
    admin = permissions_for(Role.ADMIN)
    assert P.ORGS_ORGANISATION_MANAGE in admin
    assert P.ACCESS_USER_MANAGE in admin
    assert not {p for p in admin if p.value.startswith(("directory:", "matching:", "feeds:", "audit:"))}


def test_an_unknown_role_has_no_permissions():
    assert permissions_for("superuser") == frozenset()
