"""Writes to the directory by people: involvements, their two flags, and shielding.

Every service takes keyword arguments and an explicit ``actor`` (the :class:`~contactpoint.access.models.User`
acting), asks :mod:`contactpoint.access.policy`, runs in one transaction and records its audit event in
that transaction. Feeds write through :mod:`contactpoint.ingest.pipeline` instead, and replace only the
involvements they sent (``origin='feed'``); those entered here (``origin='practitioner'``) are never
touched by a feed, and feed involvements can't be changed here (the next feed would undo it).
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from contactpoint.access import policy
from contactpoint.access.models import User
from contactpoint.access.permissions import Permission
from contactpoint.audit.services import record_event
from contactpoint.audit.tags import AuditAction
from contactpoint.core.identifiers import is_valid_contactpoint_id, normalise_contactpoint_id
from contactpoint.directory.errors import ChildNotFound, DirectoryError, InvolvementNotFound
from contactpoint.directory.models import Child, Involvement, Practitioner, ServiceType, Shield


def _child_for_update(contactpoint_id: str) -> Child:
    identifier = normalise_contactpoint_id(contactpoint_id)
    if not is_valid_contactpoint_id(identifier):
        raise ChildNotFound("not a valid ContactPoint identifier (12 characters, e.g. K7QM-3XZD-9F2C)")
    child = Child.objects.select_for_update().filter(contactpoint_id=identifier, status=Child.Status.ACTIVE).first()
    if child is None:
        raise ChildNotFound("no child with this ContactPoint identifier")
    return child


def _practitioner_for(user: User) -> Practitioner:
    """The directory's practitioner entry for a user, made from their account the first time."""
    practitioner = Practitioner.objects.filter(user=user).first()
    if practitioner is None:
        practitioner = Practitioner.objects.create(
            user=user,
            name=user.get_full_name() or user.username,
            organisation=user.organisation,
            phone=user.phone,
            email=user.email,
        )
    return practitioner


def _owner_user_id(involvement: Involvement) -> int | None:
    if involvement.practitioner is not None and involvement.practitioner.user_id is not None:
        return involvement.practitioner.user_id
    return involvement.created_by_id


def _involvement_for_update(actor: User, involvement_id: int) -> Involvement:
    involvement = (
        Involvement.objects.select_for_update(of=("self",))
        .select_related("child", "practitioner")
        .filter(pk=involvement_id, child__status=Child.Status.ACTIVE)
        .first()
    )
    if involvement is None:
        raise InvolvementNotFound("no involvement with this identifier")
    decision = policy.can_manage_involvement(
        actor, child_local_authority_id=involvement.child.local_authority_id, owner_user_id=_owner_user_id(involvement)
    )
    if not decision:
        raise policy.AccessDenied(decision, str(Permission.DIRECTORY_INVOLVEMENT_MANAGE_OWN))
    if involvement.origin == Involvement.Origin.FEED:
        raise DirectoryError(
            "this involvement comes from a source system's feed and changes only when the source sends it"
        )
    if involvement.ended_on is not None and involvement.ended_on <= timezone.localdate():
        raise DirectoryError("this involvement has already ended")
    return involvement


@transaction.atomic
def add_involvement(
    *,
    actor: User,
    contactpoint_id: str,
    service_type: str,
    role: str = "",
    started_on: datetime.date | None = None,
    is_lead_professional: bool = False,
    caf_held: bool = False,
    consent_recorded: bool = False,
) -> Involvement:
    """Record that ``actor`` (a practitioner) is in contact with a child, from ``started_on`` (today)."""
    child = _child_for_update(contactpoint_id)
    decision = policy.can_manage_involvement(
        actor, child_local_authority_id=child.local_authority_id, owner_user_id=actor.pk
    )
    if not decision:
        raise policy.AccessDenied(decision, str(Permission.DIRECTORY_INVOLVEMENT_MANAGE_OWN))
    if service_type not in ServiceType.values:
        raise DirectoryError(f"unknown service type {service_type!r}; choose from {', '.join(ServiceType.values)}")
    today = timezone.localdate()
    started_on = started_on or today
    if started_on > today:
        raise DirectoryError("an involvement can't start in the future")
    practitioner = _practitioner_for(actor)
    if role and practitioner.role != role:
        practitioner.role = role[:100]
        practitioner.save(update_fields=["role"])
    open_already = (
        Involvement.objects.filter(child=child, practitioner=practitioner, service_type=service_type)
        .exclude(ended_on__lte=today)
        .exists()
    )
    if open_already:
        raise DirectoryError("you already have a current involvement of this kind with this child")
    involvement = Involvement.objects.create(
        child=child,
        service_type=service_type,
        organisation=actor.organisation,
        practitioner=practitioner,
        started_on=started_on,
        is_lead_professional=is_lead_professional,
        caf_held=caf_held,
        consent_recorded=consent_recorded,
        origin=Involvement.Origin.PRACTITIONER,
        created_by=actor,
    )
    record_event(
        action=AuditAction.DIRECTORY_INVOLVEMENT_ADD,
        actor=actor,
        children=[child.contactpoint_id],
        details={
            "involvement": involvement.pk,
            "service_type": service_type,
            "lead_professional": is_lead_professional,
            "caf_held": caf_held,
        },
    )
    return involvement


