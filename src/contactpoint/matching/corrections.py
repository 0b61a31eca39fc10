"""People's corrections to identity: accept or reject a suggested link, merge two children, split a
source record off a child — and undo any of them.

Rules every correction keeps:

* **Reversible.** Each move of a source record is a ``LinkEvent`` tied to its ``Correction`` (with the
  record's previous pin), and anything else changed is in ``Correction.details``; :func:`undo_correction`
  replays them backwards.
* **Keeps all source records.** Records move between children; none is deleted.
* **Keeps the surviving child's directory identifier.** A merge marks the other child ``merged`` (with
  ``merged_into``) rather than deleting it, so an identifier someone wrote down still resolves.
* **Never undone by the next feed.** Moved records are pinned (feeds never move pinned records) and a
  rejection or split writes ``NeverLink`` pairs that matching honours.
* **Scoped and audited.** Only a directory team member of the child's local authority may correct
  (``access.policy``); a child with no local authority is in no team's area, so no one may merge, split
  or otherwise correct it — except to decide a review item that pairs it with a child in the team's area
  (``policy.can_link_children``): accepting links it into that area (the child in the area survives),
  rejecting keeps the two apart. Each correction writes its audit event in the same transaction.
* **Never lifts a shield.** A shielded child can't be merged into one that is not shielded (its records
  would then show through the unshielded golden record): keep the shielded child, or shield the other first.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from contactpoint.access.models import User
from contactpoint.access.permissions import Permission
from contactpoint.access.policy import AccessDenied, Decision, can_act_on_child, can_link_children, require
from contactpoint.audit.services import record_event
from contactpoint.audit.tags import AuditAction
from contactpoint.core.identifiers import normalise_contactpoint_id
from contactpoint.directory.identity import rebuild_golden_records
from contactpoint.directory.models import Child, Involvement
from contactpoint.feeds.models import SourceRecord
from contactpoint.matching.models import Correction, LinkEvent, NeverLink, ReviewItem
from contactpoint.matching.services import assign_review_areas


class CorrectionError(Exception):
    """A correction that can't be made as asked; the message says why."""


class ShieldedMergeError(CorrectionError):
    """A merge that would show a shielded child's records through a child that is not shielded."""


def _require_in_area(actor: User, children: Iterable[Child]) -> None:
    """Every child a correction touches must be in the actor's own local authority (AccessDenied otherwise).

    A child with no local authority is in no directory team's area (``policy.can_act_on_child``): it can't
    be corrected until a feed names its local authority, just as no team finds it in a search, sees it in
    the review queue, shields it or merges it from the record page.
    """
    for child in children:
        decision = can_act_on_child(
            actor, Permission.MATCHING_REVIEW_DECIDE, child_local_authority_id=child.local_authority_id
        )
        if not decision:
            raise AccessDenied(decision, str(Permission.MATCHING_REVIEW_DECIDE))


def review_decision(actor: Any, children: Iterable[Child]) -> Decision:
    """Whether ``actor`` may decide a review item (or undo its decision) about these children.

    Each child in the actor's area, or a child with no local authority paired with one that is
    (``policy.can_link_children``): the matcher's pair is in that area's queue, and no other team could
    ever decide it. Never a child of another area.
    """
    return can_link_children(
        actor, Permission.MATCHING_REVIEW_DECIDE,
        child_local_authority_ids=tuple(child.local_authority_id for child in children),
    )


def _require_review_decision(actor: User, children: Iterable[Child]) -> None:
    decision = review_decision(actor, children)
    if not decision:
        raise AccessDenied(decision, str(Permission.MATCHING_REVIEW_DECIDE))


def _move_records(records: Iterable[SourceRecord], to_child: Child, correction: Correction, method: str) -> set[int]:
    """Move records to a child, pinned, with a link event each. Returns the children touched."""
    touched: set[int] = {to_child.pk}
    for record in records:
        if record.child_id == to_child.pk:
            continue
        if record.child_id is not None:
            touched.add(record.child_id)
        LinkEvent.objects.create(
            source_record=record,
            from_child_id=record.child_id,
            to_child=to_child,
            method=method,
            score=record.link_score,
            model_version=record.link_model_version,
            correction=correction,
            was_pinned=record.link_pinned,
        )
        record.child = to_child
        record.link_method = (
            SourceRecord.LinkMethod.MANUAL if method != "reviewed" else SourceRecord.LinkMethod.REVIEWED
        )
        record.link_pinned = True
        record.save(update_fields=["child", "link_method", "link_pinned"])
    return touched


