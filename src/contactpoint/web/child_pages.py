"""Finding a child and their record: search, the record, the practitioner's own involvements, shielding.

Every read of child data goes through :mod:`contactpoint.directory.queries` and every write through
:mod:`contactpoint.directory.services`; both apply the access policy, shielding and anti-fishing rules
and write the audit trail. These views only parse forms, call one of them and render.

Nothing typed about a child travels in a URL: the search form posts, and records are addressed by the
opaque ContactPoint identifier. Operators first say whom they are acting for and why; that is kept in
the session (never in a URL) and sent with each search and record view until they change it.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from contactpoint.access.permissions import ROLES_ACTING_FOR_A_REQUESTER, Permission
from contactpoint.access.policy import holds, require
from contactpoint.access.signin import client_address
from contactpoint.core.identifiers import normalise_contactpoint_id
from contactpoint.directory import queries, services
from contactpoint.directory.errors import ChildMerged, ChildNotFound, DirectoryError, SearchCriteriaError
from contactpoint.directory.models import SENSITIVE_SERVICES, Child, ServiceType
from contactpoint.directory.search import SearchCriteria
from contactpoint.web.actor import actor
from contactpoint.web.forms import (
    ActingForForm,
    EndInvolvementForm,
    FlagsForm,
    HiddenDetailsForm,
    InvolvementForm,
    SearchForm,
    ShieldForm,
    UnshieldForm,
)

ACTING_FOR = "contactpoint.acting_for"
# A merged-away identifier redirects to the surviving record; which identifier was asked for rides in the
# session (never in the URL) to that one page view, which says so and records it.
MERGED_FROM = "contactpoint.merged_from"

# The search's messages start with the field they are about; the page links each to its input.
SEARCH_FIELD_INPUTS = {
    "given_name": "id_given_name",
    "family_name": "id_family_name",
    "date_of_birth": "id_dob_day",
    "postcode": "id_postcode",
    "sex": "id_sex",
    "nhs_number": "id_nhs_number",
    "upn": "id_upn",
}

SEARCH_FIELD_LABELS = {
    "given_name": "Given name",
    "family_name": "Family name",
    "date_of_birth": "Date of birth",
    "postcode": "Postcode",
    "sex": "Sex",
    "nhs_number": "NHS number",
    "upn": "Unique pupil number",
}


def _posted(request: HttpRequest) -> Any:
    """The posted data for a bound form, or None on GET (an empty POST must still show its errors)."""
    return request.POST if request.method == "POST" else None


def _acts_for_someone(request: HttpRequest) -> bool:
    return getattr(request.user, "role", None) in ROLES_ACTING_FOR_A_REQUESTER


def _acting_for(request: HttpRequest) -> dict[str, str]:
    """The operator's requester and reason ({} for everyone else: they act for themselves)."""
    if not _acts_for_someone(request):
        return {}
    value = request.session.get(ACTING_FOR) or {}
    return {"requester": str(value.get("requester", "")), "reason": str(value.get("reason", ""))}


def _needs_requester(request: HttpRequest) -> bool:
    return _acts_for_someone(request) and not _acting_for(request).get("requester")


