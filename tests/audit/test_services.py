"""Recording events: inside the action's transaction, and never with personal data."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from contactpoint.audit.errors import AuditEventOutsideTransaction, PersonalDataInAuditEvent
from contactpoint.audit.models import AuditEvent
from contactpoint.audit.services import record_event
from contactpoint.audit.tags import AuditAction
from contactpoint.core.identifiers import format_contactpoint_id, new_contactpoint_id

from .factories import FakeUser, make_event

pytestmark = pytest.mark.django_db


def test_an_event_records_who_what_which_children_when_where_why_and_outcome() -> None:
    child = new_contactpoint_id()
    event = make_event(
        action=AuditAction.ACCESS_BREAK_GLASS,
        actor=FakeUser(username="o.operator", role="operator"),
        children=[format_contactpoint_id(child)],
        requester="PC 1234, Midshire Police",
        client_address="198.51.100.7",
        reason="child missing overnight",
        outcome="success",
    )
    event.refresh_from_db()
    assert event.action == "access:child:break_glass"
    assert (event.actor_username, event.actor_role, event.actor_organisation) == (
        "o.operator",
        "operator",
        "ORG001",
    )
    assert event.requester == "PC 1234, Midshire Police"
    assert event.children == [child]  # normalised: no separators
    assert event.client_address == "198.51.100.7"
    assert event.reason == "child missing overnight"
    assert event.occurred_at.utcoffset() == dt.timedelta(0)


def test_a_system_process_is_named_when_there_is_no_user() -> None:
    event = make_event(actor=None, system_actor="feed-loader", children=[])
    assert (event.actor_username, event.actor_role, event.actor_organisation) == ("feed-loader", "system", "")


@pytest.mark.django_db(transaction=True)
def test_recording_outside_a_transaction_is_refused() -> None:
    with pytest.raises(AuditEventOutsideTransaction):
        record_event(action=AuditAction.ACCESS_SEARCH, actor=FakeUser())
    assert not AuditEvent.objects.exists()


def test_the_event_rolls_back_with_the_action() -> None:
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        record_event(action=AuditAction.ACCESS_SEARCH, actor=FakeUser())
        1 / 0  # noqa: B018 - the action fails after recording
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    "key",
    [
        "given_names",
        "family_name",
        "address",
        "postcode",
        "date_of_birth",
        "Date of birth",
        "carer_family_name",
        "address_line_1",
        "nhs_number",
        "carer_email",
        "name",
    ],
)
def test_details_that_name_personal_data_are_refused(key: str) -> None:
    with pytest.raises(PersonalDataInAuditEvent, match="personal data"), transaction.atomic():
        record_event(action=AuditAction.ACCESS_SEARCH, actor=FakeUser(), details={key: "Smith"})
    assert not AuditEvent.objects.exists()


def test_personal_data_is_found_however_deeply_it_is_nested() -> None:
    with (
        pytest.raises(PersonalDataInAuditEvent, match=r"details\.criteria\[0\]\.postcode"),
        transaction.atomic(),
    ):
        record_event(
            action=AuditAction.ACCESS_SEARCH,
            actor=FakeUser(),
            details={"criteria": [{"postcode": "B15 2TT"}]},
        )


def test_children_must_be_directory_identifiers_not_names() -> None:
    with pytest.raises(PersonalDataInAuditEvent, match="identifiers only"), transaction.atomic():
        record_event(action=AuditAction.ACCESS_CHILD_VIEW, actor=FakeUser(), children=["Jane Smith"])


def test_harmless_details_are_kept() -> None:
    details = {"result_count": 3, "fields_changed": ["postcode", "family_name"], "batch": "B-17", "ok": True}
    event = make_event(details=details)
    event.refresh_from_db()
    assert event.details == details


def test_details_must_be_plain_json() -> None:
    with pytest.raises(TypeError, match="not a JSON"), transaction.atomic():
        record_event(action=AuditAction.ACCESS_SEARCH, actor=FakeUser(), details={"when": dt.date(2026, 1, 1)})
