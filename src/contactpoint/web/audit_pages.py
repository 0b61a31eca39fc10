"""The audit trail for auditors: search events, verify the log is complete and untampered, export.

Searching reads :mod:`contactpoint.audit.queries`; verifying is :func:`contactpoint.audit.integrity.verify_log`
(read-only here: it does not seal); exporting is :func:`contactpoint.audit.services.export_events`, which
records the export itself. Search criteria are posted, never put in a URL.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from contactpoint.access.permissions import Permission
from contactpoint.access.policy import require
from contactpoint.access.signin import client_address
from contactpoint.audit.integrity import verify_log
from contactpoint.audit.queries import EventFilter, search_events
from contactpoint.audit.services import export_events
from contactpoint.audit.tags import AuditAction
from contactpoint.web.forms import AuditExportForm, AuditSearchForm

PAGE_SIZE = 50
ACTIONS = [(str(action), str(action)) for action in sorted(AuditAction, key=str)]


def _criteria(data: dict[str, Any]) -> EventFilter:
    def start_of(day: datetime.date | None, plus: int = 0) -> datetime.datetime | None:
        if day is None:
            return None
        return timezone.make_aware(datetime.datetime.combine(day + datetime.timedelta(days=plus), datetime.time()))

    return EventFilter(
        username=(data.get("username") or "").strip(),
        child=(data.get("child") or "").strip(),
        action=data.get("action") or "",
        since=start_of(data.get("since")),
        until=start_of(data.get("until"), plus=1),  # "until" a day includes that day
    )


@require_http_methods(["GET", "HEAD", "POST"])
def events(request: HttpRequest) -> HttpResponse:
    require(request.user, Permission.AUDIT_EVENT_VIEW)
    posted = request.POST if request.method == "POST" else None
    form = AuditSearchForm(posted, actions=ACTIONS)
    context: dict[str, Any] = {"form": form, "export_form": AuditExportForm(actions=ACTIONS), "error": ""}
    if posted is not None and form.is_valid():
        try:
            page = search_events(_criteria(form.cleaned_data), page=form.cleaned_data["page"] or 1, page_size=PAGE_SIZE)
        except ValueError as exc:
            context["error"] = str(exc)[:1].upper() + str(exc)[1:]
        else:
            context["results"] = page
    return render(request, "web/audit.html", context)


@require_POST
def verify(request: HttpRequest) -> HttpResponse:
    require(request.user, Permission.AUDIT_TRAIL_VERIFY)
    result = verify_log(seal_afterwards=False)
    return render(request, "web/audit_verify.html", {"result": result, "checked_at": timezone.now()})


@require_POST
def export(request: HttpRequest) -> HttpResponse:
    require(request.user, Permission.AUDIT_EVENT_VIEW)
    form = AuditExportForm(request.POST, actions=ACTIONS)
    if not form.is_valid():
        context = {"form": AuditSearchForm(actions=ACTIONS), "export_form": form, "error": ""}
        return render(request, "web/audit.html", context, status=400)
    response = HttpResponse(content_type="application/x-ndjson; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="contactpoint-audit-{stamp}.jsonl"'
    response["Cache-Control"] = "no-store"
    try:
        export_events(
            criteria=_criteria(form.cleaned_data),
            out=response,
            reason=form.cleaned_data["reason"],
            actor=request.user,
            client_address=client_address(request),
        )
    except ValueError as exc:
        context = {"form": AuditSearchForm(actions=ACTIONS), "export_form": form, "error": str(exc)}
        return render(request, "web/audit.html", context, status=400)
    return response
