"""The directory team merges two records of one child that it found itself (a practitioner reported them,
say), outside the review queue.

From the child's record: the other record's ContactPoint ID, which ID the child keeps, and why (posted,
never in a URL); then both records side by side; then the merge, which lands on the correction's page
with its Undo. The records are read through :mod:`contactpoint.directory.queries` (the team's own area
only, audited as views) and the merge is one :mod:`contactpoint.matching.corrections` service (atomic,
audited, reversible). These views parse the form, call one of them and render.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from contactpoint.access.permissions import Permission
from contactpoint.access.policy import require
from contactpoint.access.signin import client_address
from contactpoint.directory import queries
from contactpoint.directory.errors import ChildNotFound, NotMergeable
from contactpoint.matching import corrections
from contactpoint.web.actor import actor
from contactpoint.web.comparison import ComparedField
from contactpoint.web.forms import MergeForm
from contactpoint.web.templatetags.web_words import sex


def _posted(request: HttpRequest) -> Any:
    return request.POST if request.method == "POST" else None


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:]


def _child_to_merge(request: HttpRequest, contactpoint_id: str) -> queries.ChildSummary:
    try:
        return queries.get_child_to_merge(
            user=request.user, contactpoint_id=contactpoint_id, client_address=client_address(request)
        )
    except ChildNotFound as exc:
        raise Http404(str(exc)) from exc


def _form_page(
    request: HttpRequest, contactpoint_id: str, form: MergeForm, *, error: str = "", status: int = 200
) -> HttpResponse:
    this = _child_to_merge(request, contactpoint_id)
    context = {"this": this, "form": form, "error": error, "error_field": "id_other"}
    return render(request, "web/child_merge.html", context, status=status)


def _date(summary: queries.ChildSummary) -> str:
    return summary.date_of_birth.strftime("%-d %B %Y") if summary.date_of_birth else ""


def _address(summary: queries.ChildSummary) -> str:
    if summary.location is None:
        return "Withheld: the child is shielded"
    lines = [summary.location.address_line_1, summary.location.address_line_2, summary.location.town]
    return "\n".join(line for line in lines if line)


def _comparison(kept: queries.ChildSummary, merged: queries.ChildSummary) -> list[ComparedField]:
    """The two golden records side by side; the identifiers and where each came from are told, not compared."""

    def former(s: queries.ChildSummary) -> str:
        return "\n".join(f"{given} {family}" for given, family in s.former_names)

    def sources(s: queries.ChildSummary) -> str:
        return "\n".join(f"{name} ({count})" for name, count in s.sources) or "None"

    withheld = kept.location is None or merged.location is None
    rows = [
        ComparedField("Given names", kept.given_names, merged.given_names),
        ComparedField("Family name", kept.family_name, merged.family_name),
        ComparedField("Former names", former(kept), former(merged)),
        ComparedField("Date of birth", _date(kept), _date(merged)),
        ComparedField("Sex", sex(kept.sex), sex(merged.sex)),
        ComparedField("Address", _address(kept), _address(merged), compared=not withheld),
        ComparedField(
            "Postcode",
            kept.location.postcode if kept.location else "Withheld",
            merged.location.postcode if merged.location else "Withheld",
            compared=not withheld,
        ),
        ComparedField("NHS number", kept.nhs_number, merged.nhs_number),
        ComparedField("Unique pupil number", kept.upn, merged.upn),
    ]
    rows = [row for row in rows if row.record or row.candidate]
    if kept.is_shielded or merged.is_shielded:
        shielded = ["Yes" if s.is_shielded else "No" for s in (kept, merged)]
        rows.append(ComparedField("Shielded", shielded[0], shielded[1], compared=False))
    rows.append(ComparedField("Source records", sources(kept), sources(merged), compared=False))
    rows.append(ComparedField("ContactPoint ID", kept.contactpoint_id, merged.contactpoint_id, compared=False))
    return rows


@require_http_methods(["GET", "HEAD", "POST"])
def merge(request: HttpRequest, contactpoint_id: str) -> HttpResponse:
    """The other record's identifier, which identifier stays, and why; then both records side by side."""
    require(request.user, Permission.MATCHING_REVIEW_DECIDE)  # refuse early the roles that never merge
    form = MergeForm(_posted(request), initial={"keep": "this"})
    if request.method != "POST" or not form.is_valid():
        return _form_page(request, contactpoint_id, form, status=400 if form.is_bound else 200)
    data = form.cleaned_data
    try:
        this, other = queries.compare_children_to_merge(
            user=request.user,
            contactpoint_id=contactpoint_id,
            other_contactpoint_id=data["other"],
            client_address=client_address(request),
        )
    except ChildNotFound as exc:
        raise Http404(str(exc)) from exc
    except NotMergeable as exc:
        form.add_error("other", str(exc))
        return _form_page(request, contactpoint_id, form, status=400)
    kept, merged = (this, other) if data["keep"] == "this" else (other, this)
    refusal = corrections.shield_refusal(surviving_is_shielded=kept.is_shielded, merged_is_shielded=merged.is_shielded)
    if refusal:
        form.add_error("keep", _sentence(refusal))
        return _form_page(request, contactpoint_id, form, status=400)
    context = {
        "this": this,
        "other": other,
        "kept": kept,
        "merged": merged,
        "keep": data["keep"],
        "reason": data["reason"].strip(),
        "comparison": _comparison(kept, merged),
        "first_heading": f"Record to keep ({kept.contactpoint_id})",
        "second_heading": f"Record to merge into it ({merged.contactpoint_id})",
    }
    return render(request, "web/child_merge_confirm.html", context)


@require_POST
def merge_confirm(request: HttpRequest, contactpoint_id: str) -> HttpResponse:
    """From the side-by-side page: merge (then the correction, with its Undo), or go back to change the answers."""
    require(request.user, Permission.MATCHING_REVIEW_DECIDE)
    form = MergeForm(request.POST)
    if request.POST.get("action") != "merge" or not form.is_valid():
        return _form_page(request, contactpoint_id, form, status=200 if form.is_valid() else 400)
    data = form.cleaned_data
    this_id, other_id = contactpoint_id, data["other"]
    surviving, merged = (this_id, other_id) if data["keep"] == "this" else (other_id, this_id)
    try:
        correction = corrections.merge_children_by_identifier(
            actor=actor(request), surviving_id=surviving, merged_id=merged, reason=data["reason"]
        )
    except corrections.ShieldedMergeError as exc:
        form.add_error("keep", _sentence(str(exc)))
        return _form_page(request, contactpoint_id, form, status=400)
    except corrections.CorrectionError as exc:
        # The records changed since the side-by-side page (merged or archived meanwhile, say).
        return _form_page(request, contactpoint_id, form, error=_sentence(str(exc)), status=400)
    return redirect("correction", pk=correction.pk)
