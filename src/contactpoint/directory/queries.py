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

from django.db import connection, transaction
from django.utils import timezone

from contactpoint.access import policy
from contactpoint.access.permissions import Permission
from contactpoint.audit.services import record_event
from contactpoint.audit.tags import AuditAction
from contactpoint.core.identifiers import is_valid_contactpoint_id, normalise_contactpoint_id
from contactpoint.core.validators import postcode_district
from contactpoint.directory import identity, search
from contactpoint.directory.errors import (
    ChildMerged,
    ChildNotFound,
    DirectoryError,
    NotMergeable,
    SearchCriteriaError,
)
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
    status: str = Child.Status.ACTIVE  # active, or archived (only the area's team opens an archived record)
    in_a_local_authority: bool = True  # False: no directory team may act on it (correct, merge, shield)
    merged_from: str | None = None  # the identifier asked for, when its record was merged into this one


# Longer chains of merges than this are taken to be broken (a loop would be one).
MAX_MERGE_CHAIN = 50


def _surviving(child: Child | None) -> Child | None:
    """The record a merged child's identifier leads to now, following a chain of merges to its end.

    None when the chain is broken: it loops, is longer than :data:`MAX_MERGE_CHAIN`, or leads nowhere. An
    undone merge sets the child active again, so its identifier leads to itself once more.
    """
    seen: set[int] = set()
    while child is not None and child.status == Child.Status.MERGED:
        if child.pk in seen or len(seen) >= MAX_MERGE_CHAIN or child.merged_into_id is None:
            return None
        seen.add(child.pk)
        child = Child.objects.select_related("local_authority").filter(pk=child.merged_into_id).first()
    return child


