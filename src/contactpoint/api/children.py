"""API operations on children: search, a child's record, and a practitioner's own involvements.

Thin by design: each operation parses its input, calls one function of
:mod:`contactpoint.directory.queries` (reads) or :mod:`contactpoint.directory.services` (writes) with the
token's user, and renders the answer. Access rules, shielding, anti-fishing and the audit trail all
live in the directory and access apps.

Operators act for someone else: they send ``X-Requester`` (who asked) and ``X-Reason`` (why) with every
search and record view; the policy refuses without them. A directory team member viewing a shielded
child in their own area sends ``X-Reason`` to see the hidden details (a recorded "break glass" view).
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Header, Path, Query, Router, Schema

from contactpoint.access.signin import client_address
from contactpoint.directory import queries, services
from contactpoint.directory.errors import DirectoryError
from contactpoint.directory.models import Involvement, ServiceType
from contactpoint.directory.search import SearchCriteria

router = Router(tags=["children"])

MAX_ID = 2**63 - 1  # involvement identifiers are PostgreSQL bigints


def _clean_header(name: str, value: str) -> str:
    value = value.strip()
    if len(value) > 500:
        raise DirectoryError(f"{name}: at most 500 characters")
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise DirectoryError(f"{name}: control characters are not allowed")
    return value


RequesterHeader = Annotated[
    str,
    Header(alias="X-Requester", description="Operators: the person you are acting for (name and organisation)."),
]
ReasonHeader = Annotated[
    str,
    Header(
        alias="X-Reason",
        description="Operators: why the search or view is needed. Directory teams: the reason to see a "
        "shielded child's hidden details (recorded, and alerts the team).",
    ),
]


# Search ----------------------------------------------------------------------------------------------


class SearchParams(Schema):
    given_name: str = Field("", max_length=100, description="Given name (at least two letters).")
    family_name: str = Field("", max_length=100, description="Family name (at least two letters).")
    date_of_birth: str = Field("", max_length=10, description="YYYY-MM-DD, YYYY-MM or YYYY.")
    postcode: str = Field("", max_length=10, description="A full postcode, current or former.")
    sex: str = Field("", max_length=7, description="F, M or U.")
    nhs_number: str = Field("", max_length=12, description="NHS number (enough on its own).")
    upn: str = Field("", max_length=13, description="Unique pupil number (enough on its own).")


class SearchResultOut(Schema):
    contactpoint_id: str
    given_names: str
    family_name: str
    date_of_birth: datetime.date | None
    sex: str
    town: str | None = Field(description="Coarse location; null when withheld (shielded child).")
    postcode_district: str | None = Field(description="Outward code only; null when withheld.")
    score: float = Field(description="How well the child matches, 0–1; results are best first.")


class SearchOut(Schema):
    results: list[SearchResultOut]
    too_many: bool = Field(description="More than 20 plausible matches: none are listed; add detail.")
    message: str


class Problem(Schema):
    detail: str


class InvalidInput(Schema):
    """Input that does not fit the schema (django-ninja's validation answer): where and why."""

    detail: list[dict[str, Any]]


@router.get(
    "/search",
    response={200: SearchOut, 400: Problem, 401: Problem, 403: Problem, 422: InvalidInput},
    summary="Find a child",
    description=(
        "Minimum criteria: a family name with a full date of birth, or with a postcode, or with a given "
        "name and year (or year and month) of birth; or an NHS number or UPN alone. At most 20 results, best "
        "first; more plausible matches than that gives too_many=true and no list. Every child listed is "
        "recorded as accessed by you."
    ),
)
def search(
    request: HttpRequest,
    params: Query[SearchParams],
    requester: RequesterHeader = "",
    reason: ReasonHeader = "",
) -> SearchOut:
    outcome = queries.search_children(
        user=request.auth,  # type: ignore[attr-defined]
        criteria=SearchCriteria(**params.dict()),
        requester=_clean_header("X-Requester", requester),
        reason=_clean_header("X-Reason", reason),
        client_address=client_address(request),
    )
    return SearchOut(
        results=[SearchResultOut(**vars(result)) for result in outcome.results],
        too_many=outcome.too_many,
        message=outcome.message,
    )


# A child's record ------------------------------------------------------------------------------------


class ContactOut(Schema):
    phone: str
    email: str


class NameOut(Schema):
    given_names: str
    family_name: str


class LocationOut(Schema):
    address_line_1: str
    address_line_2: str
    town: str
    postcode: str


class CarerOut(Schema):
    given_names: str
    family_name: str
    relationship: str
    contact: ContactOut


class InvolvementOut(Schema):
    id: int
    service_type: str
    service: str
    organisation: str | None
    practitioner: str | None
    role: str | None
    contact: ContactOut | None = Field(description="Null when withheld (shielded child).")
    since: datetime.date | None
    is_lead_professional: bool
    caf_held: bool
    origin: str = Field(description="feed (from a source system) or practitioner (entered here).")
    yours: bool = Field(description="Whether this is your own involvement (you may end it and set its flags).")


class ChildOut(Schema):
    contactpoint_id: str
    given_names: str
    family_name: str
    former_names: list[NameOut]
    date_of_birth: datetime.date | None
    sex: str
    shielded: bool = Field(description="True when location and contact details are withheld from you.")
    withheld: list[str]
    location: LocationOut | None
    carers: list[CarerOut]
    involvements: list[InvolvementOut]
    directory_team: ContactOut | None = Field(description="Whom to contact about a shielded child.")
    merged_from: str | None = Field(
        None,
        description="The identifier you asked for, when its record was merged into this one (which is then "
        "the child's record: use contactpoint_id from now on); null when you asked for this record itself.",
    )


ContactPointId = Annotated[str, Path(max_length=20, description="The child's ContactPoint identifier.")]


@router.get(
    "/children/{contactpoint_id}",
    response={200: ChildOut, 400: Problem, 401: Problem, 403: Problem, 404: Problem, 422: InvalidInput},
    summary="A child's record: details, carers and current involvements",
    description=(
        "Recorded as a view of the child. The identifier of a record that was merged into another still "
        "works: the answer is the surviving record (200, not a redirect: the same access rules, shielding and "
        "audit as asking for it directly, in one call), with contactpoint_id the surviving identifier and "
        "merged_from the one you asked for. A merge that is undone makes the old identifier answer with its "
        "own record again."
    ),
)
def child_record(
    request: HttpRequest,
    contactpoint_id: ContactPointId,
    requester: RequesterHeader = "",
    reason: ReasonHeader = "",
) -> ChildOut:
    record = queries.get_child_record(
        user=request.auth,  # type: ignore[attr-defined]
        contactpoint_id=contactpoint_id,
        requester=_clean_header("X-Requester", requester),
        reason=_clean_header("X-Reason", reason),
        client_address=client_address(request),
    )
    return ChildOut(
        contactpoint_id=record.contactpoint_id,
        given_names=record.given_names,
        family_name=record.family_name,
        former_names=[NameOut(given_names=g, family_name=f) for g, f in record.former_names],
        date_of_birth=record.date_of_birth,
        sex=record.sex,
        shielded=record.shielded,
        withheld=record.withheld,
        location=LocationOut(**vars(record.location)) if record.location else None,
        carers=[
            CarerOut(given_names=c.given_names, family_name=c.family_name, relationship=c.relationship,
                     contact=ContactOut(**vars(c.contact)))
            for c in record.carers
        ],
        involvements=[
            InvolvementOut(**{**vars(i), "contact": ContactOut(**vars(i.contact)) if i.contact else None})
            for i in record.involvements
        ],
        directory_team=ContactOut(**vars(record.directory_team)) if record.directory_team else None,
        merged_from=record.merged_from,
    )


# Involvements ----------------------------------------------------------------------------------------


class AddInvolvementIn(Schema):
    service_type: ServiceType
    role: str = Field("", max_length=100, description="Your role, e.g. school nurse.")
    started_on: datetime.date | None = Field(None, description="Defaults to today.")
    is_lead_professional: bool = False
    caf_held: bool = False
    consent_recorded: bool = Field(False, description="Needed for a sensitive service's involvement to be shown.")


class EndInvolvementIn(Schema):
    ended_on: datetime.date | None = Field(None, description="Defaults to today.")


class FlagsIn(Schema):
    is_lead_professional: bool | None = Field(None, description="Set, clear, or leave (null).")
    caf_held: bool | None = Field(None, description="Set, clear, or leave (null).")


class InvolvementChangedOut(Schema):
    id: int
    service_type: str
    started_on: datetime.date | None
    ended_on: datetime.date | None
    is_lead_professional: bool
    caf_held: bool


def _changed(involvement: Involvement) -> InvolvementChangedOut:
    return InvolvementChangedOut(
        id=involvement.pk,
        service_type=involvement.service_type,
        started_on=involvement.started_on,
        ended_on=involvement.ended_on,
        is_lead_professional=involvement.is_lead_professional,
        caf_held=involvement.caf_held,
    )


InvolvementId = Annotated[int, Path(ge=1, le=MAX_ID, description="The involvement's identifier.")]


@router.post(
    "/children/{contactpoint_id}/involvements",
    response={201: InvolvementChangedOut, 400: Problem, 401: Problem, 403: Problem, 404: Problem, 422: InvalidInput},
    summary="Add your own involvement with a child",
)
def add_involvement(
    request: HttpRequest, contactpoint_id: ContactPointId, body: AddInvolvementIn
) -> tuple[int, InvolvementChangedOut]:
    involvement = services.add_involvement(
        actor=request.auth,  # type: ignore[attr-defined]
        contactpoint_id=contactpoint_id,
        service_type=body.service_type.value,
        role=body.role,
        started_on=body.started_on,
        is_lead_professional=body.is_lead_professional,
        caf_held=body.caf_held,
        consent_recorded=body.consent_recorded,
    )
    return 201, _changed(involvement)


@router.post(
    "/involvements/{involvement_id}/end",
    response={200: InvolvementChangedOut, 400: Problem, 401: Problem, 403: Problem, 404: Problem, 422: InvalidInput},
    summary="End your own involvement",
)
def end_involvement(
    request: HttpRequest, involvement_id: InvolvementId, body: EndInvolvementIn
) -> InvolvementChangedOut:
    involvement = services.end_involvement(
        actor=request.auth,  # type: ignore[attr-defined]
        involvement_id=involvement_id,
        ended_on=body.ended_on,
    )
    return _changed(involvement)


@router.patch(
    "/involvements/{involvement_id}",
    response={200: InvolvementChangedOut, 400: Problem, 401: Problem, 403: Problem, 404: Problem, 422: InvalidInput},
    summary="Set or clear the lead-professional and CAF flags on your own involvement",
)
def set_flags(request: HttpRequest, involvement_id: InvolvementId, body: FlagsIn) -> InvolvementChangedOut:
    involvement = services.set_involvement_flags(
        actor=request.auth,  # type: ignore[attr-defined]
        involvement_id=involvement_id,
        is_lead_professional=body.is_lead_professional,
        caf_held=body.caf_held,
    )
    return _changed(involvement)
