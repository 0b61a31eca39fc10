"""Directory teams: produce a subject access report (what is held about a child, and every access)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from contactpoint.access.permissions import Permission
from contactpoint.access.policy import require
from contactpoint.access.signin import client_address
from contactpoint.directory.errors import ChildNotFound
from contactpoint.subject_access.services import produce_report, render_html, render_json
from contactpoint.web.forms import SubjectAccessForm


@require_http_methods(["GET", "HEAD", "POST"])
def subject_access(request: HttpRequest, contactpoint_id: str) -> HttpResponse:
    """The report downloads as a file (never shown inline, so it does not linger in browser history)."""
    require(request.user, Permission.DIRECTORY_SUBJECT_ACCESS_EXPORT)
    form = SubjectAccessForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            report = produce_report(
                user=request.user,
                contactpoint_id=contactpoint_id,
                reason=form.cleaned_data["reason"],
                client_address=client_address(request),
            )
        except ChildNotFound as exc:
            raise Http404(str(exc)) from exc
        if form.cleaned_data["format"] == "json":
            response = HttpResponse(render_json(report), content_type="application/json; charset=utf-8")
            extension = "json"
        else:
            response = HttpResponse(render_html(report), content_type="text/html; charset=utf-8")
            extension = "html"
        response["Content-Disposition"] = f'attachment; filename="subject-access-{report.contactpoint_id}.{extension}"'
        response["Cache-Control"] = "no-store"
        return response
    return render(request, "web/subject_access.html", {"form": form, "contactpoint_id": contactpoint_id})