def _get_child(contactpoint_id: str, *, archived_for: Any = None, follow_merges: bool = False) -> Child:
    """An active child; or an archived one when ``archived_for`` (a user) is the directory team of its area.

    Archived children (retention: adults, kept for the archive period) are invisible to everyone else,
    indistinguishable from children the directory never held. With ``follow_merges``, the identifier of a
    merged child gives the record it was merged into (the same rules then apply to that record).
    """
    identifier = normalise_contactpoint_id(contactpoint_id)
    if not is_valid_contactpoint_id(identifier):
        raise ChildNotFound("not a valid ContactPoint identifier (12 characters, e.g. K7QM-3XZD-9F2C)")
    statuses = [Child.Status.ACTIVE] + ([Child.Status.ARCHIVED] if archived_for is not None else [])
    if follow_merges:
        statuses.append(Child.Status.MERGED)
    child = (
        Child.objects.select_related("local_authority")
        .filter(contactpoint_id=identifier, status__in=statuses)
        .first()
    )
    if follow_merges:
        child = _surviving(child)
        if child is not None and child.status not in statuses:
            child = None  # led to an archived record, for someone who may not see archived records
    if child is not None and child.status == Child.Status.ARCHIVED and not policy.can_act_on_child(
        archived_for, Permission.DIRECTORY_ARCHIVED_VIEW, child_local_authority_id=child.local_authority_id
    ):
        child = None
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
    """(withhold details?, decision). Raises AccessDenied when the user may not see the child at all.

    A directory team may not open a child with no local authority (it is in no team's area, as in their
    search); practitioners and operators open it like any other child.
    """
    seen = policy.can_act_on_child(
        user, Permission.DIRECTORY_CHILD_VIEW, child_local_authority_id=child.local_authority_id,
        requester=requester, reason=reason,
    )
    if not seen:
        raise policy.AccessDenied(seen, str(Permission.DIRECTORY_CHILD_VIEW))
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
    follow_merges: bool = True,
    merged_from: str = "",
) -> ChildRecord:
    """A child's details, carers and current involvements, as this user may see them. Audited.

    A shielded child's directory team sees the hidden details only when they give ``reason``; that view
    is recorded as ``ACCESS_BREAK_GLASS`` as well as a view.

    The identifier of a child merged into another (``Child.merged_into``, followed to the end of a chain of
    merges) gives the surviving child's record, with ``merged_from`` set to the identifier asked for; the
    policy, shielding and audit are exactly those of a view of the survivor, and the events record the old
    identifier in ``details["merged_from"]``. With ``follow_merges=False`` it raises :class:`ChildMerged`
    instead, once the policy allows this user to view the survivor, and records nothing (nothing is shown
    but the survivor's identifier): the record page redirects, then asks again for the survivor, passing
    ``merged_from``, which is kept only if that identifier really leads to this child.
    """
    policy.require(user, Permission.DIRECTORY_CHILD_VIEW, requester=requester, reason=reason)
    today = today or timezone.localdate()
    asked_for = normalise_contactpoint_id(contactpoint_id)
    with transaction.atomic():
        child = _get_child(contactpoint_id, archived_for=user, follow_merges=True)
        withhold, decision = _details_decision(user, child, requester=requester, reason=reason)
        if child.contactpoint_id != asked_for:
            if not follow_merges:
                raise ChildMerged(merged_id=asked_for, surviving_id=child.contactpoint_id)
            merged_from = asked_for
        elif merged_from:
            merged_from = normalise_contactpoint_id(merged_from)
            if not is_valid_contactpoint_id(merged_from) or merged_from == child.contactpoint_id or _surviving(
                Child.objects.filter(contactpoint_id=merged_from).first()
            ) != child:
                merged_from = ""  # not an identifier of a record merged into this one: say nothing of it
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
                for c in identity.read_carers(child.pk)
            ]
        involvements = _involvements(child, user=user, withhold_contact=withhold, today=today)
        team = None
        if child.is_shielded and child.local_authority is not None:
            team = Contact(child.local_authority.directory_team_phone, child.local_authority.directory_team_email)
        common = {"children": [child.contactpoint_id], "requester": requester, "reason": reason,
                  "client_address": client_address}
        # The old identifier in the details, not in ``children``: the alert rules and subject access then
        # treat the view exactly as a view of the survivor (a merged row keeps its stale golden fields).
        via = {"merged_from": merged_from} if merged_from else {}
        if decision.break_glass:
            _audit(user, AuditAction.ACCESS_BREAK_GLASS, details=via, **common)
        _audit(user, AuditAction.ACCESS_CHILD_VIEW, details={"details_withheld": withhold, **via}, **common)
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
        status=child.status,
        in_a_local_authority=child.local_authority_id is not None,
        merged_from=merged_from or None,
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
        child = _get_child(contactpoint_id, archived_for=user)
        withhold, decision = _details_decision(user, child, requester=requester, reason=reason)
        views = _involvements(child, user=user, withhold_contact=withhold, today=today)
        common = {"children": [child.contactpoint_id], "requester": requester, "reason": reason,
                  "client_address": client_address}
        if decision.break_glass:
            _audit(user, AuditAction.ACCESS_BREAK_GLASS, **common)
        _audit(user, AuditAction.ACCESS_CHILD_VIEW, details={"details_withheld": withhold, "part": "involvements"},
               **common)
    return views


# Two records of one child: what the directory team compares before merging them --------------------


@dataclass(frozen=True)
class ChildSummary:
    """A child's golden record as a directory team compares it with another before merging the two.

    A shielded child's location is withheld here (``location`` is None): seeing it is a break-glass view,
    with a reason, from the child's record page.
    """

    contactpoint_id: str
    given_names: str
    family_name: str
    former_names: list[tuple[str, str]]
    date_of_birth: datetime.date | None
    sex: str
    nhs_number: str
    upn: str
    location: Location | None
    is_shielded: bool
    sources: list[tuple[str, int]]  # (source system's name, how many of its current records are linked)


