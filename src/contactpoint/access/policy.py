"""The access policy: the one place that decides whether someone may do something.

Pages, the JSON API and the command line all ask these functions; none of them looks at a role
directly. Every function returns a :class:`Decision` (allowed or not, and why) so that the reason can
be shown to the user and written to the audit trail.

Rules about children are expressed with primitive arguments (a child's ``local_authority_id`` and
whether it ``is_shielded``), so that :mod:`contactpoint.directory` can call the policy without this
module importing the directory (the layers contract in pyproject.toml forbids that).

How to use it:

* Acting on one object: pass its ``local_authority_id``; a directory team member is refused outside
  their own local authority. A child with no local authority is outside every one: use
  :func:`can_act_on_child` for anything done to or shown of one child (viewing its record, its hidden
  details, its subject access report, its involvements, correcting or merging it), and
  :func:`can_link_children` for deciding a review item's pair.
* Listing: pass no ``local_authority_id``; when ``decision.local_authority_scope`` is not ``None`` the
  caller must confine the list to that local authority.
* Operators: pass ``requester`` and ``reason`` for searches and views.
* Shielded children: :func:`can_see_shielded_details`; when the decision has ``break_glass`` set the
  caller records ``AuditAction.ACCESS_BREAK_GLASS`` and alerts the child's directory team.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied

from contactpoint.access.models import Role, User
from contactpoint.access.permissions import (
    CHILD_DATA_PERMISSIONS,
    GRANTABLE_ROLES,
    LOCAL_AUTHORITY_SCOPED_ROLES,
    ROLES_ACTING_FOR_A_REQUESTER,
    Permission,
    permissions_for,
)


@dataclass(frozen=True)
class Decision:
    """The answer to "may this user do this?", with the reason either way."""

    allowed: bool
    reason: str
    # When allowed: None means "anywhere"; a number means "only within this local authority".
    local_authority_scope: int | None = None
    # When allowed to see a shielded child's hidden details: the caller must record the reason,
    # alert the directory team, and show the details for this one view only.
    break_glass: bool = False

    def __bool__(self) -> bool:
        return self.allowed


class AccessDenied(PermissionDenied):
    """Raised by :func:`require` when the policy refuses. Carries the decision and the permission.

    A subclass of Django's ``PermissionDenied``, so that a page that lets it escape answers 403; the
    access middleware records the refusal in the audit trail.
    """

    def __init__(self, decision: Decision, permission: str = "") -> None:
        super().__init__(decision.reason)
        self.decision = decision
        self.permission = permission

    @property
    def reason(self) -> str:
        return self.decision.reason


def _deny(reason: str) -> Decision:
    return Decision(allowed=False, reason=reason)


def _as_user(user: Any) -> User | None:
    """The signed-in user, or None for anonymous users and anything that is not an account."""
    if isinstance(user, User) and user.is_authenticated:
        return user
    return None


def user_may_use_directory(user: Any, *, today: datetime.date | None = None) -> Decision:
    """Whether an account may use the service at all right now.

    Refused when the account is disabled or suspended, or (for practitioners, operators and directory
    teams) when the employer authorisation, enhanced background check or training has expired.
    Checked at sign-in, on every page request and on every API call.
    """
    account = _as_user(user)
    if account is None:
        return _deny("not signed in")
    reasons = account.lapsed_reasons(today)
    if reasons:
        return _deny("access lapsed: " + ", ".join(reasons))
    return Decision(allowed=True, reason="account current")


def local_authority_scope(user: Any) -> int | None:
    """The local authority a user's grants are confined to, or None for national roles."""
    account = _as_user(user)
    if account is not None and account.role in LOCAL_AUTHORITY_SCOPED_ROLES:
        return account.local_authority_id
    return None


def can(
    user: Any,
    permission: Permission,
    *,
    local_authority_id: int | None = None,
    requester: str = "",
    reason: str = "",
) -> Decision:
    """Whether ``user`` holds ``permission`` (for an object in ``local_authority_id``, if given).

    ``requester`` and ``reason`` are required of operators for searches and views of children: an
    operator always acts for a named person and says why.
    """
    current = user_may_use_directory(user)
    if not current:
        return current
    account = _as_user(user)
    assert account is not None  # user_may_use_directory refuses anything else
    if permission not in permissions_for(account.role):
        return _deny(f"the {Role(account.role).label.lower()} role does not include {permission}")

    acts_for_someone = account.role in ROLES_ACTING_FOR_A_REQUESTER and permission in CHILD_DATA_PERMISSIONS
    if acts_for_someone and (not requester.strip() or not reason.strip()):
        return _deny("operators must name the person they are acting for and give a reason")

    if account.role in LOCAL_AUTHORITY_SCOPED_ROLES:
        own = account.local_authority_id
        if own is None:
            return _deny("your organisation is not in a local authority")
        if local_authority_id is not None and local_authority_id != own:
            return _deny("outside your local authority")
        return Decision(
            allowed=True, reason="granted by role within your local authority", local_authority_scope=own
        )

    return Decision(allowed=True, reason="granted by role")


def holds(user: Any, permission: Permission) -> bool:
    """Whether a current user's role includes ``permission`` at all.

    For navigation only (which links a page offers). Never use it to authorise an action: it skips the
    local authority, requester and shielding rules that :func:`can` applies.
    """
    account = _as_user(user)
    if account is None or not user_may_use_directory(account):
        return False
    return permission in permissions_for(account.role)


