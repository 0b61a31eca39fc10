"""The directory team's review queue: uncertain matches side by side, decisions, splits and undo.

Decisions are :mod:`contactpoint.matching.corrections` services (scoped to the team's local authority,
atomic, audited); these views fetch the item, ask the policy before showing anything, and call one
service. Opening an item shows two source records about a child, so it is recorded as a view of both
children.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from contactpoint.access.permissions import Permission
from contactpoint.access.policy import can_act_on_child, require
from contactpoint.access.signin import client_address
from contactpoint.audit.services import record_event
from contactpoint.audit.tags import AuditAction
from contactpoint.directory import identity
from contactpoint.feeds.models import SourceRecord
from contactpoint.matching import corrections
from contactpoint.matching.models import Correction, ReviewItem
from contactpoint.web.actor import actor
from contactpoint.web.comparison import ComparedField
from contactpoint.web.forms import DecisionForm, SplitForm, UndoForm

QUEUE_PAGE_SIZE = 50

# What the comparison shows of each source record, in order, with labels.
COMPARED_FIELDS = [
    ("given_names", "Given names"),
    ("family_name", "Family name"),
    ("former_family_names", "Former family names"),
    ("date_of_birth", "Date of birth"),
    ("sex", "Sex"),
    ("address_line_1", "Address"),
    ("address_line_2", "Address line 2"),
    ("town", "Town"),
    ("postcode", "Postcode"),
    ("nhs_number", "NHS number"),
    ("upn", "Unique pupil number"),
]

# The matching model's comparison names, as people say them.
EXPLAINED_FIELDS = {
    "forename": "Given names",
    "surname": "Family name",
    "dob": "Date of birth",
    "postcode": "Postcode",
    "address": "Address",
    "sex": "Sex",
    "nhs_number": "NHS number",
    "upn": "Unique pupil number",
}


def _posted(request: HttpRequest) -> Any:
    return request.POST if request.method == "POST" else None


def _shown(fields: dict[str, Any], name: str) -> str:
    value = fields.get(name)
    if value is None:
        return ""
    if hasattr(value, "strftime"):
        return str(value.strftime("%-d %B %Y"))
    return str(value)


# Where a child lives: never shown here for a shielded child, as on the merge comparison. Seeing it is a
# break-glass view, with a reason, from the record page, for the child's own directory team only (and for
# no one when the child has no local authority).
LOCATING_FIELDS = frozenset({"address_line_1", "address_line_2", "town", "postcode"})
WITHHELD = "Withheld: the child is shielded"


def _shielded(record: SourceRecord) -> bool:
    return record.child is not None and record.child.is_shielded


def _comparison(record: SourceRecord, candidate: SourceRecord) -> list[ComparedField]:
    withheld = _shielded(record) or _shielded(candidate)
    # What each record says (unsealed by the one module that may); a record erased meanwhile says nothing.
    said = {row["record_key"]: row for row in
            identity.read_source_identities(record_ids=[record.pk, candidate.pk], active_only=False)}
    fields = {r.pk: said.get(r.pk, {}) for r in (record, candidate)}
    rows = []
    for name, label in COMPARED_FIELDS:
        if name in LOCATING_FIELDS and withheld:
            values = [WITHHELD if _shielded(r) else _shown(fields[r.pk], name) for r in (record, candidate)]
            if any(values):
                rows.append(ComparedField(label, values[0], values[1], compared=False))
            continue
        rows.append(ComparedField(label, _shown(fields[record.pk], name), _shown(fields[candidate.pk], name)))
    rows = [row for row in rows if row.record or row.candidate]
    ids = [r.child.contactpoint_id if r.child is not None else "None" for r in (record, candidate)]
    return [*rows, ComparedField("ContactPoint ID now", ids[0], ids[1], compared=False)]


def _why_undecidable(request: HttpRequest, record: SourceRecord, candidate: SourceRecord) -> str:
    """Why this user's team can't decide the item ("" when it can): the pair must be in their area."""
    if record.child is None or candidate.child is None:
        return ""  # the service says so in words when the decision is tried
    decision = corrections.review_decision(actor(request), [record.child, candidate.child])
    return "" if decision else decision.reason


def _explanation(item: ReviewItem) -> list[dict[str, Any]]:
    """The matcher's reasons, field by field: how much each agreement or disagreement weighed."""
    rows = []
    for entry in item.explanation or []:
        factor = float(entry.get("bayes_factor") or 0)
        if factor >= 1:
            weight = f"{factor:,.1f} times more likely the same child"
        elif factor > 0:
            weight = f"{1 / factor:,.1f} times more likely different children"
        else:
            weight = "Rules out the same child"
        rows.append(
            {
                "field": EXPLAINED_FIELDS.get(str(entry.get("field")), str(entry.get("field", "")).replace("_", " ")),
                "level": str(entry.get("level_label", "")),
                "weight": weight,
                "for_same": factor >= 1,
            }
        )
    return rows


def _item_in_area(request: HttpRequest, pk: int, permission: Permission) -> ReviewItem:
    item = get_object_or_404(
        ReviewItem.objects.select_related("record__source", "candidate__source", "record__child", "candidate__child"),
        pk=pk,
    )
    require(request.user, permission, local_authority_id=item.local_authority_id)
    return item


def _children_of(*records: SourceRecord) -> list[str]:
    return sorted({r.child.contactpoint_id for r in records if r.child is not None})