def _after_moves(child_ids: set[int]) -> None:
    """Golden records and feed-derived carers/involvements follow the records to their new child."""
    live = list(Child.objects.filter(pk__in=child_ids, status=Child.Status.ACTIVE).values_list("pk", flat=True))
    rebuild_golden_records(live)
    assign_review_areas(live)
    records = list(SourceRecord.objects.filter(child_id__in=child_ids).values_list("pk", flat=True))
    _resync_feed_details(records)


def _resync_feed_details(record_ids: list[int]) -> None:
    # Feed-derived carers and involvements hang off their source record; re-point them at its child.
    from contactpoint.directory.models import Carer

    for model in (Carer, Involvement):
        for row in model.objects.filter(source_record_id__in=record_ids).select_related("source_record"):
            owner = row.source_record.child_id if row.source_record is not None else None
            if owner is not None and row.child_id != owner:
                row.child_id = owner
                row.save(update_fields=["child"])


def shield_refusal(*, surviving_is_shielded: bool, merged_is_shielded: bool) -> str:
    """Why merging would expose a shielded child's details ("" when it would not).

    The merged child's records move to the surviving child and feed its golden record; if only the merged
    child is shielded, its address would show to everyone. Pages call this to warn before the merge;
    every merge (and every accepted review item) is refused by it too.
    """
    if merged_is_shielded and not surviving_is_shielded:
        return (
            "the record to be merged in is shielded and the record to keep is not: keep the shielded record, "
            "or shield the other one first"
        )
    return ""


def _merge(*, actor: User, surviving: Child, merged: Child, correction: Correction) -> set[int]:
    if surviving.pk == merged.pk:
        raise CorrectionError("a child can't be merged into itself")
    # Decide on the rows as they are now (locked), not on what the caller loaded earlier.
    list(Child.objects.select_for_update().filter(pk__in=[surviving.pk, merged.pk]))
    surviving.refresh_from_db()
    merged.refresh_from_db()
    if merged.status != Child.Status.ACTIVE or surviving.status != Child.Status.ACTIVE:
        raise CorrectionError("both children must be active to merge them")
    refusal = shield_refusal(surviving_is_shielded=surviving.is_shielded, merged_is_shielded=merged.is_shielded)
    if refusal:
        raise ShieldedMergeError(refusal)
    records = list(SourceRecord.objects.filter(child=merged))
    touched = _move_records(records, surviving, correction, "manual")
    moved_involvements = list(
        Involvement.objects.filter(child=merged, origin=Involvement.Origin.PRACTITIONER).values_list("pk", flat=True)
    )
    Involvement.objects.filter(pk__in=moved_involvements).update(child=surviving)
    merged.status = Child.Status.MERGED
    merged.merged_into = surviving
    merged.save(update_fields=["status", "merged_into"])
    correction.details = {
        "merged_child": merged.pk,
        "surviving_child": surviving.pk,
        "moved_involvements": moved_involvements,
        # The opaque identifiers too, so that the correction's page can say which records it joined.
        "merged_contactpoint_id": merged.contactpoint_id,
        "surviving_contactpoint_id": surviving.contactpoint_id,
    }
    correction.save(update_fields=["details"])
    return touched


@transaction.atomic
def merge_children(*, actor: User, surviving: Child, merged: Child, reason: str) -> Correction:
    """Two children are one: move every record of ``merged`` onto ``surviving`` (whose identifier stays)."""
    _require_in_area(actor, [surviving, merged])
    correction = Correction.objects.create(kind=Correction.Kind.MERGE, actor=actor, reason=reason)
    touched = _merge(actor=actor, surviving=surviving, merged=merged, correction=correction)
    _after_moves(touched)
    record_event(
        action=AuditAction.MATCHING_CORRECTION,
        actor=actor,
        reason=reason,
        children=[surviving.contactpoint_id, merged.contactpoint_id],
        details={"correction": correction.pk, "kind": "merge"},
    )
    return correction


@transaction.atomic
def merge_children_by_identifier(*, actor: User, surviving_id: str, merged_id: str, reason: str) -> Correction:
    """:func:`merge_children` for callers that hold ContactPoint identifiers (the directory team's merge page).

    Both children must be active; a reason is required. The area, "not itself" and shielding rules are
    :func:`merge_children`'s, decided on the rows as they are inside this transaction.
    """
    require(actor, Permission.MATCHING_REVIEW_DECIDE)  # before saying anything about the identifiers
    if not reason.strip():
        raise CorrectionError("give the reason why these records are the same child")
    wanted = [normalise_contactpoint_id(surviving_id), normalise_contactpoint_id(merged_id)]
    found = {c.contactpoint_id: c for c in Child.objects.filter(contactpoint_id__in=wanted, status=Child.Status.ACTIVE)}
    for identifier in wanted:
        if identifier not in found:
            raise CorrectionError(f"no active child has the ContactPoint identifier {identifier}")
    return merge_children(
        actor=actor, surviving=found[wanted[0]], merged=found[wanted[1]], reason=reason.strip()
    )


