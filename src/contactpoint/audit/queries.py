"""Reading the audit trail, for auditors: search by user, child, action and time, a page at a time.

Used by ``contactpoint audit export`` and, later, by the auditors' pages and the API. Nothing here
writes; exporting (which is itself audited) is :func:`contactpoint.audit.services.export_events`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from contactpoint.audit.canonical import format_timestamp
from contactpoint.audit.models import AuditEvent
from contactpoint.core.identifiers import is_valid_contactpoint_id, normalise_contactpoint_id

MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class EventFilter:
    """What an auditor is looking for; empty fields match everything. ``until`` is exclusive."""

    username: str = ""
    child: str = ""
    action: str = ""
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    def as_details(self) -> dict[str, str]:
        """The filter as it is recorded in the audit event of an export (identifiers only)."""
        values = {
            "username": self.username,
            "child": normalise_contactpoint_id(self.child) if self.child else "",
            "action": self.action,
            "since": format_timestamp(self.since) if self.since else "",
            "until": format_timestamp(self.until) if self.until else "",
        }
        return {key: value for key, value in values.items() if value}


@dataclass(frozen=True)
class EventPage:
    events: list[AuditEvent]
    page: int
    page_size: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def filter_events(criteria: EventFilter) -> QuerySet[AuditEvent]:
    """Events matching ``criteria`` (unordered). Raises ValueError for a malformed child identifier."""
    events = AuditEvent.objects.all()
    if criteria.username:
        events = events.filter(actor_username=criteria.username)
    if criteria.child:
        child = normalise_contactpoint_id(criteria.child)
        if not is_valid_contactpoint_id(child):
            raise ValueError(f"{criteria.child!r} is not a directory identifier")
        # The GIN index on children, or the index on details.merged_from (an identifier merged into
        # another: its views name the surviving child and record the identifier asked for there).
        events = events.filter(Q(children__contains=[child]) | Q(details__merged_from=child))
    if criteria.action:
        events = events.filter(action=criteria.action)
    if criteria.since is not None:
        events = events.filter(occurred_at__gte=criteria.since)
    if criteria.until is not None:
        events = events.filter(occurred_at__lt=criteria.until)
    return events


def search_events(criteria: EventFilter, *, page: int = 1, page_size: int = 50) -> EventPage:
    """One page of matching events, newest first."""
    if page < 1:
        raise ValueError("page numbers start at 1")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page size must be between 1 and {MAX_PAGE_SIZE}")
    offset = (page - 1) * page_size
    # One row more than the page tells whether there is a next page without counting everything.
    rows = list(filter_events(criteria).order_by("-occurred_at", "-sequence")[offset : offset + page_size + 1])
    return EventPage(events=rows[:page_size], page=page, page_size=page_size, has_next=len(rows) > page_size)


def export_record(event: AuditEvent, position: int | None, leaf_hash: bytes | None) -> dict[str, Any]:
    """An event as an auditor receives it: every field its leaf hash covers, plus that hash.

    ``json.dumps`` of the record without ``leaf_hash``, keys sorted, no whitespace, gives the bytes
    whose SHA-256 (prefixed by 0x00) is ``leaf_hash``, so an auditor can check each event themselves.
    """
    return {
        "action": event.action,
        "actor_organisation": event.actor_organisation,
        "actor_role": event.actor_role,
        "actor_username": event.actor_username,
        "children": list(event.children),
        "client_address": event.client_address,
        "details": event.details,
        "occurred_at": format_timestamp(event.occurred_at),
        "outcome": event.outcome,
        "position": position,
        "reason": event.reason,
        "requester": event.requester,
        "sequence": event.sequence,
        "leaf_hash": leaf_hash.hex() if leaf_hash is not None else None,
    }


def iter_export_records(criteria: EventFilter) -> Iterator[dict[str, Any]]:
    """Matching events in log order (unsealed ones last), streamed from a server-side cursor."""
    events = (
        filter_events(criteria).select_related("seal").order_by("seal__position", "sequence").iterator(chunk_size=2000)
    )
    for event in events:
        seal = getattr(event, "seal", None)
        yield export_record(
            event,
            seal.position if seal is not None else None,
            bytes(seal.leaf_hash) if seal is not None else None,
        )