def _summary(child: Child) -> ChildSummary:
    who = identity.read_identity(child)
    former = [(given, family) for kind, given, family in identity.read_names(child.pk) if kind == "former"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.name, count(*) FROM feeds_sourcerecord r JOIN feeds_sourcesystem s ON s.id = r.source_id "
            "WHERE r.child_id = %s AND r.retired_at IS NULL GROUP BY s.name ORDER BY s.name",
            [child.pk],
        )
        sources = [(str(name), int(count)) for name, count in cursor.fetchall()]
    location = None
    if not child.is_shielded:
        location = Location(who.address_line_1, who.address_line_2, who.town, who.postcode)
    return ChildSummary(
        contactpoint_id=child.contactpoint_id, given_names=who.given_names, family_name=who.family_name,
        former_names=former, date_of_birth=who.date_of_birth, sex=who.sex, nhs_number=who.nhs_number,
        upn=who.upn, location=location, is_shielded=child.is_shielded, sources=sources,
    )


def _may_merge(user: Any, child: Child) -> policy.Decision:
    # A child with no local authority is in no directory team's area (the corrections service says the same).
    return policy.can_act_on_child(
        user, Permission.MATCHING_REVIEW_DECIDE, child_local_authority_id=child.local_authority_id
    )


def _child_to_merge(user: Any, contactpoint_id: str) -> Child:
    """An active child in the user's own area that they may merge (ChildNotFound, or AccessDenied)."""
    child = _get_child(contactpoint_id)
    decision = _may_merge(user, child)
    if not decision:
        raise policy.AccessDenied(decision, str(Permission.MATCHING_REVIEW_DECIDE))
    return child


def get_child_to_merge(*, user: Any, contactpoint_id: str, client_address: str = "") -> ChildSummary:
    """The record a directory team member is merging from (active, in their area). Audited as a view."""
    policy.require(user, Permission.MATCHING_REVIEW_DECIDE)
    with transaction.atomic():
        child = _child_to_merge(user, contactpoint_id)
        summary = _summary(child)
        _audit(user, AuditAction.ACCESS_CHILD_VIEW, children=[child.contactpoint_id],
               client_address=client_address, details={"purpose": "merge"})
    return summary


def compare_children_to_merge(
    *, user: Any, contactpoint_id: str, other_contactpoint_id: str, client_address: str = ""
) -> tuple[ChildSummary, ChildSummary]:
    """Two records a directory team member believes are one child, side by side. Audited as one view of both.

    The first (the record they came from) must be theirs to merge: :class:`ChildNotFound` or
    :class:`~contactpoint.access.policy.AccessDenied` otherwise. The other was typed by them: when it is the
    same record, unknown, outside their area (recorded as a refusal), merged or archived,
    :class:`~contactpoint.directory.errors.NotMergeable` says so in words for the form.
    """
    policy.require(user, Permission.MATCHING_REVIEW_DECIDE)
    other_id = normalise_contactpoint_id(other_contactpoint_id)
    problem = ""
    summaries: tuple[ChildSummary, ChildSummary] | None = None
    with transaction.atomic():
        child = _child_to_merge(user, contactpoint_id)
        other = None
        if not is_valid_contactpoint_id(other_id):
            problem = "Enter a ContactPoint ID like K7QM-3XZD-9F2C"
        elif other_id == child.contactpoint_id:
            problem = "Enter the ContactPoint ID of the other record: this is the record you are merging from"
        else:
            other = Child.objects.filter(contactpoint_id=other_id).first()
        if other is None:
            problem = problem or "No child has this ContactPoint ID: check it and try again"
        else:
            decision = _may_merge(user, other)
            if not decision:
                # The identifier of a child elsewhere: refused, and recorded as a refusal naming the child.
                problem = (
                    "This child's record is held by another local authority: only their directory team can merge it"
                )
                _audit(user, AuditAction.ACCESS_DENIED, outcome="denied", children=[other.contactpoint_id],
                       client_address=client_address, reason=decision.reason,
                       details={"permission": str(Permission.MATCHING_REVIEW_DECIDE), "purpose": "merge"})
            elif other.status == Child.Status.MERGED:
                problem = "This record has already been merged into another record: use that record's ContactPoint ID"
            elif other.status != Child.Status.ACTIVE:
                problem = "This record is archived, so it can't be merged"
        if other is not None and not problem:
            summaries = (_summary(child), _summary(other))
            _audit(user, AuditAction.ACCESS_CHILD_VIEW, children=[child.contactpoint_id, other.contactpoint_id],
                   client_address=client_address, details={"purpose": "merge"})
    if summaries is None:
        raise NotMergeable(problem)  # after the transaction: a recorded refusal stays recorded
    return summaries