@transaction.atomic
def end_involvement(*, actor: User, involvement_id: int, ended_on: datetime.date | None = None) -> Involvement:
    """End one of ``actor``'s involvements (directory teams may end any in their area) on ``ended_on``."""
    involvement = _involvement_for_update(actor, involvement_id)
    today = timezone.localdate()
    ended_on = ended_on or today
    if ended_on > today:
        raise DirectoryError("an involvement can't be ended in the future; end it on the day")
    if involvement.started_on is not None and ended_on < involvement.started_on:
        raise DirectoryError("an involvement can't end before it started")
    involvement.ended_on = ended_on
    involvement.save(update_fields=["ended_on", "updated_at"])
    record_event(
        action=AuditAction.DIRECTORY_INVOLVEMENT_END,
        actor=actor,
        children=[involvement.child.contactpoint_id],
        details={"involvement": involvement.pk},
    )
    return involvement


@transaction.atomic
def set_involvement_flags(
    *,
    actor: User,
    involvement_id: int,
    is_lead_professional: bool | None = None,
    caf_held: bool | None = None,
) -> Involvement:
    """Set or clear "I am the lead professional" and "a CAF is held" on one of ``actor``'s involvements.

    ``None`` leaves a flag as it is.
    """
    involvement = _involvement_for_update(actor, involvement_id)
    changed = {}
    if is_lead_professional is not None and is_lead_professional != involvement.is_lead_professional:
        involvement.is_lead_professional = is_lead_professional
        changed["lead_professional"] = is_lead_professional
    if caf_held is not None and caf_held != involvement.caf_held:
        involvement.caf_held = caf_held
        changed["caf_held"] = caf_held
    if changed:
        involvement.save(update_fields=["is_lead_professional", "caf_held", "updated_at"])
        record_event(
            action=AuditAction.DIRECTORY_INVOLVEMENT_CHANGE,
            actor=actor,
            children=[involvement.child.contactpoint_id],
            details={"involvement": involvement.pk, **changed},
        )
    return involvement


# Shielding -------------------------------------------------------------------------------------------


def _require_shield_permission(actor: User, child: Child) -> None:
    # A child with no local authority is in no team's area: no one can decide on its shielding.
    decision = policy.can_act_on_child(
        actor, Permission.DIRECTORY_CHILD_SHIELD, child_local_authority_id=child.local_authority_id
    )
    if not decision:
        raise policy.AccessDenied(decision, str(Permission.DIRECTORY_CHILD_SHIELD))


@transaction.atomic
def shield_child(*, actor: User, contactpoint_id: str, reason: str, review_on: datetime.date) -> Shield:
    """Shield a child: hide location and contact details from all but the area's directory team."""
    if not reason.strip():
        raise DirectoryError("give the reason for shielding")
    if review_on <= timezone.localdate():
        raise DirectoryError("the review date must be in the future")
    child = _child_for_update(contactpoint_id)
    _require_shield_permission(actor, child)
    if child.is_shielded:
        raise DirectoryError("this child is already shielded")
    shield = Shield.objects.create(child=child, reason=reason.strip()[:500], review_on=review_on, shielded_by=actor)
    child.is_shielded = True
    child.save(update_fields=["is_shielded", "updated_at"])
    record_event(
        action=AuditAction.DIRECTORY_SHIELD,
        actor=actor,
        children=[child.contactpoint_id],
        reason=reason.strip(),
        details={"shield": shield.pk, "review_on": review_on.isoformat()},
    )
    return shield


@transaction.atomic
def unshield_child(*, actor: User, contactpoint_id: str, reason: str) -> Shield:
    """Lift a child's shield (the shield's history is kept)."""
    if not reason.strip():
        raise DirectoryError("give the reason for lifting the shield")
    child = _child_for_update(contactpoint_id)
    _require_shield_permission(actor, child)
    shield = Shield.objects.select_for_update().filter(child=child, lifted_at__isnull=True).first()
    if not child.is_shielded or shield is None:
        raise DirectoryError("this child is not shielded")
    shield.lifted_at = timezone.now()
    shield.lifted_by = actor
    shield.lift_reason = reason.strip()[:500]
    shield.save(update_fields=["lifted_at", "lifted_by", "lift_reason"])
    child.is_shielded = False
    child.save(update_fields=["is_shielded", "updated_at"])
    record_event(
        action=AuditAction.DIRECTORY_UNSHIELD,
        actor=actor,
        children=[child.contactpoint_id],
        reason=reason.strip(),
        details={"shield": shield.pk},
    )
    return shield


def rebuild_search_index(*, by: str, batch_size: int = 50_000, progress: Any = None) -> int:
    """Rebuild every child's search tokens from its sealed rows; audited.

    Run after the master key (hence the index key) changes, or after a change to how tokens are made.
    ``by`` names the operator (recorded). Returns the number of children.
    """
    from contactpoint.directory import identity

    children = identity.rebuild_search_index(batch_size=batch_size, progress=progress)
    with transaction.atomic():
        record_event(action=AuditAction.DIRECTORY_SEARCH_INDEX_REBUILD, actor=None,
                     system_actor=f"search-index:{by}", details={"index": "tokens", "children": children})
    return children
