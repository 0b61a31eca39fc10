"""Every named permission, and which roles hold which.

Permissions are shaped ``scope:resource:action`` and kept in one alphabetised enum, so that a reviewer
can read the whole of what the system lets anyone do on one screen. Code never asks "is this user a
directory team member?": it asks :func:`contactpoint.access.policy.can` about a permission, and the
policy adds the rules a role alone cannot express (local authority scope, lapsed accounts, operators
naming their requester, shielding).
"""

from __future__ import annotations

from enum import StrEnum

from contactpoint.access.models import Role


class Permission(StrEnum):
    ACCESS_TOKEN_MANAGE = "access:token:manage"  # noqa: S105 (a permission name, not a secret)
    ACCESS_USER_MANAGE = "access:user:manage"
    ACCESS_USER_VIEW = "access:user:view"
    ALERTS_ALERT_ACKNOWLEDGE = "alerts:alert:acknowledge"
    ALERTS_ALERT_VIEW = "alerts:alert:view"
    AUDIT_EVENT_VIEW = "audit:event:view"
    AUDIT_TRAIL_VERIFY = "audit:trail:verify"
    DIRECTORY_ARCHIVED_VIEW = "directory:archived:view"
    DIRECTORY_CHILD_SEARCH = "directory:child:search"
    DIRECTORY_CHILD_SHIELD = "directory:child:shield"
    DIRECTORY_CHILD_VIEW = "directory:child:view"
    DIRECTORY_INVOLVEMENT_MANAGE = "directory:involvement:manage"
    DIRECTORY_INVOLVEMENT_MANAGE_OWN = "directory:involvement:manage_own"
    DIRECTORY_SHIELDED_VIEW = "directory:shielded:view"
    DIRECTORY_SUBJECT_ACCESS_EXPORT = "directory:subject_access:export"
    FEEDS_BATCH_VIEW = "feeds:batch:view"
    MATCHING_REVIEW_DECIDE = "matching:review:decide"
    MATCHING_REVIEW_VIEW = "matching:review:view"
    ORGS_ORGANISATION_MANAGE = "orgs:organisation:manage"


P = Permission

# What each role may do. Whether a grant reaches a particular child, user or local authority is decided
# by contactpoint.access.policy (directory teams are confined to their own local authority).
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    # Front-line practitioners: find a child, see who else is involved, add or end their own involvement.
    Role.PRACTITIONER: frozenset(
        {P.DIRECTORY_CHILD_SEARCH, P.DIRECTORY_CHILD_VIEW, P.DIRECTORY_INVOLVEMENT_MANAGE_OWN}
    ),
    # Central control rooms: search and view only, always on behalf of a named requester with a reason
    # (enforced by the policy, not by the permission).
    Role.OPERATOR: frozenset({P.DIRECTORY_CHILD_SEARCH, P.DIRECTORY_CHILD_VIEW}),
    # One team per local authority: everything there, nothing outside it.
    Role.DIRECTORY_TEAM: frozenset(
        {
            P.ACCESS_TOKEN_MANAGE,
            P.ACCESS_USER_MANAGE,
            P.ACCESS_USER_VIEW,
            P.ALERTS_ALERT_ACKNOWLEDGE,
            P.ALERTS_ALERT_VIEW,
            P.DIRECTORY_ARCHIVED_VIEW,
            P.DIRECTORY_CHILD_SEARCH,
            P.DIRECTORY_CHILD_SHIELD,
            P.DIRECTORY_CHILD_VIEW,
            P.DIRECTORY_INVOLVEMENT_MANAGE,
            P.DIRECTORY_SHIELDED_VIEW,
            P.DIRECTORY_SUBJECT_ACCESS_EXPORT,
            P.FEEDS_BATCH_VIEW,
            P.MATCHING_REVIEW_DECIDE,
            P.MATCHING_REVIEW_VIEW,
        }
    ),
    # Auditors and the regulator: the trail and the alerts; children appear only as directory identifiers.
    Role.AUDITOR: frozenset({P.ALERTS_ALERT_VIEW, P.AUDIT_EVENT_VIEW, P.AUDIT_TRAIL_VERIFY}),
    # Administrators: organisations and accounts, never child data.
    Role.ADMIN: frozenset(
        {P.ACCESS_TOKEN_MANAGE, P.ACCESS_USER_MANAGE, P.ACCESS_USER_VIEW, P.ORGS_ORGANISATION_MANAGE}
    ),
}

# Roles whose every grant is limited to the local authority of the user's organisation.
LOCAL_AUTHORITY_SCOPED_ROLES = frozenset({Role.DIRECTORY_TEAM})

# Roles that search and view only on behalf of someone else, who must be named with a reason.
ROLES_ACTING_FOR_A_REQUESTER = frozenset({Role.OPERATOR})

# Permissions that read child data: an operator needs a named requester and a reason for these.
CHILD_DATA_PERMISSIONS = frozenset({P.DIRECTORY_CHILD_SEARCH, P.DIRECTORY_CHILD_VIEW})

# Which roles an account manager may give. A directory team may create front-line accounts and fellow
# team members in its own area; only administrators create auditors and administrators.
GRANTABLE_ROLES: dict[Role, frozenset[Role]] = {
    Role.DIRECTORY_TEAM: frozenset({Role.PRACTITIONER, Role.OPERATOR, Role.DIRECTORY_TEAM}),
    Role.ADMIN: frozenset(Role),
}


def permissions_for(role: str) -> frozenset[Permission]:
    """The permissions a role holds (none for an unknown role)."""
    try:
        return ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return frozenset()