@transaction.atomic
def split_record(*, actor: User, record: SourceRecord, reason: str) -> Correction:
    """A source record is not this child: give it a child of its own, and keep it apart from the rest."""
    if record.child is None:
        raise CorrectionError("this record is not linked to a child")
    old_child = record.child
    _require_in_area(actor, [old_child])
    others = list(SourceRecord.objects.filter(child=old_child).exclude(pk=record.pk))
    if not others:
        raise CorrectionError("this is the child's only record: there is nothing to split it from")
    correction = Correction.objects.create(kind=Correction.Kind.SPLIT, actor=actor, reason=reason)
    new_child = Child.objects.create(local_authority=old_child.local_authority)
    touched = _move_records([record], new_child, correction, "manual")
    NeverLink.objects.bulk_create(NeverLink(record_a=record, record_b=other, correction=correction) for other in others)
    correction.details = {"new_child": new_child.pk}
    correction.save(update_fields=["details"])
    _after_moves(touched)
    record_event(
        action=AuditAction.MATCHING_CORRECTION,
        actor=actor,
        reason=reason,
        children=[old_child.contactpoint_id, new_child.contactpoint_id],
        details={"correction": correction.pk, "kind": "split"},
    )
    return correction


def _open_item(item: ReviewItem) -> tuple[SourceRecord, SourceRecord]:
    if item.status != ReviewItem.Status.OPEN:
        raise CorrectionError(f"this review item was already decided ({item.status})")
    record = SourceRecord.objects.select_related("child").get(pk=item.record_id)
    candidate = SourceRecord.objects.select_related("child").get(pk=item.candidate_id)
    if record.child is None or candidate.child is None:
        raise CorrectionError("one of the records is no longer linked to a child")
    return record, candidate


def review_survivor(record_child: Child, candidate_child: Child) -> tuple[Child, Child]:
    """(surviving, merged) when a review item is accepted.

    The record's child is merged into the candidate's, whose identifier stays; but a child with no local
    authority never survives one that has one: the record with no area is linked into the area, so the
    child the area's team and practitioners know keeps its identifier (and the survivor stays in the area).
    """
    if candidate_child.local_authority_id is None and record_child.local_authority_id is not None:
        return record_child, candidate_child
    return candidate_child, record_child


@transaction.atomic
def accept_review(*, actor: User, item: ReviewItem, reason: str = "") -> Correction:
    """Same child: the two children become one (:func:`review_survivor` says whose identifier stays)."""
    record, candidate = _open_item(item)
    assert record.child is not None and candidate.child is not None
    _require_review_decision(actor, [record.child, candidate.child])
    correction = Correction.objects.create(kind=Correction.Kind.ACCEPT, actor=actor, reason=reason, review_item=item)
    touched: set[int] = set()
    if record.child_id != candidate.child_id:
        surviving, merged = review_survivor(record.child, candidate.child)
        touched = _merge(actor=actor, surviving=surviving, merged=merged, correction=correction)
    _decide(item, ReviewItem.Status.ACCEPTED, actor)
    _after_moves(touched)
    record_event(
        action=AuditAction.MATCHING_REVIEW_DECIDE,
        actor=actor,
        reason=reason,
        children=[candidate.child.contactpoint_id, record.child.contactpoint_id],
        details={"correction": correction.pk, "review_item": item.pk, "decision": "accept"},
    )
    return correction


@transaction.atomic
def reject_review(*, actor: User, item: ReviewItem, reason: str = "") -> Correction:
    """Different children: they stay apart, now and in every later feed."""
    record, candidate = _open_item(item)
    assert record.child is not None and candidate.child is not None
    _require_review_decision(actor, [record.child, candidate.child])
    correction = Correction.objects.create(kind=Correction.Kind.REJECT, actor=actor, reason=reason, review_item=item)
    NeverLink.objects.create(record_a=record, record_b=candidate, correction=correction)
    pinned = []
    for rec in (record, candidate):
        if not rec.link_pinned:
            rec.link_pinned = True
            rec.save(update_fields=["link_pinned"])
            pinned.append(rec.pk)
    correction.details = {"pinned_records": pinned}
    correction.save(update_fields=["details"])
    _decide(item, ReviewItem.Status.REJECTED, actor)
    record_event(
        action=AuditAction.MATCHING_REVIEW_DECIDE,
        actor=actor,
        reason=reason,
        children=[candidate.child.contactpoint_id, record.child.contactpoint_id],
        details={"correction": correction.pk, "review_item": item.pk, "decision": "reject"},
    )
    return correction


