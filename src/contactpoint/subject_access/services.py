"""Subject access: everything held about a child, and every access to the child's record, for the child
or their parent. Produced by the directory team of the child's area; producing it is audited.

:func:`produce_report` is what the directory team's page and ``contactpoint subject-access`` call;
:func:`render_html` and :func:`render_json` turn the report into the two readable forms.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import asdict, dataclass
from typing import Any

from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from contactpoint.audit.integrity import format_timestamp
from contactpoint.audit.queries import EventFilter, filter_events
from contactpoint.audit.tags import AuditAction
from contactpoint.directory.queries import ChildHoldings, read_child_holdings
from contactpoint.orgs.models import Organisation

# What each kind of audit event means, in words a parent understands.
WHAT_HAPPENED: dict[str, str] = {
    AuditAction.ACCESS_SEARCH: "Found the child in a search (shown in the list of results)",
    AuditAction.ACCESS_CHILD_VIEW: "Opened the child's record",
    AuditAction.ACCESS_BREAK_GLASS: "Saw the child's hidden (shielded) details, giving a reason",
    AuditAction.DIRECTORY_INVOLVEMENT_ADD: "Added their involvement with the child",
    AuditAction.DIRECTORY_INVOLVEMENT_CHANGE: "Changed their involvement with the child",
    AuditAction.DIRECTORY_INVOLVEMENT_END: "Ended their involvement with the child",
    AuditAction.DIRECTORY_SHIELD: "Shielded the child's record",
    AuditAction.DIRECTORY_UNSHIELD: "Lifted the shielding of the child's record",
    AuditAction.EXPORT_SUBJECT_ACCESS: "Produced a subject access report (like this one)",
    AuditAction.AUDIT_EVENT_EXPORT: "Exported the audit trail of the child's record (an audit)",
    AuditAction.ALERT_RAISE: "The system raised a misuse alert about an access to the record",
    AuditAction.ALERT_ACKNOWLEDGE: "The directory team dealt with a misuse alert",
    AuditAction.ALERT_ESCALATE: "The directory team escalated a misuse alert",
    AuditAction.MATCHING_REVIEW_DECIDE: "Decided whether two records are the same child",
    AuditAction.MATCHING_CORRECTION: "Corrected which records belong to the child",
    AuditAction.MATCHING_CORRECTION_UNDO: "Undid a correction of which records belong to the child",
}

ROLE_NAMES = {
    "practitioner": "Practitioner",
    "operator": "Control room operator",
    "directory_team": "Local directory team",
    "auditor": "Auditor",
    "admin": "Administrator",
    "system": "The system",
}


@dataclass(frozen=True)
class AccessEntry:
    """One event of the audit trail that names the child. Other children an event names are left out."""

    when: str  # ISO 8601, UTC
    what: str
    action: str
    who: str
    role: str
    organisation: str
    on_behalf_of: str
    why: str
    outcome: str
    audit_sequence: int


@dataclass(frozen=True)
class SubjectAccessReport:
    contactpoint_id: str
    produced_at: str
    produced_by: str
    produced_by_organisation: str
    holdings: ChildHoldings
    accesses: list[AccessEntry]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _organisation_names(codes: set[str]) -> dict[str, str]:
    return dict(Organisation.objects.filter(code__in=codes).values_list("code", "name"))


def produce_report(*, user: Any, contactpoint_id: str, reason: str, client_address: str = "") -> SubjectAccessReport:
    """What is held about the child and every access to its record (this report's production included).

    Only the directory team of the child's local authority may (``AccessDenied`` otherwise); ``reason``
    (e.g. the request's reference) is required and recorded with ``export:child:subject_access``.
    """
    with transaction.atomic():
        holdings = read_child_holdings(
            user=user, contactpoint_id=contactpoint_id, reason=reason, client_address=client_address
        )
        events = list(
            filter_events(EventFilter(child=holdings.contactpoint_id)).order_by("occurred_at", "sequence")
        )
    names = _organisation_names({e.actor_organisation for e in events if e.actor_organisation})
    accesses = [
        AccessEntry(
            when=format_timestamp(e.occurred_at),
            what=WHAT_HAPPENED.get(e.action, e.action),
            action=e.action,
            who=e.actor_username or "(unknown)",
            role=ROLE_NAMES.get(e.actor_role, e.actor_role),
            organisation=f"{names.get(e.actor_organisation, '')} ({e.actor_organisation})".strip()
            if e.actor_organisation else "",
            on_behalf_of=e.requester,
            why=e.reason,
            outcome=e.outcome,
            audit_sequence=e.sequence,
        )
        for e in events
    ]
    organisation = getattr(user, "organisation", None)
    return SubjectAccessReport(
        contactpoint_id=holdings.contactpoint_id,
        produced_at=format_timestamp(timezone.now()),
        produced_by=user.username,
        produced_by_organisation=organisation.name if organisation is not None else "",
        holdings=holdings,
        accesses=accesses,
    )


def render_json(report: SubjectAccessReport) -> str:
    return json.dumps(report.as_dict(), indent=2, ensure_ascii=False, sort_keys=False, default=str) + "\n"


def _local(value: str | None) -> str:
    if not value:
        return ""
    try:
        moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if moment.tzinfo is None:
        return value
    return f"{timezone.localtime(moment):%d %B %Y, %H:%M:%S}"


def render_html(report: SubjectAccessReport) -> str:
    """One self-contained HTML page (styles inline, no scripts, images or links to anything outside)."""
    accesses = [{**asdict(a), "local_when": _local(a.when)} for a in report.accesses]
    return render_to_string(
        "subject_access/report.html",
        {"report": report, "h": report.holdings, "accesses": accesses, "produced_local": _local(report.produced_at)},
    )
