"""A child's record, and shielding everywhere a child is shown (search results, record, counts, messages)."""

from __future__ import annotations

import datetime

import pytest

from contactpoint.access.models import Role
from contactpoint.access.policy import AccessDenied
from contactpoint.audit.tags import AuditAction
from contactpoint.directory import queries, services
from contactpoint.directory.search import SearchCriteria
from directory.builders import child_row, events, load_children, user

pytestmark = pytest.mark.django_db

REVIEW = datetime.date.today() + datetime.timedelta(days=90)


def involvement_row(srid, service_type, **overrides):
    row = child_row(
        srid, given_names="Maya", family_name="Fernandes", date_of_birth="2010-04-17", postcode="B12 8QT",
        nhs_number="9434765919", address_line_1="3 Oak Lane",
        carer_given_names="Rita", carer_family_name="Fernandes", carer_relationship="mother",
        carer_phone="0121 496 0000", carer_email="rita@example.org",
        service_type=service_type, organisation_code=f"ORG-{srid}", organisation_name=f"{service_type} service",
        practitioner_name=f"Practitioner {srid}", practitioner_role="lead", practitioner_phone="0121 496 0999",
        practitioner_email=f"p-{srid.lower()}@example.org", involvement_start="2024-01-10",
    )
    row.update(overrides)
    return row


@pytest.fixture
def maya(tmp_path):
    """One child, with a school, a GP, a social worker, and two sensitive services (one consented)."""
    rows = [
        involvement_row("R1", "school"),
        involvement_row("R2", "gp"),
        involvement_row("R3", "social_care"),
        involvement_row("R4", "mental_health", consent_recorded="Y"),
        involvement_row("R5", "sexual_health", consent_recorded="N"),
    ]
    children = load_children(tmp_path, rows)
    assert len({c.pk for c in children.values()}) == 1  # matching joined the five records
    return children["R1"]


def test_the_record_has_details_carers_and_current_involvements(maya):
    practitioner = user(Role.PRACTITIONER)
    record = queries.get_child_record(user=practitioner, contactpoint_id=maya.contactpoint_id)
    assert (record.given_names, record.family_name, record.sex) == ("Maya", "Fernandes", "F")
    assert record.location is not None and record.location.postcode == "B12 8QT"
    assert [(c.given_names, c.relationship, c.contact.phone) for c in record.carers][0] == (
        "Rita", "mother", "0121 496 0000"
    )
    services_shown = {i.service_type for i in record.involvements}
    assert services_shown == {"school", "gp", "social_care", "mental_health"}
    social = next(i for i in record.involvements if i.service_type == "social_care")
    assert social.contact is not None and social.contact.email == "p-r3@example.org"
    assert social.since == datetime.date(2024, 1, 10) and social.practitioner == "Practitioner R3"
    assert (social.is_lead_professional, social.caf_held) == (False, False)
    [event] = events(AuditAction.ACCESS_CHILD_VIEW)
    assert event.children == [maya.contactpoint_id] and event.actor_username == practitioner.username


def test_a_sensitive_involvement_is_hidden_without_consent(maya):
    record = queries.get_child_record(user=user(Role.PRACTITIONER), contactpoint_id=maya.contactpoint_id)
    assert "sexual_health" not in {i.service_type for i in record.involvements}
    assert "mental_health" in {i.service_type for i in record.involvements}
    listed = queries.list_involvements(user=user(Role.PRACTITIONER), contactpoint_id=maya.contactpoint_id)
    assert "sexual_health" not in {i.service_type for i in listed}


def test_ended_involvements_are_not_shown(tmp_path):
    child = load_children(tmp_path, [involvement_row("E1", "social_care", involvement_end="2025-01-01")])["E1"]
    record = queries.get_child_record(user=user(Role.PRACTITIONER), contactpoint_id=child.contactpoint_id)
    assert record.involvements == []


def test_unknown_and_malformed_identifiers_are_not_found(maya):
    from contactpoint.directory.errors import ChildNotFound

    with pytest.raises(ChildNotFound, match="not a valid"):
        queries.get_child_record(user=user(Role.PRACTITIONER), contactpoint_id="nonsense")
    with pytest.raises(ChildNotFound, match="no child"):
        queries.get_child_record(user=user(Role.PRACTITIONER), contactpoint_id="2222-2222-2222")


# Shielding --------------------------------------------------------------------------------------------


@pytest.fixture
def shielded(maya):
    team = user(Role.DIRECTORY_TEAM)
    services.shield_child(actor=team, contactpoint_id=maya.contactpoint_id, reason="refuge", review_on=REVIEW)
    maya.refresh_from_db()
    return maya


WITHHELD_VALUES = ["B12", "8QT", "Oak Lane", "Birmingham", "Rita", "0121 496 0000", "rita@example.org",
                   "p-r3@example.org", "Practitioner", "school service", "gp service", "9434765919"]


def _assert_nothing_withheld_in(value):
    text = repr(value)
    leaked = [v for v in WITHHELD_VALUES if v in text]
    assert leaked == []


def test_a_shielded_child_is_never_found_by_postcode(shielded):
    practitioner = user(Role.PRACTITIONER)
    for criteria in (
        SearchCriteria(family_name="Fernandes", postcode="B12 8QT"),
        SearchCriteria(family_name="Fernandes", date_of_birth="2010-04-17", postcode="B12 8QT"),
        SearchCriteria(given_name="Maya", family_name="Fernandes", date_of_birth="2010", postcode="B12 8QT"),
    ):
        outcome = queries.search_children(user=practitioner, criteria=criteria)
        assert (outcome.results, outcome.too_many, outcome.message) == ([], False, "no matches")