def _decide(item: ReviewItem, status: str, actor: User | None) -> None:
    item.status = status
    item.decided_by = actor
    item.decided_at = timezone.now() if actor is not None else None
    item.save(update_fields=["status", "decided_by", "decided_at"])


@transaction.atomic
def undo_correction(*, actor: User, correction: Correction, reason: str) -> Correction:
    """Put everything a correction changed back as it was, and record that as a correction too."""
    if hasattr(correction, "undone_by"):
        raise CorrectionError("this correction has already been undone")
    if correction.kind == Correction.Kind.UNDO:
        raise CorrectionError("an undo can't be undone; make the correction again instead")
    events = list(LinkEvent.objects.filter(correction=correction).select_related("source_record").order_by("-pk"))
    involved_ids = {e.from_child_id for e in events} | {e.to_child_id for e in events}
    involved_ids |= {v for k, v in correction.details.items() if k.endswith("child") and isinstance(v, int)}
    if correction.review_item_id is not None:
        # A decision on a review item: its pair as it is now (a rejection moved no records), by the same rule
        # as deciding it (a child with no local authority linked into the team's area can be taken back out).
        item = ReviewItem.objects.get(pk=correction.review_item_id)
        involved_ids |= set(
            SourceRecord.objects.filter(pk__in=[item.record_id, item.candidate_id]).values_list("child_id", flat=True)
        )
    involved = list(Child.objects.filter(pk__in=[pk for pk in involved_ids if pk is not None]))
    if correction.review_item_id is not None:
        _require_review_decision(actor, involved)
    else:
        _require_in_area(actor, involved)
    undo = Correction.objects.create(kind=Correction.Kind.UNDO, actor=actor, reason=reason, undoes=correction)
    details = correction.details
    if "merged_child" in details:
        Child.objects.filter(pk=details["merged_child"]).update(status=Child.Status.ACTIVE, merged_into=None)
        Involvement.objects.filter(pk__in=details.get("moved_involvements", [])).update(
            child_id=details["merged_child"]
        )
    touched: set[int] = set()
    for event in events:
        record = event.source_record
        LinkEvent.objects.create(
            source_record=record,
            from_child_id=record.child_id,
            to_child_id=event.from_child_id,
            method="undo",
            score=record.link_score,
            model_version=record.link_model_version,
            correction=undo,
            was_pinned=record.link_pinned,
        )
        touched |= {c for c in (record.child_id, event.from_child_id) if c is not None}
        record.child_id = event.from_child_id
        # The undo is itself a person's decision about this record: keep it pinned where it goes back to.
        record.link_pinned = True
        record.save(update_fields=["child", "link_pinned"])
    NeverLink.objects.filter(correction=correction).update(is_active=False)
    SourceRecord.objects.filter(pk__in=details.get("pinned_records", [])).update(link_pinned=False)
    if "new_child" in details and events:
        # The child a split created has no records left: it is folded back into the child it came from.
        Child.objects.filter(pk=details["new_child"]).update(
            status=Child.Status.MERGED, merged_into_id=events[-1].from_child_id
        )
    if correction.review_item_id is not None:
        item = ReviewItem.objects.get(pk=correction.review_item_id)
        _decide(item, ReviewItem.Status.OPEN, None)
    _after_moves(touched)
    record_event(
        action=AuditAction.MATCHING_CORRECTION_UNDO,
        actor=actor,
        reason=reason,
        children=list(Child.objects.filter(pk__in=touched).values_list("contactpoint_id", flat=True)),
        details={"correction": undo.pk, "undoes": correction.pk, "kind": correction.kind},
    )
    return undo


def open_review_items(*, actor: User) -> Any:
    """The review queue the actor may work on: open items in their local authority, best first."""
    decision = require(actor, Permission.MATCHING_REVIEW_VIEW)
    items = ReviewItem.objects.filter(status=ReviewItem.Status.OPEN)
    if decision.local_authority_scope is not None:
        items = items.filter(local_authority_id=decision.local_authority_scope)
    return items.order_by("-score", "pk")