@require_http_methods(["GET", "HEAD", "POST"])
def acting_for(request: HttpRequest) -> HttpResponse:
    """Operators: whom the searches are for and why, asked before anything else."""
    if not _acts_for_someone(request):
        return redirect("search")  # everyone else acts for themselves
    initial = request.session.get(ACTING_FOR) or None
    form = ActingForForm(_posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        request.session[ACTING_FOR] = {
            "requester": form.cleaned_data["requester"].strip(),
            "reason": form.cleaned_data["reason"].strip(),
        }
        return redirect("search")
    return render(request, "web/acting_for.html", {"form": form})


def _search_error(message: str) -> tuple[str, str, str]:
    """(field, input id, message for people) from a SearchCriteriaError message."""
    field, sep, rest = message.partition(": ")
    if sep and field in SEARCH_FIELD_INPUTS:
        return field, SEARCH_FIELD_INPUTS[field], f"{SEARCH_FIELD_LABELS[field]}: {rest}"
    return "", "id_family_name", message[:1].upper() + message[1:]


@require_http_methods(["GET", "HEAD", "POST"])
def search(request: HttpRequest) -> HttpResponse:
    """Find a child. The form posts, so nothing typed ends up in a URL or the browser history."""
    if _needs_requester(request):
        return redirect("acting-for")
    acting = _acting_for(request)
    requester, reason = acting.get("requester", ""), acting.get("reason", "")
    require(request.user, Permission.DIRECTORY_CHILD_SEARCH, requester=requester, reason=reason)
    form = SearchForm(_posted(request))
    context: dict[str, Any] = {"form": form, "acting_for": acting, "searched": False}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        criteria = SearchCriteria(
            given_name=data["given_name"],
            family_name=data["family_name"],
            date_of_birth=data.get("date_of_birth", ""),
            postcode=data["postcode"],
            sex=data["sex"],
            nhs_number=data["nhs_number"],
            upn=data["upn"],
        )
        try:
            outcome = queries.search_children(
                user=request.user,
                criteria=criteria,
                requester=requester,
                reason=reason,
                client_address=client_address(request),
            )
        except SearchCriteriaError as error:
            field, input_id, message = _search_error(str(error))
            context.update(error=message, error_input=input_id, error_field=field)
        else:
            context.update(searched=True, outcome=outcome)
    return render(request, "web/search.html", context)


def _record_context(request: HttpRequest, record: queries.ChildRecord, **extra: Any) -> dict[str, Any]:
    groups: dict[str, list[queries.InvolvementView]] = {}
    for involvement in record.involvements:
        groups.setdefault(involvement.service, []).append(involvement)
    lead = [i for i in record.involvements if i.is_lead_professional]
    return {
        "record": record,
        "groups": groups,
        "lead": lead,
        "caf": [i for i in record.involvements if i.caf_held],
        "acting_for": _acting_for(request),
        "is_shielded": record.shielded or record.directory_team is not None,
        "may_see_hidden": holds(request.user, Permission.DIRECTORY_SHIELDED_VIEW),
        "may_shield": holds(request.user, Permission.DIRECTORY_CHILD_SHIELD),
        "may_add_involvement": holds(request.user, Permission.DIRECTORY_INVOLVEMENT_MANAGE_OWN),
        # A directory team opens records in its own area only; of those, only active ones in an area can be
        # merged (an archived record, or one no local authority holds, is refused by the merge).
        "may_merge": holds(request.user, Permission.MATCHING_REVIEW_DECIDE)
        and record.status == Child.Status.ACTIVE
        and record.in_a_local_authority,
        **extra,
    }


def _child_record(
    request: HttpRequest, contactpoint_id: str, reason: str = "", *, follow_merges: bool = True, merged_from: str = ""
) -> queries.ChildRecord:
    acting = _acting_for(request)
    try:
        return queries.get_child_record(
            user=request.user,
            contactpoint_id=contactpoint_id,
            requester=acting.get("requester", ""),
            reason=acting.get("reason", "") or reason,
            client_address=client_address(request),
            follow_merges=follow_merges,
            merged_from=merged_from,
        )
    except ChildNotFound as error:
        raise Http404(str(error)) from error


@require_http_methods(["GET", "HEAD"])
def child(request: HttpRequest, contactpoint_id: str) -> HttpResponse:
    """A child's record: who is involved and how to reach them. Recorded as a view.

    The identifier of a record merged into another redirects (302: an undone merge makes it a record of its
    own again) to the surviving record, which says which record was merged into it.
    """
    if _needs_requester(request):
        return redirect("acting-for")
    note = request.session.pop(MERGED_FROM, None) or {}
    merged_from = ""
    if note.get("surviving") == normalise_contactpoint_id(contactpoint_id):
        merged_from = str(note.get("merged", ""))
    try:
        record = _child_record(request, contactpoint_id, follow_merges=False, merged_from=merged_from)
    except ChildMerged as moved:
        request.session[MERGED_FROM] = {"merged": moved.merged_id, "surviving": moved.surviving_id}
        return redirect("child", contactpoint_id=moved.surviving_id)
    return render(request, "web/child.html", _record_context(request, record, hidden_form=HiddenDetailsForm()))


@require_POST
def child_hidden_details(request: HttpRequest, contactpoint_id: str) -> HttpResponse:
    """A shielded child's hidden details, for the child's own directory team, with a reason ("break glass").

    The details are in this one response only; the next view of the record withholds them again.
    """
    form = HiddenDetailsForm(request.POST)
    if not form.is_valid():
        record = _child_record(request, contactpoint_id)
        context = _record_context(request, record, hidden_form=form)
        return render(request, "web/child.html", context, status=400)
    record = _child_record(request, contactpoint_id, reason=form.cleaned_data["reason"].strip())
    return render(request, "web/child.html", _record_context(request, record, break_glass=not record.shielded))


def _service_choices() -> list[tuple[str, str]]:
    return [(value, label) for value, label in ServiceType.choices]


@require_http_methods(["GET", "HEAD", "POST"])
def involvement_add(request: HttpRequest, contactpoint_id: str) -> HttpResponse:
    """Record that I am in contact with this child, with the two flags."""
    require(request.user, Permission.DIRECTORY_INVOLVEMENT_MANAGE_OWN)
    form = InvolvementForm(_posted(request), service_choices=_service_choices())
    error = ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if data["service_type"] in SENSITIVE_SERVICES and not data["consent_recorded"]:
            form.add_error("consent_recorded", "Confirm that the young person has consented to this being shown")
        else:
            try:
                services.add_involvement(
                    actor=actor(request),
                    contactpoint_id=contactpoint_id,
                    service_type=data["service_type"],
                    role=data["role"].strip(),
                    is_lead_professional=data["is_lead_professional"],
                    caf_held=data["caf_held"],
                    consent_recorded=data["consent_recorded"],
                )
            except ChildNotFound as exc:
                raise Http404(str(exc)) from exc
            except DirectoryError as exc:
                error = str(exc)[:1].upper() + str(exc)[1:]
            else:
                return redirect(reverse("child", args=[contactpoint_id]) + "#involvements")
    return render(
        request,
        "web/involvement_add.html",
        {"form": form, "contactpoint_id": contactpoint_id, "error": error, "sensitive": sorted(SENSITIVE_SERVICES)},
    )


@require_POST
def involvement_flags(request: HttpRequest, involvement_id: int) -> HttpResponse:
    """Set or clear "I am the lead professional" and "I hold a CAF" on my own involvement."""
    form = FlagsForm(request.POST)
    if not form.is_valid():
        raise Http404("no such involvement")
    try:
        services.set_involvement_flags(
            actor=actor(request),
            involvement_id=involvement_id,
            is_lead_professional=form.cleaned_data["is_lead_professional"],
            caf_held=form.cleaned_data["caf_held"],
        )
    except DirectoryError as exc:
        raise Http404(str(exc)) from exc
    return redirect(reverse("child", args=[form.cleaned_data["contactpoint_id"]]) + "#involvements")


@require_POST
def involvement_end(request: HttpRequest, involvement_id: int) -> HttpResponse:
    """End my involvement: first a confirmation page, then the change."""
    form = EndInvolvementForm(request.POST)
    if not form.is_valid():
        raise Http404("no such involvement")
    contactpoint_id = form.cleaned_data["contactpoint_id"]
    if form.cleaned_data["confirm"] != "yes":
        return render(
            request, "web/involvement_end.html", {"involvement_id": involvement_id, "contactpoint_id": contactpoint_id}
        )
    try:
        services.end_involvement(actor=actor(request), involvement_id=involvement_id)
    except DirectoryError as exc:
        raise Http404(str(exc)) from exc
    return redirect(reverse("child", args=[contactpoint_id]) + "#involvements")


@require_http_methods(["GET", "HEAD", "POST"])
def child_shield(request: HttpRequest, contactpoint_id: str) -> HttpResponse:
    """Directory teams: shield a child in their area (hide location and contact details)."""
    require(request.user, Permission.DIRECTORY_CHILD_SHIELD)
    form = ShieldForm(_posted(request))
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            services.shield_child(
                actor=actor(request),
                contactpoint_id=contactpoint_id,
                reason=form.cleaned_data["reason"],
                review_on=form.cleaned_data["review_on"],
            )
        except ChildNotFound as exc:
            raise Http404(str(exc)) from exc
        except DirectoryError as exc:
            error = str(exc)[:1].upper() + str(exc)[1:]
        else:
            return redirect("child", contactpoint_id=contactpoint_id)
    return render(request, "web/shield.html", {"form": form, "contactpoint_id": contactpoint_id, "error": error})


@require_http_methods(["GET", "HEAD", "POST"])
def child_unshield(request: HttpRequest, contactpoint_id: str) -> HttpResponse:
    """Directory teams: lift a child's shield (the history is kept)."""
    require(request.user, Permission.DIRECTORY_CHILD_SHIELD)
    form = UnshieldForm(_posted(request))
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            services.unshield_child(
                actor=actor(request),
                contactpoint_id=contactpoint_id,
                reason=form.cleaned_data["reason"],
            )
        except ChildNotFound as exc:
            raise Http404(str(exc)) from exc
        except DirectoryError as exc:
            error = str(exc)[:1].upper() + str(exc)[1:]
        else:
            return redirect("child", contactpoint_id=contactpoint_id)
    return render(request, "web/unshield.html", {"form": form, "contactpoint_id": contactpoint_id, "error": error})
