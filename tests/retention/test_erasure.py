"""``erase_child``: every row of the child goes, everywhere; the audit trail stays and still verifies."""

from __future__ import annotations

from pathlib import Path

import pytest

from contactpoint.access.models import Role
from contactpoint.audit.integrity import verify_log
from contactpoint.audit.models import AuditEvent
from contactpoint.audit.tags import AuditAction
from contactpoint.directory.models import (
    Carer,
    Child,
    ChildAddress,
    ChildName,
    Involvement,
    SearchToken,
    Shield,
)
from contactpoint.feeds.models import SourceRecord
from contactpoint.keystore.models import DataKey
from contactpoint.matching.models import Correction, LinkEvent, NeverLink, ReviewItem
from contactpoint.retention.errors import ChildNotFound, RetentionError
from contactpoint.retention.models import Archival
from contactpoint.retention.services import erase_child
from directory.builders import child_row, load_children, user

# Erasure destroys the children's keys in the key store (the database "keys").
pytestmark = pytest.mark.django_db(databases=["default", "keys"])

# Values distinctive enough to find in the database's files (test_erasure_on_disk.py).
ERASED = {
    "given_names": "Zephyrine", "family_name": "Quillbramble", "former_family_names": "Wexcombeholt",
    "address_line_1": "77 Marrowgate Lane", "postcode": "B98 7QX", "date_of_birth": "2014-06-09",
    "carer_given_names": "Ottoline", "carer_family_name": "Quillbramble", "carer_relationship": "mother",
    "carer_email": "ottoline.quillbramble@example.org", "service_type": "school",
    "organisation_code": "URN100001", "organisation_name": "Elm Primary",
}
KEPT = {
    "given_names": "Bartholomew", "family_name": "Thistlewaite", "address_line_1": "41 Gorsebrook Avenue",
    "postcode": "B96 5RT", "date_of_birth": "2013-01-17",
}


def load(tmp_path: Path) -> tuple[Child, Child]:
    loaded = load_children(tmp_path, [child_row("E1", **ERASED), child_row("K1", **KEPT)])
    return loaded["E1"], loaded["K1"]


def rows_of(child: Child) -> dict[str, int]:
    records = SourceRecord.objects.filter(child=child)
    return {
        "names": ChildName.objects.filter(child=child).count(),
        "addresses": ChildAddress.objects.filter(child=child).count(),
        "search": SearchToken.objects.filter(child=child).count(),
        "carers": Carer.objects.filter(child=child).count(),
        "involvements": Involvement.objects.filter(child=child).count(),
        "records": records.count(),
        "links": LinkEvent.objects.filter(source_record__in=records).count(),
    }


def test_erasure_deletes_every_row_of_the_child_and_nothing_of_another(tmp_path: Path) -> None:
    erased, kept = load(tmp_path)
    before = rows_of(erased)
    assert all(before.values()), before  # the seeded child really has a row everywhere
    kept_before = rows_of(kept)
    team = user(Role.DIRECTORY_TEAM)
    erased_record = SourceRecord.objects.get(child=erased)
    kept_record = SourceRecord.objects.get(child=kept)
    # A review item and a never-link between the two, with a correction that outlives its review item.
    item = ReviewItem.objects.create(record=erased_record, candidate=kept_record, score=0.7, model_version="t")
    correction = Correction.objects.create(kind=Correction.Kind.REJECT, actor=team, review_item=item)
    NeverLink.objects.create(record_a=kept_record, record_b=erased_record, correction=correction)
    # The kept child's history mentions the erased child (as if its record had been split off it).
    split = LinkEvent.objects.create(source_record=kept_record, from_child=erased, to_child=kept, method="manual")
    Shield.objects.create(child=erased, reason="r", review_on="2030-01-01", shielded_by=team)
    Archival.objects.create(child=erased, archived_on="2030-01-01", rule="adult")
    # A duplicate record merged into the erased child is the same person: it goes too.
    duplicate = Child.objects.create(status=Child.Status.MERGED, merged_into=erased)

    report = erase_child(contactpoint_id=erased.contactpoint_id, reason="order ABC/123", system_actor="ops")

    assert sorted(report.contactpoint_ids) == sorted([erased.contactpoint_id, duplicate.contactpoint_id])
    assert not Child.objects.filter(pk__in=[erased.pk, duplicate.pk]).exists()
    assert rows_of(erased) == dict.fromkeys(before, 0)
    assert not SourceRecord.objects.filter(pk=erased_record.pk).exists()
    assert not ReviewItem.objects.exists() and not NeverLink.objects.exists()
    assert not Shield.objects.exists() and not Archival.objects.exists()
    assert list(DataKey.objects.values_list("child_id", flat=True)) == [kept.pk]  # the erased child's key only
    correction.refresh_from_db()
    assert correction.review_item is None
    split.refresh_from_db()
    assert (split.from_child_id, split.to_child_id) == (None, kept.pk)
    assert rows_of(kept) == {**kept_before, "links": kept_before["links"] + 1}
    assert report.rows["directory_child"] == 2 and report.rows["keystore_datakey"] == 1


def test_the_audit_trail_survives_erasure_and_still_verifies(tmp_path: Path) -> None:
    erased, _ = load(tmp_path)
    assert verify_log().ok  # seals what came before
    erase_child(contactpoint_id=erased.contactpoint_id, reason="order ABC/123", system_actor="ops")
    event = AuditEvent.objects.get(action=AuditAction.RETENTION_ERASE)
    assert event.children == [erased.contactpoint_id]
    assert event.reason == "order ABC/123"
    assert "Quillbramble" not in str(event.details)
    result = verify_log()
    assert result.ok, result.summary()


def test_erasing_again_says_there_is_no_such_child(tmp_path: Path) -> None:
    erased, _ = load(tmp_path)
    erase_child(contactpoint_id=erased.contactpoint_id, reason="r", system_actor="ops")
    with pytest.raises(ChildNotFound):
        erase_child(contactpoint_id=erased.contactpoint_id, reason="r", system_actor="ops")


def test_erasure_needs_a_reason(tmp_path: Path) -> None:
    erased, _ = load(tmp_path)
    with pytest.raises(RetentionError):
        erase_child(contactpoint_id=erased.contactpoint_id, reason=" ", system_actor="ops")