def test_a_shielded_child_is_not_found_on_a_withheld_field_alone(shielded):
    outcome = queries.search_children(user=user(Role.PRACTITIONER), criteria=SearchCriteria(nhs_number="9434765919"))
    assert outcome.results == []


def test_a_shielded_child_found_by_name_shows_no_location(shielded):
    outcome = queries.search_children(
        user=user(Role.PRACTITIONER),
        criteria=SearchCriteria(given_name="Maya", family_name="Fernandes", date_of_birth="2010-04-17"),
    )
    [result] = outcome.results
    assert result.contactpoint_id == shielded.contactpoint_id
    assert (result.town, result.postcode_district) == (None, None)
    _assert_nothing_withheld_in(outcome)


def test_a_shielded_record_shows_only_name_sex_dob_and_the_directory_team(shielded):
    record = queries.get_child_record(user=user(Role.PRACTITIONER), contactpoint_id=shielded.contactpoint_id)
    assert (record.given_names, record.family_name, record.date_of_birth, record.sex) == (
        "Maya", "Fernandes", datetime.date(2010, 4, 17), "F"
    )
    assert record.shielded and record.location is None and record.carers == []
    assert record.directory_team is not None and record.directory_team.email.startswith("directory-team")
    assert {i.service_type for i in record.involvements} == {"social_care", "mental_health"}  # no school, no GP
    assert all(i.contact is None and i.organisation is None for i in record.involvements)
    _assert_nothing_withheld_in(record)


def test_the_directory_team_sees_hidden_details_only_with_a_reason(shielded):
    team = user(Role.DIRECTORY_TEAM)
    without = queries.get_child_record(user=team, contactpoint_id=shielded.contactpoint_id)
    assert without.shielded and without.location is None
    assert events(AuditAction.ACCESS_BREAK_GLASS) == []
    record = queries.get_child_record(user=team, contactpoint_id=shielded.contactpoint_id,
                                      reason="section 47 enquiry")
    assert not record.shielded and record.location is not None and record.carers
    [glass] = events(AuditAction.ACCESS_BREAK_GLASS)
    assert glass.children == [shielded.contactpoint_id] and glass.reason == "section 47 enquiry"


def test_another_areas_directory_team_cannot_see_a_shielded_child(shielded):
    other_team = user(Role.DIRECTORY_TEAM, area_code="E08000026")
    with pytest.raises(AccessDenied):
        queries.get_child_record(user=other_team, contactpoint_id=shielded.contactpoint_id, reason="curious")


def test_the_childs_own_directory_team_can_find_it_by_postcode(shielded):
    outcome = queries.search_children(user=user(Role.DIRECTORY_TEAM),
                                      criteria=SearchCriteria(family_name="Fernandes", postcode="B12 8QT"))
    [result] = outcome.results
    assert result.town is None  # a list never shows a shielded child's location


def test_unshielding_restores_the_details(shielded):
    team = user(Role.DIRECTORY_TEAM)
    services.unshield_child(actor=team, contactpoint_id=shielded.contactpoint_id, reason="risk has passed")
    record = queries.get_child_record(user=user(Role.PRACTITIONER), contactpoint_id=shielded.contactpoint_id)
    assert not record.shielded and record.location is not None
    assert [e.reason for e in events(AuditAction.DIRECTORY_UNSHIELD)] == ["risk has passed"]


def test_a_merged_away_identifier_is_read_as_the_surviving_record(tmp_path):
    from contactpoint.directory.errors import ChildMerged
    from contactpoint.matching.corrections import merge_children

    children = load_children(tmp_path, [
        child_row("M1", given_names="Ada", family_name="Brook", date_of_birth="2012-02-02", postcode="B1 1AA"),
        child_row("M2", given_names="Ida", family_name="Stream", date_of_birth="2011-01-01", postcode="B2 4QA"),
    ])
    survivor, merged_away = children["M1"], children["M2"]
    merge_children(actor=user(Role.DIRECTORY_TEAM), surviving=survivor, merged=merged_away, reason="one child")
    practitioner = user(Role.PRACTITIONER)

    with pytest.raises(ChildMerged) as moved:
        queries.get_child_record(user=practitioner, contactpoint_id=merged_away.contactpoint_id, follow_merges=False)
    assert (moved.value.merged_id, moved.value.surviving_id) == (merged_away.contactpoint_id, survivor.contactpoint_id)
    assert events(AuditAction.ACCESS_CHILD_VIEW) == []  # only the identifier was given

    record = queries.get_child_record(user=practitioner, contactpoint_id=merged_away.contactpoint_id)
    assert (record.contactpoint_id, record.merged_from) == (survivor.contactpoint_id, merged_away.contactpoint_id)
    # merged_from is kept only when that identifier really leads to this record.
    other = load_children(tmp_path, [child_row("M3", given_names="Ola", family_name="Lake",
                                               date_of_birth="2010-03-03", postcode="B3 3HJ")])["M3"]
    for claimed in (other.contactpoint_id, survivor.contactpoint_id, "not-an-id"):
        record = queries.get_child_record(user=practitioner, contactpoint_id=survivor.contactpoint_id,
                                          merged_from=claimed)
        assert record.merged_from is None