# System reads for oversight (alerts, subject access) --------------------------------------------------
# Internal: never for pages or API operations that show a child to a practitioner (those use the
# functions above). children_facts_for_alerting is called by the alert rules, which show nothing to
# anyone; read_child_holdings is access-checked (the child's own directory team) and audited.


@dataclass(frozen=True)
class ChildFactsForAlerting:
    """What the misuse alert rules compare an access with. Never shown; never written to the audit log."""

    family_name: str
    postcode: str
    local_authority_id: int | None
    is_shielded: bool
    involved_user_ids: frozenset[int]  # users with an involvement (their caseload), current or past


def children_facts_for_alerting(
    contactpoint_ids: list[str], *, with_caseloads: bool = True
) -> dict[str, ChildFactsForAlerting]:
    """Facts about these children (any status) for :mod:`contactpoint.alerts`. System use only: no policy check.

    ``with_caseloads=False`` leaves ``involved_user_ids`` empty and saves a query (for rules that ignore it).
    """
    ids = sorted({normalise_contactpoint_id(i) for i in contactpoint_ids})
    if not ids:
        return {}
    children = {c.pk: c for c in Child.objects.filter(contactpoint_id__in=ids)}
    involved: dict[int, set[int]] = {pk: set() for pk in children}
    if with_caseloads:
        rows = Involvement.objects.filter(child_id__in=list(children)).values_list(
            "child_id", "practitioner__user_id", "created_by_id"
        )
        for child_id, practitioner_user, created_by in rows:
            involved[child_id].update(u for u in (practitioner_user, created_by) if u is not None)
    facts = {}
    identities = identity.read_identities(children.values())  # (a child erased meanwhile has none: no facts)
    for pk, child in children.items():
        who = identities.get(pk)
        if who is None:
            continue
        facts[child.contactpoint_id] = ChildFactsForAlerting(
            family_name=who.family_name, postcode=who.postcode, local_authority_id=child.local_authority_id,
            is_shielded=child.is_shielded, involved_user_ids=frozenset(involved[pk]),
        )
    return facts


@dataclass(frozen=True)
class ChildHoldings:
    """Everything the directory holds about one child, for a subject access report (nothing withheld)."""

    contactpoint_id: str
    status: str
    local_authority: str  # "Name (code)", or ""
    is_shielded: bool
    golden: dict[str, Any]  # the golden record's identifying fields
    names: list[dict[str, str]]
    addresses: list[dict[str, Any]]
    carers: list[dict[str, Any]]
    involvements: list[dict[str, Any]]  # every one, ended and sensitive included, flagged
    shields: list[dict[str, Any]]
    source_records: list[dict[str, Any]]  # what each source sent, with provenance


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime.date | datetime.datetime) else value


