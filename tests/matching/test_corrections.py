"""Review decisions and corrections: each is reversible, keeps records and identifiers, survives feeds."""

from __future__ import annotations

import datetime

import pytest
from tests.access.factories import LocalAuthorityFactory, OrganisationFactory, UserFactory
from tests.ingest.test_pipeline import child_row, write_feed

from contactpoint.access.models import Role
from contactpoint.access.policy import AccessDenied
from contactpoint.audit.models import AuditEvent
from contactpoint.directory.models import Child, Involvement
from contactpoint.directory.services import shield_child
from contactpoint.feeds.models import SourceRecord
from contactpoint.feeds.services import add_source
from contactpoint.ingest.pipeline import load_feed
from contactpoint.matching.corrections import (
    CorrectionError,
    ShieldedMergeError,
    accept_review,
    merge_children,
    merge_children_by_identifier,
    reject_review,
    split_record,
    undo_correction,
)
from contactpoint.matching.models import Correction, NeverLink, ReviewItem
from contactpoint.orgs.models import LocalAuthority

pytestmark = pytest.mark.django_db

AREA = "E08000025"


@pytest.fixture
def team_member(db):
    authority = LocalAuthorityFactory(code=AREA)
    return UserFactory(role=Role.DIRECTORY_TEAM, organisation=OrganisationFactory(local_authority=authority))


@pytest.fixture
def other_area_member(db):
    authority = LocalAuthorityFactory(code="E09000001")
    return UserFactory(role=Role.DIRECTORY_TEAM, organisation=OrganisationFactory(local_authority=authority))


@pytest.fixture
def two_children(tmp_path, team_member):
    """Two children the matcher kept apart, from two sources."""
    add_source(code="nhs", name="NHS", trust=9)
    add_source(code="school", name="School census", trust=7)
    load_feed(source_code="nhs", path=write_feed(tmp_path / "a.csv", [child_row("N1")]))
    other = child_row(
        "S1",
        given_names="Amelie",
        family_name="Okafor-Bello",
        date_of_birth="2015-04-03",
        postcode="B29 6TT",
        address_line_1="3 Birch Close",
        nhs_number="",
        service_type="school",
        organisation_code="103456",
        organisation_name="Elm Primary",
    )
    load_feed(source_code="school", path=write_feed(tmp_path / "b.csv", [other]))
    a = SourceRecord.objects.get(source_record_id="N1")
    b = SourceRecord.objects.get(source_record_id="S1")
    if a.child_id == b.child_id:
        pytest.skip("the matcher linked these; the scenario needs two children")
    return a, b


def review_item(record, candidate):
    return ReviewItem.objects.create(
        record=record,
        candidate=candidate,
        score=0.7,
        model_version="test",
        local_authority=LocalAuthority.objects.get(code=AREA),
    )


def test_accepting_a_review_merges_into_the_candidates_child_and_undo_restores(two_children, team_member):
    record, candidate = two_children
    record_child, candidate_child = record.child, candidate.child
    correction = accept_review(actor=team_member, item=review_item(record, candidate), reason="same school, same carer")
    record.refresh_from_db()
    assert record.child == candidate_child  # the candidate's identifier survives
    assert record.link_pinned
    record_child.refresh_from_db()
    assert record_child.status == Child.Status.MERGED and record_child.merged_into == candidate_child
    assert SourceRecord.objects.count() == 2  # nothing deleted
    assert AuditEvent.objects.filter(action="matching:review:decide").exists()

    undo_correction(actor=team_member, correction=correction, reason="accepted in error")
    record.refresh_from_db()
    record_child.refresh_from_db()
    assert record.child == record_child
    assert record_child.status == Child.Status.ACTIVE
    assert ReviewItem.objects.get().status == ReviewItem.Status.OPEN


def test_rejecting_keeps_them_apart_even_when_the_feed_is_sent_again(tmp_path, two_children, team_member):
    record, candidate = two_children
    reject_review(actor=team_member, item=review_item(record, candidate), reason="different mothers")
    assert NeverLink.objects.filter(is_active=True).count() == 1
    # The school re-sends its record as a new one, identical to the NHS record: matching must not link
    # it to a record a person said is a different child.
    SourceRecord.objects.filter(pk=candidate.pk).update(retired_at=None)
    load_feed(source_code="school", path=write_feed(tmp_path / "c.csv", [dict(child_row("S1"), nhs_number="")]))
    record.refresh_from_db()
    candidate.refresh_from_db()
    assert record.child_id != candidate.child_id


