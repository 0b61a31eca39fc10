"""Auditors' searches: by user, child, action and time, a page at a time, newest first."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from contactpoint.audit.queries import EventFilter, search_events
from contactpoint.audit.tags import AuditAction
from contactpoint.core.identifiers import format_contactpoint_id, new_contactpoint_id

from .factories import FakeUser, make_event, make_events

pytestmark = pytest.mark.django_db


def test_search_by_user_child_and_action() -> None:
    child = new_contactpoint_id()
    viewed = make_event(actor=FakeUser(username="alice"), children=[child], action=AuditAction.ACCESS_CHILD_VIEW)
    make_event(actor=FakeUser(username="alice"), action=AuditAction.ACCESS_SEARCH)
    searched = make_event(actor=FakeUser(username="bob"), children=[child], action=AuditAction.ACCESS_SEARCH)

    def sequences(criteria: EventFilter) -> list[int]:
        return [e.sequence for e in search_events(criteria).events]

    assert len(sequences(EventFilter(username="alice"))) == 2
    # However the identifier is typed, newest first.
    assert sequences(EventFilter(child=format_contactpoint_id(child).lower())) == [searched.sequence, viewed.sequence]
    assert sequences(EventFilter(child=child, action=AuditAction.ACCESS_CHILD_VIEW)) == [viewed.sequence]
    assert sequences(EventFilter(username="carol")) == []


def test_search_by_time_range_with_an_exclusive_end() -> None:
    before = timezone.now()
    event = make_event()
    after = timezone.now() + dt.timedelta(microseconds=1)
    assert [e.sequence for e in search_events(EventFilter(since=before, until=after)).events] == [event.sequence]
    assert search_events(EventFilter(since=after)).events == []
    assert search_events(EventFilter(until=event.occurred_at)).events == []


def test_results_come_a_page_at_a_time() -> None:
    events = make_events(5)
    newest_first = [e.sequence for e in reversed(events)]
    first = search_events(EventFilter(), page=1, page_size=2)
    assert [e.sequence for e in first.events] == newest_first[:2]
    assert first.has_next and not first.has_previous
    last = search_events(EventFilter(), page=3, page_size=2)
    assert [e.sequence for e in last.events] == newest_first[4:]
    assert not last.has_next and last.has_previous


def test_malformed_searches_are_refused() -> None:
    with pytest.raises(ValueError, match="not a directory identifier"):
        search_events(EventFilter(child="Jane Smith"))
    with pytest.raises(ValueError):
        search_events(EventFilter(), page=0)
    with pytest.raises(ValueError):
        search_events(EventFilter(), page_size=10_000)


def test_search_by_a_merged_away_identifier_finds_views_made_through_it() -> None:
    # A record opened by its old identifier after a merge is recorded as a view of the survivor, with
    # the identifier asked for in details["merged_from"]: an auditor searching by either finds it.
    survivor, merged_away, unrelated = new_contactpoint_id(), new_contactpoint_id(), new_contactpoint_id()
    via_old = make_event(children=[survivor], details={"details_withheld": False, "merged_from": merged_away})
    direct = make_event(children=[survivor])
    other = make_event(children=[unrelated])

    def sequences(child: str) -> list[int]:
        return [e.sequence for e in search_events(EventFilter(child=child)).events]

    assert sequences(format_contactpoint_id(merged_away)) == [via_old.sequence]
    assert sequences(survivor) == [direct.sequence, via_old.sequence]
    assert sequences(unrelated) == [other.sequence]