def read_child_holdings(*, user: Any, contactpoint_id: str, reason: str, client_address: str = "") -> ChildHoldings:
    """All that is held about a child, for subject access. Only the directory team of the child's area may.

    Records ``EXPORT_SUBJECT_ACCESS`` (with ``reason``) in the same transaction; a shielded child's export
    is flagged ``shielded`` in the event so that the alert rules treat it as a break-glass view.
    """
    policy.require(user, Permission.DIRECTORY_SUBJECT_ACCESS_EXPORT)
    if not reason.strip():
        raise DirectoryError("give the reason for the subject access report (e.g. the request's reference)")
    with transaction.atomic():
        child = _get_child(contactpoint_id)
        allowed = policy.can_act_on_child(
            user, Permission.DIRECTORY_SUBJECT_ACCESS_EXPORT, child_local_authority_id=child.local_authority_id
        )
        if not allowed:
            raise policy.AccessDenied(allowed, str(Permission.DIRECTORY_SUBJECT_ACCESS_EXPORT))
        who = identity.read_identity(child)
        golden = {name: _iso(getattr(who, name)) for name in identity.IDENTIFYING_FIELDS}
        names = [{"kind": k, "given_names": g, "family_name": f} for k, g, f in identity.read_names(child.pk)]
        addresses = [
            {"is_current": a.is_current, "address_line_1": a.address_line_1, "address_line_2": a.address_line_2,
             "town": a.town, "postcode": a.postcode}
            for a in identity.read_addresses(child.pk)
        ]
        carers = [
            {"given_names": c.given_names, "family_name": c.family_name, "relationship": c.relationship,
             "phone": c.phone, "email": c.email, "source_record": c.source_record_id}
            for c in identity.read_carers(child.pk)
        ]
        involvements = []
        for inv in child.involvements.select_related("organisation", "practitioner", "created_by").order_by("id"):
            involvements.append({
                "service": ServiceType(inv.service_type).label, "service_type": inv.service_type,
                "organisation": inv.organisation.name if inv.organisation else "",
                "practitioner": inv.practitioner.name if inv.practitioner else "",
                "practitioner_role": inv.practitioner.role if inv.practitioner else "",
                "phone": (inv.practitioner.phone if inv.practitioner else "") or (
                    inv.organisation.phone if inv.organisation else ""),
                "email": (inv.practitioner.email if inv.practitioner else "") or (
                    inv.organisation.email if inv.organisation else ""),
                "started_on": _iso(inv.started_on), "ended_on": _iso(inv.ended_on),
                "is_lead_professional": inv.is_lead_professional, "caf_held": inv.caf_held,
                "sensitive": inv.is_sensitive, "consent_recorded": inv.consent_recorded,
                "origin": inv.origin, "source_record": inv.source_record_id,
                "entered_by": inv.created_by.username if inv.created_by else "",
            })
        shields = [
            {"shielded_at": _iso(s.shielded_at), "review_on": _iso(s.review_on), "reason": s.reason,
             "lifted_at": _iso(s.lifted_at), "lift_reason": s.lift_reason}
            for s in child.shields.order_by("shielded_at")
        ]
        source_records = _source_records_with_provenance(child.pk)
        authority = child.local_authority
        record_event(
            action=AuditAction.EXPORT_SUBJECT_ACCESS, actor=user, children=[child.contactpoint_id], reason=reason,
            client_address=client_address,
            details={"shielded": child.is_shielded, "source_records": len(source_records)},
        )
    return ChildHoldings(
        contactpoint_id=child.contactpoint_id, status=child.status,
        local_authority=f"{authority.name} ({authority.code})" if authority else "", is_shielded=child.is_shielded,
        golden=golden, names=names, addresses=addresses, carers=carers, involvements=involvements, shields=shields,
        source_records=source_records,
    )


def _source_records_with_provenance(child_pk: int) -> list[dict[str, Any]]:
    """Each source record linked to the child (retired ones too): its fields (via identity) and provenance."""
    fields = {r["record_key"]: r for r in identity.read_source_identities([child_pk], active_only=False)}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.id, s.code, s.name, r.source_record_id, fb.started_at, lb.started_at, r.updated_at, "
            "r.retired_at, r.link_method, r.link_score FROM feeds_sourcerecord r "
            "JOIN feeds_sourcesystem s ON s.id = r.source_id JOIN feeds_feedbatch fb ON fb.id = r.first_batch_id "
            "JOIN feeds_feedbatch lb ON lb.id = r.last_batch_id WHERE r.child_id = %s ORDER BY s.code, r.id",
            [child_pk],
        )
        rows = cursor.fetchall()
    records = []
    for key, code, name, srid, first, last, updated, retired, method, score in rows:
        sent = {k: _iso(v) for k, v in fields.get(key, {}).items() if k not in {"record_key", "source", "child_id"}}
        records.append({
            "id": key, "source": code, "source_name": name, "source_record_id": srid, "first_received": _iso(first),
            "last_received": _iso(last), "updated_at": _iso(updated), "retired_at": _iso(retired),
            "link_method": method, "link_score": score, "fields": sent,
        })
    return records