def test_merge_and_split_are_reversible_and_keep_practitioner_entries(two_children, team_member):
    record, candidate = two_children
    survivor, merged = candidate.child, record.child
    Involvement.objects.create(child=merged, service_type="health_visitor", origin="practitioner")
    merge = merge_children(actor=team_member, surviving=survivor, merged=merged, reason="same child")
    assert Involvement.objects.get(origin="practitioner").child == survivor
    assert set(SourceRecord.objects.values_list("child", flat=True)) == {survivor.pk}

    undo_correction(actor=team_member, correction=merge, reason="wrong")
    assert Involvement.objects.get(origin="practitioner").child == merged
    record.refresh_from_db()
    assert record.child == merged

    merge_children(actor=team_member, surviving=survivor, merged=merged, reason="same child after all")
    record.refresh_from_db()
    split = split_record(actor=team_member, record=record, reason="twin")
    record.refresh_from_db()
    assert record.child not in (survivor, merged)
    assert NeverLink.objects.filter(correction=split, is_active=True).exists()
    undo_correction(actor=team_member, correction=split, reason="not a twin")
    record.refresh_from_db()
    assert record.child == survivor
    with pytest.raises(CorrectionError, match="already been undone"):
        undo_correction(actor=team_member, correction=split, reason="again")


def test_a_directory_team_outside_the_area_cannot_correct(two_children, other_area_member):
    record, candidate = two_children
    with pytest.raises(AccessDenied, match="outside your local authority"):
        merge_children(actor=other_area_member, surviving=candidate.child, merged=record.child, reason="x")
    record.refresh_from_db()
    assert record.child_id != candidate.child_id


def _without_area(record):
    """The record's child as if no source had named its local authority."""
    SourceRecord.objects.filter(child_id=record.child_id).update(local_authority="")
    Child.objects.filter(pk=record.child_id).update(local_authority=None)
    record.refresh_from_db()
    return Child.objects.get(pk=record.child_id)


def test_a_child_with_no_local_authority_is_in_no_teams_area(two_children, team_member):
    """As in a team's search: even the team of a child in its area can't merge it, nor split it, by itself."""
    record, candidate = two_children
    arealess, in_area = _without_area(record), candidate.child
    attempts = {
        "merge into it": lambda: merge_children(actor=team_member, surviving=arealess, merged=in_area, reason="x"),
        "merge it in": lambda: merge_children(actor=team_member, surviving=in_area, merged=arealess, reason="x"),
        "merge by identifier": lambda: merge_children_by_identifier(
            actor=team_member, surviving_id=in_area.contactpoint_id, merged_id=arealess.contactpoint_id, reason="x"
        ),
        "split": lambda: split_record(actor=team_member, record=record, reason="x"),
    }
    for what, attempt in attempts.items():
        with pytest.raises(AccessDenied, match="no local authority"):
            attempt()
        assert Child.objects.get(pk=arealess.pk).status == Child.Status.ACTIVE, what
    assert not Correction.objects.exists() and not NeverLink.objects.exists()
    record.refresh_from_db()
    assert record.child_id == arealess.pk and not record.link_pinned


@pytest.mark.parametrize("arealess_side", ["record", "candidate"])
def test_the_areas_team_links_a_paired_child_with_no_local_authority_into_its_area(
    two_children, team_member, arealess_side
):
    """The matcher's pair is in the team's queue (the area of the child that has one): the team decides it.

    Accepting merges the child with no area into the team's child, whichever side it is on, so the survivor
    keeps the area (and the identifier the area knows); the decision can be undone, and rejecting works too.
    """
    record, candidate = two_children
    arealess_record, placed_record = (record, candidate) if arealess_side == "record" else (candidate, record)
    arealess, in_area = _without_area(arealess_record), placed_record.child
    item = review_item(record, candidate)
    correction = accept_review(actor=team_member, item=item, reason="same child")
    arealess.refresh_from_db()
    in_area.refresh_from_db()
    assert arealess.status == Child.Status.MERGED and arealess.merged_into == in_area
    assert in_area.status == Child.Status.ACTIVE and in_area.local_authority.code == AREA
    assert set(SourceRecord.objects.values_list("child", flat=True)) == {in_area.pk}
    assert correction.details["surviving_child"] == in_area.pk

    undo_correction(actor=team_member, correction=correction, reason="accepted in error")
    arealess.refresh_from_db()
    arealess_record.refresh_from_db()
    assert arealess.status == Child.Status.ACTIVE and arealess_record.child == arealess
    assert arealess.local_authority_id is None  # back out of the area, as it came
    item.refresh_from_db()
    assert item.status == ReviewItem.Status.OPEN

    rejection = reject_review(actor=team_member, item=item, reason="different mothers")
    assert NeverLink.objects.filter(correction=rejection, is_active=True).count() == 1
    undo_correction(actor=team_member, correction=rejection, reason="not sure yet")
    assert not NeverLink.objects.filter(is_active=True).exists()


