"""Access alerts: the directory team's queue (their area's) and the auditors' view (all), and what the
team does about one: acknowledge, escalate, suspend the user.

Reads are :mod:`contactpoint.alerts.queries` (which confine a team to its own area) and every action is
one :mod:`contactpoint.alerts.services` service (atomic, audited). Alerts name children only by their
ContactPoint identifiers.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from contactpoint.access.permissions import Permission
from contactpoint.access.policy import holds
from contactpoint.access.signin import client_address
from contactpoint.alerts import queries, services
from contactpoint.alerts.models import Alert
from contactpoint.web.actor import actor
from contactpoint.web.forms import AlertActionForm

ALERTS_SHOWN = 200
ACTIONS = {
    "acknowledge": services.acknowledge_alert,
    "escalate": services.escalate_alert,
    "suspend": services.suspend_user_for_alert,
}


@require_safe
def alerts(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "open")
    if status not in {*Alert.Status.values, "all"}:
        status = "open"
    listed = queries.list_alerts(user=request.user, status="" if status == "all" else status)
    statuses = [("open", "Open"), ("acknowledged", "Acknowledged"), ("escalated", "Escalated"), ("all", "All")]
    context = {"alerts": listed[:ALERTS_SHOWN], "status": status, "statuses": statuses, "shown": ALERTS_SHOWN}
    return render(request, "web/alerts.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
def alert(request: HttpRequest, reference: str) -> HttpResponse:
    try:
        found = queries.get_alert(user=request.user, reference=reference)
    except Alert.DoesNotExist as exc:
        raise Http404("no alert with this reference") from exc
    form = AlertActionForm(request.POST if request.method == "POST" else None)
    error = ""
    if request.method == "POST" and form.is_valid():
        act = ACTIONS[form.cleaned_data["action"]]
        try:
            act(
                actor=actor(request),
                reference=found.reference,
                note=form.cleaned_data["note"],
                client_address=client_address(request),
            )
        except services.AlertError as exc:
            error = str(exc)[:1].upper() + str(exc)[1:]
        else:
            return redirect("alert", reference=found.reference)
    context = {
        "alert": found,
        "history": list(found.actions.order_by("at", "pk")),
        "form": form,
        "error": error,
        "may_act": holds(request.user, Permission.ALERTS_ALERT_ACKNOWLEDGE),
        "may_view_children": holds(request.user, Permission.DIRECTORY_CHILD_VIEW),
    }
    return render(request, "web/alert.html", context, status=400 if error or form.errors else 200)
