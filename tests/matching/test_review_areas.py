"""A review item is in the queue of the area its children are in now, not the area they were in."""

from __future__ import annotations

from pathlib import Path

import pytest

from contactpoint.feeds.models import SourceRecord
from contactpoint.matching.models import ReviewItem
from contactpoint.orgs.models import LocalAuthority
from directory.builders import AREA, OTHER_AREA, child_row, load_children

pytestmark = pytest.mark.django_db


def record(srid: str) -> SourceRecord:
    return SourceRecord.objects.select_related("child").get(source_record_id=srid)


def test_an_open_item_follows_its_candidate_child_to_a_new_area(tmp_path: Path) -> None:
    load_children(tmp_path, [child_row("CAND"), child_row("REC", given_names="Ian", family_name="Brook",
                                                           date_of_birth="2012-02-02")])
    home = LocalAuthority.objects.get(code=AREA)
    item = ReviewItem.objects.create(record=record("REC"), candidate=record("CAND"), score=0.7, model_version="t",
                                     local_authority=home)
    decided = ReviewItem.objects.create(record=record("CAND"), candidate=record("REC"), score=0.6,
                                        model_version="t", local_authority=home, status=ReviewItem.Status.REJECTED)
    # The candidate's family moves to another area; its source says so.
    load_children(tmp_path, [child_row("CAND", address_line_1="4 Canal Street", postcode="B1 1AA",
                                       local_authority=OTHER_AREA)])
    assert record("CAND").child.local_authority.code == OTHER_AREA
    item.refresh_from_db()
    decided.refresh_from_db()
    assert item.local_authority.code == OTHER_AREA  # the new area's team reviews it now
    assert decided.local_authority.code == AREA  # a decided item is history: it stays where it was decided


def test_an_item_of_an_unchanged_child_keeps_its_area(tmp_path: Path) -> None:
    load_children(tmp_path, [child_row("CAND"), child_row("REC", given_names="Ian", family_name="Brook",
                                                           date_of_birth="2012-02-02")])
    other = LocalAuthority.objects.get(code=OTHER_AREA)
    # An item a person placed in another area is not moved by a feed touching neither child.
    item = ReviewItem.objects.create(record=record("REC"), candidate=record("CAND"), score=0.7, model_version="t",
                                     local_authority=other)
    load_children(tmp_path, [child_row("NEW", given_names="Zed", family_name="Zephyr", date_of_birth="2014-05-05")])
    item.refresh_from_db()
    assert item.local_authority == other