@require_http_methods(["GET", "HEAD"])
def queue(request: HttpRequest) -> HttpResponse:
    """Open items in the team's area, most likely matches first."""
    items = corrections.open_review_items(actor=actor(request))
    items = items.select_related("record__source", "candidate__source")
    try:
        page = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page = 1
    offset = (page - 1) * QUEUE_PAGE_SIZE
    rows = list(items[offset : offset + QUEUE_PAGE_SIZE + 1])
    recent = (
        Correction.objects.filter(actor=actor(request)).select_related("undone_by").order_by("-created_at", "-pk")[:10]
    )
    shown = rows[:QUEUE_PAGE_SIZE]
    # The names each source record gives (unsealed by the one module that may), for the page's items only.
    said = {row["record_key"]: row for row in identity.read_source_identities(
        record_ids=[i for item in shown for i in (item.record_id, item.candidate_id)], active_only=False)}
    context = {
        "items": [(item, said.get(item.record_id, {}), said.get(item.candidate_id, {})) for item in shown],
        "page": page,
        "has_next": len(rows) > QUEUE_PAGE_SIZE,
        "recent": list(recent),
    }
    return render(request, "web/review_queue.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
def item(request: HttpRequest, pk: int) -> HttpResponse:
    """One uncertain pair side by side, the matcher's reasons, and the decision."""
    review = _item_in_area(request, pk, Permission.MATCHING_REVIEW_VIEW)
    record, candidate = review.record, review.candidate
    form = DecisionForm(_posted(request))
    error = ""
    if request.method == "POST" and form.is_valid():
        decide = corrections.accept_review if form.cleaned_data["decision"] == "accept" else corrections.reject_review
        try:
            correction = decide(actor=actor(request), item=review, reason=form.cleaned_data["reason"].strip())
        except corrections.CorrectionError as exc:
            error = str(exc)[:1].upper() + str(exc)[1:]
        else:
            return redirect("correction", pk=correction.pk)
    if request.method != "POST":
        with transaction.atomic():
            record_event(
                action=AuditAction.ACCESS_CHILD_VIEW,
                actor=request.user,
                children=_children_of(record, candidate),
                client_address=client_address(request),
                details={"review_item": review.pk},
            )
    # A split corrects one child, which must be in the team's area (never a child with no local authority).
    splittable = [
        r
        for r in (record, candidate)
        if r.child is not None
        and can_act_on_child(
            request.user, Permission.MATCHING_REVIEW_DECIDE, child_local_authority_id=r.child.local_authority_id
        )
        and SourceRecord.objects.filter(child=r.child).exclude(pk=r.pk).exists()
    ]
    is_open = review.status == ReviewItem.Status.OPEN
    joined_under = ""
    if record.child is not None and candidate.child is not None:
        joined_under = corrections.review_survivor(record.child, candidate.child)[0].contactpoint_id
    context = {
        "item": review,
        "record": record,
        "candidate": candidate,
        "same_child": record.child_id is not None and record.child_id == candidate.child_id,
        "comparison": _comparison(record, candidate),
        "first_heading": f"New record ({record.source.name})",
        "second_heading": f"Possible match ({candidate.source.name})",
        "explanation": _explanation(review),
        "form": form,
        "error": error,
        "splittable": splittable,
        "split_form": SplitForm(),
        "is_open": is_open,
        "why_undecidable": _why_undecidable(request, record, candidate) if is_open else "",
        "joined_under": joined_under,
        # Accepting keeps the new record's child, not the possible match's, when the match has no local authority.
        "joined_under_record": record.child is not None
        and candidate.child is not None
        and joined_under == record.child.contactpoint_id
        and record.child_id != candidate.child_id,
    }
    return render(request, "web/review_item.html", context, status=400 if error else 200)


@require_POST
def split(request: HttpRequest, pk: int) -> HttpResponse:
    """A source record is not the child it is linked to: give it a child of its own."""
    record = get_object_or_404(SourceRecord.objects.select_related("child"), pk=pk)
    form = SplitForm(request.POST)
    if not form.is_valid():
        raise Http404("give a reason for the split")
    try:
        correction = corrections.split_record(actor=actor(request), record=record, reason=form.cleaned_data["reason"])
    except corrections.CorrectionError as exc:
        return render(request, "web/correction_error.html", {"error": str(exc)}, status=400)
    return redirect("correction", pk=correction.pk)


def _correction_in_area(request: HttpRequest, pk: int) -> Correction:
    correction = get_object_or_404(Correction.objects.select_related("actor", "undoes", "review_item"), pk=pk)
    # A decision on a review item belongs to the item's area; a merge or split to its maker's area.
    if correction.review_item is not None:
        area = correction.review_item.local_authority_id
    else:
        area = correction.actor.local_authority_id
    require(request.user, Permission.MATCHING_REVIEW_VIEW, local_authority_id=area)
    return correction


@require_http_methods(["GET", "HEAD"])
def correction(request: HttpRequest, pk: int) -> HttpResponse:
    """What a decision did, with the way to undo it."""
    done = _correction_in_area(request, pk)
    undone_by = getattr(done, "undone_by", None)
    context = {"correction": done, "undone_by": undone_by, "form": UndoForm()}
    return render(request, "web/correction.html", context)


@require_POST
def undo(request: HttpRequest, pk: int) -> HttpResponse:
    done = _correction_in_area(request, pk)
    form = UndoForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            undone = corrections.undo_correction(
                actor=actor(request), correction=done, reason=form.cleaned_data["reason"]
            )
        except corrections.CorrectionError as exc:
            error = str(exc)[:1].upper() + str(exc)[1:]
        else:
            return redirect("correction", pk=undone.pk)
    context = {"correction": done, "undone_by": getattr(done, "undone_by", None), "form": form, "error": error}
    return render(request, "web/correction.html", context, status=400)
