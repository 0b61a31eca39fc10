"""The one access-checked path for reading child data: search, a child's record, its involvements.

Pages, the JSON API and commands call these functions and nothing else to read children
(tests/directory/test_read_path.py fails if code outside the directory app touches ``Child.objects``,
``Involvement.objects`` or ``Carer.objects``). Each function takes the requesting user, asks
:mod:`contactpoint.access.policy`, applies shielding, and records what was shown in the audit trail in
the same transaction as the read.

Shielding, as applied here: a shielded child's location and contact details (address, postcode, town,
carers, educational setting, GP, and every involvement's organisation, practitioner and contact details)
are withheld from everyone except the directory team of the child's local authority, who must also give
a reason each time (a "break glass" view, recorded as such). A shielded child is never returned by a
search that used a postcode, and is returned only when the name, sex and date of birth alone match well
enough.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field, replace
from typing import Any

from django.db import transaction
from django.utils import timezone

from contactpoint.access import policy
from contactpoint.access.permissions import Permission
from contactpoint.audit.services import record_event
from contactpoint.audit.tags import AuditAction
from contactpoint.core.identifiers import is_valid_contactpoint_id, normalise_contactpoint_id
from contactpoint.core.validators import postcode_district
from contactpoint.directory import identity, search
from contactpoint.directory.errors import ChildNotFound, SearchCriteriaError
from contactpoint.directory.models import SENSITIVE_SERVICES, Child, Involvement, ServiceType
from contactpoint.directory.search import SearchCriteria

# Services whose very name tells where a child is (which school, which surgery): withheld when shielded.
LOCATING_SERVICES = frozenset({ServiceType.SCHOOL, ServiceType.GP})


@dataclass(frozen=True)
class SearchResult:
    contactpoint_id: str
    given_names: str
    family_name: str
    date_of_birth: datetime.date | None
    sex: str
    town: str | None  # coarse location; None when withheld
    postcode_district: str | None
    score: float


@dataclass(frozen=True)
class SearchOutcome:
    results: list[SearchResult]
    too_many: bool

    @property
    def message(self) -> str:
        if self.too_many:
            return "too many matches — add detail (a full date of birth, a given name or a postcode)"
        if not self.results:
            return "no matches"
        return ""


def _audit(actor: Any, action: AuditAction, **kwargs: Any) -> None:
    record_event(action=action, actor=actor, **kwargs)


def search_children(
    *,
    user: Any,
    criteria: SearchCriteria,
    requester: str = "",
    reason: str = "",
    client_address: str = "",
    today: datetime.date | None = None,
) -> SearchOutcome:
    """Search the directory for a child. Every child shown is recorded as accessed.

    Raises :class:`~contactpoint.access.policy.AccessDenied` when the policy refuses (operators must
    give ``requester`` and ``reason``) and :class:`~contactpoint.directory.errors.SearchCriteriaError`
    when the criteria are not enough or malformed (the refusal is recorded too).
    """
    decision = policy.require(user, Permission.DIRECTORY_CHILD_SEARCH, requester=requester, reason=reason)
    fields_given = criteria.fields_given()
    try:
        parsed = search.parse_criteria(criteria, today=today or timezone.localdate())
    except SearchCriteriaError:
        with transaction.atomic():
            _audit(
                user, AuditAction.ACCESS_SEARCH, outcome="refused", requester=requester, reason=reason,
                client_address=client_address, details={"criteria": fields_given, "shown": 0},
            )
        raise
    with transaction.atomic():
        matches = search.find_matches(parsed, local_authority_id=decision.local_authority_scope)
        findable = []
        for match in matches:
            candidate = match.candidate
            if candidate.is_shielded and not policy.can_find_by_location(
                user, child_local_authority_id=candidate.local_authority_id, is_shielded=True
            ):
                # Never by postcode, and only on the fields a shielded child still shows.
                if parsed.postcode or match.visible_score is None:
                    continue
                match = replace(match, score=round(match.visible_score, 3))
            findable.append(match)
        findable.sort(key=lambda m: (-m.score, m.candidate.contactpoint_id))
        selection = search.select(findable)
        listed = identity.read_listed_children([m.candidate.child_id for m in selection.matches])
        results = []
        for match in selection.matches:
            child = listed[match.candidate.child_id]
            hide_location = child.is_shielded
            results.append(
                SearchResult(
                    contactpoint_id=child.contactpoint_id,
                    given_names=child.given_names,
                    family_name=child.family_name,
                    date_of_birth=child.date_of_birth,
                    sex=child.sex,
                    town=None if hide_location else (child.town or None),
                    postcode_district=None if hide_location or not child.postcode else postcode_district(
                        child.postcode
                    ),
                    score=match.score,
                )
            )
        _audit(
            user,
            AuditAction.ACCESS_SEARCH,
            outcome="too_many" if selection.too_many else "success",
            children=[r.contactpoint_id for r in results],
            requester=requester,
            reason=reason,
            client_address=client_address,
            details={"criteria": fields_given, "shown": len(results)},
        )
    return SearchOutcome(results=results, too_many=selection.too_many)


def count_active_children() -> int:
    """How many children the directory holds (no child data: for loaders, health checks and reports)."""
    return Child.objects.filter(status=Child.Status.ACTIVE).count()


# One child's record ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Contact:
    phone: str
    email: str


@dataclass(frozen=True)
class InvolvementView:
    id: int
    service_type: str
    service: str
    organisation: str | None
    practitioner: str | None
    role: str | None
    contact: Contact | None
    since: datetime.date | None
    is_lead_professional: bool
    caf_held: bool
    origin: str
    yours: bool


@dataclass(frozen=True)
class CarerView:
    given_names: str
    family_name: str
    relationship: str
    contact: Contact


@dataclass(frozen=True)
class Location:
    address_line_1: str
    address_line_2: str
    town: str
    postcode: str


@dataclass(frozen=True)
class ChildRecord:
    contactpoint_id: str
    given_names: str
    family_name: str
    former_names: list[tuple[str, str]]
    date_of_birth: datetime.date | None
    sex: str
    shielded: bool  # True only when details are being withheld from this user
    location: Location | None
    carers: list[CarerView]
    involvements: list[InvolvementView]
    directory_team: Contact | None  # whom to ask about a shielded child
    withheld: list[str] = field(default_factory=list)


def _get_child(contactpoint_id: str) -> Child:
    identifier = normalise_contactpoint_id(contactpoint_id)
    if not is_valid_contactpoint_id(identifier):
        raise ChildNotFound("not a valid ContactPoint identifier (12 characters, e.g. K7QM-3XZD-9F2C)")
    child = (
        Child.objects.select_related("local_authority")
        .filter(contactpoint_id=identifier, status=Child.Status.ACTIVE)
        .first()
    )
    if child is None:
        raise ChildNotFound("no child with this ContactPoint identifier")
    return child


def _involvements(child: Child, *, user: Any, withhold_contact: bool, today: datetime.date) -> list[InvolvementView]:
    rows = (
        Involvement.objects.filter(child=child)
        .exclude(ended_on__lte=today)
        .select_related("organisation", "practitioner")
        .order_by("service_type", "started_on", "id")
    )
    views = []
    for involvement in rows:
        if involvement.service_type in SENSITIVE_SERVICES and not involvement.consent_recorded:
            continue  # sensitive services appear only with recorded consent
        if withhold_contact and involvement.service_type in LOCATING_SERVICES:
            continue
        practitioner = involvement.practitioner
        organisation = involvement.organisation
        contact = None
        if not withhold_contact:
            phone = (practitioner.phone if practitioner else "") or (organisation.phone if organisation else "")
            email = (practitioner.email if practitioner else "") or (organisation.email if organisation else "")
            contact = Contact(phone=phone, email=email)
        views.append(
            InvolvementView(
                id=involvement.pk,
                service_type=involvement.service_type,
                service=ServiceType(involvement.service_type).label,
                organisation=None if withhold_contact or organisation is None else organisation.name,
                practitioner=None if withhold_contact or practitioner is None else practitioner.name,
                role=None if withhold_contact or practitioner is None else practitioner.role,
                contact=contact,
                since=involvement.started_on,
                is_lead_professional=involvement.is_lead_professional,
                caf_held=involvement.caf_held,
                origin=involvement.origin,
                yours=practitioner is not None and practitioner.user_id is not None and practitioner.user_id == user.pk,
            )
        )
    return views


def _details_decision(
    user: Any, child: Child, *, requester: str, reason: str
) -> tuple[bool, policy.Decision]:
    """(withhold details?, decision). Raises AccessDenied when the user may not see the child at all."""
    policy.require(
        user, Permission.DIRECTORY_CHILD_VIEW, local_authority_id=child.local_authority_id,
        requester=requester, reason=reason,
    )
    decision = policy.can_see_shielded_details(
        user, child_local_authority_id=child.local_authority_id, is_shielded=child.is_shielded,
        reason=reason, requester=requester,
    )
    return not decision.allowed, decision


def get_child_record(
    *,
    user: Any,
    contactpoint_id: str,
    requester: str = "",
    reason: str = "",
    client_address: str = "",
    today: datetime.date | None = None,
) -> ChildRecord:
    """A child's details, carers and current involvements, as this user may see them. Audited.

    A shielded child's directory team sees the hidden details only when they give ``reason``; that view
    is recorded as ``ACCESS_BREAK_GLASS`` as well as a view.
    """
    policy.require(user, Permission.DIRECTORY_CHILD_VIEW, requester=requester, reason=reason)
    today = today or timezone.localdate()
    with transaction.atomic():
        child = _get_child(contactpoint_id)
        withhold, decision = _details_decision(user, child, requester=requester, reason=reason)
        who = identity.read_identity(child)
        former = [(given, family) for kind, given, family in identity.read_names(child.pk) if kind == "former"]
        location = None
        carers: list[CarerView] = []
        withheld: list[str] = []
        if withhold:
            withheld = ["address", "carers", "educational setting", "GP practice", "contact details"]
        else:
            location = Location(who.address_line_1, who.address_line_2, who.town, who.postcode)
            carers = [
                CarerView(c.given_names, c.family_name, c.relationship, Contact(c.phone, c.email))
                for c in child.carers.order_by("id")
            ]
        involvements = _involvements(child, user=user, withhold_contact=withhold, today=today)
        team = None
        if child.is_shielded and child.local_authority is not None:
            team = Contact(child.local_authority.directory_team_phone, child.local_authority.directory_team_email)
        common = {"children": [child.contactpoint_id], "requester": requester, "reason": reason,
                  "client_address": client_address}
        if decision.break_glass:
            _audit(user, AuditAction.ACCESS_BREAK_GLASS, **common)
        _audit(user, AuditAction.ACCESS_CHILD_VIEW, details={"details_withheld": withhold}, **common)
    return ChildRecord(
        contactpoint_id=child.contactpoint_id,
        given_names=who.given_names,
        family_name=who.family_name,
        former_names=former,
        date_of_birth=who.date_of_birth,
        sex=who.sex,
        shielded=withhold,
        location=location,
        carers=carers,
        involvements=involvements,
        directory_team=team,
        withheld=withheld,
    )


def list_involvements(
    *,
    user: Any,
    contactpoint_id: str,
    requester: str = "",
    reason: str = "",
    client_address: str = "",
    today: datetime.date | None = None,
) -> list[InvolvementView]:
    """A child's current involvements as this user may see them (shielding and consent applied). Audited."""
    policy.require(user, Permission.DIRECTORY_CHILD_VIEW, requester=requester, reason=reason)
    today = today or timezone.localdate()
    with transaction.atomic():
        child = _get_child(contactpoint_id)
        withhold, decision = _details_decision(user, child, requester=requester, reason=reason)
        views = _involvements(child, user=user, withhold_contact=withhold, today=today)
        common = {"children": [child.contactpoint_id], "requester": requester, "reason": reason,
                  "client_address": client_address}
        if decision.break_glass:
            _audit(user, AuditAction.ACCESS_BREAK_GLASS, **common)
        _audit(user, AuditAction.ACCESS_CHILD_VIEW, details={"details_withheld": withhold, "part": "involvements"},
               **common)
    return views