def test_no_team_pulls_another_areas_child_into_a_decision(two_children, team_member, other_area_member):
    """The exception is only for a child with no area paired with one in the team's own area."""
    record, candidate = two_children
    arealess = _without_area(record)
    item = review_item(record, candidate)  # the candidate's child is in AREA, not in other_area_member's
    for decide in (accept_review, reject_review):
        with pytest.raises(AccessDenied, match="outside your local authority"):
            decide(actor=other_area_member, item=item, reason="x")
    # The team of AREA, once the candidate's child is held by another area: refused too.
    Child.objects.filter(pk=candidate.child_id).update(local_authority=other_area_member.local_authority_id)
    for decide in (accept_review, reject_review):
        with pytest.raises(AccessDenied, match="outside your local authority"):
            decide(actor=team_member, item=item, reason="x")
    # Two children with no area: no one's pair.
    Child.objects.filter(pk=candidate.child_id).update(local_authority=None)
    for decide in (accept_review, reject_review):
        with pytest.raises(AccessDenied, match="no local authority"):
            decide(actor=team_member, item=item, reason="x")
    assert not Correction.objects.exists() and not NeverLink.objects.exists()
    item.refresh_from_db()
    assert item.status == ReviewItem.Status.OPEN
    assert Child.objects.get(pk=arealess.pk).status == Child.Status.ACTIVE


@pytest.mark.parametrize("decide", [accept_review, reject_review])
def test_undoing_a_decided_pair_is_refused_to_another_areas_team(two_children, team_member, other_area_member, decide):
    """Undo checks the item's pair as deciding does (a rejection moved no records, yet is checked too)."""
    record, candidate = two_children
    _without_area(record)
    correction = decide(actor=team_member, item=review_item(record, candidate), reason="decided")
    with pytest.raises(AccessDenied, match="outside your local authority"):
        undo_correction(actor=other_area_member, correction=correction, reason="x")
    assert not Correction.objects.filter(kind=Correction.Kind.UNDO).exists()
    assert ReviewItem.objects.get().status != ReviewItem.Status.OPEN


def test_a_practitioner_cannot_correct(two_children, db):
    record, candidate = two_children
    practitioner = UserFactory(role=Role.PRACTITIONER)
    with pytest.raises(AccessDenied):
        accept_review(actor=practitioner, item=review_item(record, candidate))


def _shield(child, actor):
    review_on = datetime.date.today() + datetime.timedelta(days=90)
    shield_child(actor=actor, contactpoint_id=child.contactpoint_id, reason="refuge placement", review_on=review_on)


def test_a_shielded_child_is_never_merged_into_one_that_is_not(two_children, team_member):
    """Its records would feed the unshielded golden record, showing its address to everyone."""
    record, candidate = two_children
    shielded, open_child = record.child, candidate.child
    _shield(shielded, team_member)
    with pytest.raises(ShieldedMergeError, match="keep the shielded record"):
        merge_children(actor=team_member, surviving=open_child, merged=shielded, reason="same child")
    # Accepting a review item merges the record's child into the candidate's: the same rule holds.
    with pytest.raises(ShieldedMergeError):
        accept_review(actor=team_member, item=review_item(record, candidate), reason="same child")
    record.refresh_from_db()
    assert record.child == shielded and ReviewItem.objects.get().status == ReviewItem.Status.OPEN

    # Keeping the shielded child is fine: the merged records are hidden with it.
    merge_children(actor=team_member, surviving=shielded, merged=open_child, reason="same child")
    candidate.refresh_from_db()
    assert candidate.child == shielded


def test_merging_by_identifier_needs_active_children_and_a_reason(two_children, team_member):
    record, candidate = two_children
    survivor, merged = candidate.child, record.child
    with pytest.raises(CorrectionError, match="give the reason"):
        merge_children_by_identifier(
            actor=team_member, surviving_id=survivor.contactpoint_id, merged_id=merged.contactpoint_id, reason=" "
        )
    Child.objects.filter(pk=merged.pk).update(status=Child.Status.ARCHIVED)
    with pytest.raises(CorrectionError, match="no active child"):
        merge_children_by_identifier(
            actor=team_member, surviving_id=survivor.contactpoint_id, merged_id=merged.contactpoint_id, reason="x"
        )
    Child.objects.filter(pk=merged.pk).update(status=Child.Status.ACTIVE)
    correction = merge_children_by_identifier(
        actor=team_member,
        surviving_id=survivor.contactpoint_id.lower(),
        merged_id=merged.contactpoint_id,
        reason="same child",
    )
    assert correction.details["surviving_contactpoint_id"] == survivor.contactpoint_id
    assert correction.details["merged_contactpoint_id"] == merged.contactpoint_id
    merged.refresh_from_db()
    assert merged.status == Child.Status.MERGED and merged.merged_into == survivor


def test_merging_by_identifier_refuses_other_roles_before_looking_anything_up(two_children, db):
    record, candidate = two_children
    practitioner = UserFactory(role=Role.PRACTITIONER)
    with pytest.raises(AccessDenied):
        merge_children_by_identifier(actor=practitioner, surviving_id="nonsense", merged_id="nonsense", reason="x")
    with pytest.raises(AccessDenied):
        merge_children_by_identifier(
            actor=practitioner,
            surviving_id=candidate.child.contactpoint_id,
            merged_id=record.child.contactpoint_id,
            reason="x",
        )