def require(
    user: Any,
    permission: Permission,
    *,
    local_authority_id: int | None = None,
    requester: str = "",
    reason: str = "",
) -> Decision:
    """Like :func:`can`, but raises :class:`AccessDenied` when refused."""
    decision = can(
        user, permission, local_authority_id=local_authority_id, requester=requester, reason=reason
    )
    if not decision:
        raise AccessDenied(decision, str(permission))
    return decision


def can_act_on_child(
    user: Any,
    permission: Permission,
    *,
    child_local_authority_id: int | None,
    requester: str = "",
    reason: str = "",
) -> Decision:
    """Whether ``user`` may use ``permission`` on one child: view its record, correct or merge it, and so on.

    Unlike :func:`can`, where no ``local_authority_id`` means a list (to be confined to the decision's
    scope), a child with no local authority is outside every local authority, as a directory team's search
    and review queue already treat it: no directory team may open its record, see its hidden details,
    report on it, manage its involvements, shield, correct or merge it (until a feed names its local
    authority). Roles not confined to an area (practitioners, operators) are unaffected: for them such a
    child is like any other.
    """
    decision = can(
        user, permission, local_authority_id=child_local_authority_id, requester=requester, reason=reason
    )
    if decision and decision.local_authority_scope is not None and child_local_authority_id is None:
        return _deny("the child has no local authority, so no directory team may act on its record")
    return decision


def can_link_children(
    user: Any, permission: Permission, *, child_local_authority_ids: tuple[int | None, ...]
) -> Decision:
    """Whether ``user`` may decide whether these children (a review item's pair) are one child or two.

    Every child must be in the user's area (:func:`can_act_on_child`), with one exception: the matcher
    paired a child with no local authority with a child in the user's area, and the review item is in
    that area's queue. The team of that area is the only one that could ever decide it, and accepting
    links the record with no area into theirs (the child in their area survives); rejecting keeps them
    apart. A child of another area is never part of it, and a pair of children with no area is in no
    one's queue.
    """
    placed = [la for la in child_local_authority_ids if la is not None]
    if not placed:
        return can_act_on_child(user, permission, child_local_authority_id=None)
    decision = _deny("no children")
    for local_authority_id in placed:
        decision = can_act_on_child(user, permission, child_local_authority_id=local_authority_id)
        if not decision:
            return decision
    return decision


def can_see_shielded_details(
    user: Any,
    *,
    child_local_authority_id: int | None,
    is_shielded: bool,
    reason: str = "",
    requester: str = "",
) -> Decision:
    """Whether ``user`` may see a child's location and contact details.

    A shielded child's address, postcode, school, GP and carers' and services' contact details are
    hidden from everyone except the directory team of the child's local authority, and even they must
    give a reason each time (the decision then has ``break_glass`` set).
    """
    if not is_shielded:
        return can_act_on_child(
            user,
            Permission.DIRECTORY_CHILD_VIEW,
            child_local_authority_id=child_local_authority_id,
            requester=requester,
            reason=reason,
        )
    if child_local_authority_id is None:
        return _deny("shielded, and the child has no local authority whose directory team could see it")
    decision = can(user, Permission.DIRECTORY_SHIELDED_VIEW, local_authority_id=child_local_authority_id)
    if not decision:
        return _deny("shielded: visible only to the directory team of the child's local authority")
    if not reason.strip():
        return _deny("shielded: give a reason to see the hidden details")
    return Decision(
        allowed=True,
        reason="shielded details shown for this view, with a recorded reason",
        local_authority_scope=decision.local_authority_scope,
        break_glass=True,
    )


def can_find_by_location(user: Any, *, child_local_authority_id: int | None, is_shielded: bool) -> bool:
    """Whether a search may match this child on location (postcode, address, setting).

    A shielded child can be found only by the fields that stay visible, so that a search cannot
    confirm where a child lives; the child's own directory team is the exception.
    """
    if not is_shielded:
        return True
    if child_local_authority_id is None:
        return False
    return bool(can(user, Permission.DIRECTORY_SHIELDED_VIEW, local_authority_id=child_local_authority_id))


def can_manage_involvement(
    user: Any, *, child_local_authority_id: int | None, owner_user_id: int | None
) -> Decision:
    """Whether ``user`` may add, change or end an involvement.

    Practitioners manage their own involvements (``owner_user_id`` is the user of the involvement's
    practitioner, or the user adding it); directory teams manage any within their local authority (not
    those of a child with no local authority, which is in no team's area).
    """
    team = can_act_on_child(
        user, Permission.DIRECTORY_INVOLVEMENT_MANAGE, child_local_authority_id=child_local_authority_id
    )
    if team:
        return team
    own = can(user, Permission.DIRECTORY_INVOLVEMENT_MANAGE_OWN)
    if not own:
        # Explain the refusal that applies: a team's is about the area, anyone else's about the role.
        return team if holds(user, Permission.DIRECTORY_INVOLVEMENT_MANAGE) else own
    if owner_user_id is None or owner_user_id != user.pk:
        return _deny("practitioners may change only their own involvements")
    return Decision(allowed=True, reason="your own involvement")


def can_grant_role(actor: Any, role: str, *, local_authority_id: int | None) -> Decision:
    """Whether ``actor`` may create (or change) an account with ``role`` in ``local_authority_id``."""
    decision = can(actor, Permission.ACCESS_USER_MANAGE, local_authority_id=local_authority_id)
    if not decision:
        return decision
    if decision.local_authority_scope is not None and local_authority_id is None:
        return _deny("outside your local authority")
    try:
        wanted = Role(role)
    except ValueError:
        return _deny(f"no such role: {role}")
    if wanted not in GRANTABLE_ROLES.get(Role(actor.role), frozenset()):
        return _deny(f"you may not give the {wanted.label.lower()} role")
    return decision
