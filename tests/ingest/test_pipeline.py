"""Loading feeds end to end, on real PostgreSQL: idempotence, full-mode retirement, crash safety, matching."""

from __future__ import annotations

import csv

import pytest
from django.db import connection

from contactpoint.directory import identity
from contactpoint.directory.models import Child, Involvement
from contactpoint.feeds.format import FEED_FIELDS
from contactpoint.feeds.models import FeedBatch, RejectedRow, SourceRecord
from contactpoint.feeds.services import add_source
from contactpoint.ingest import pipeline
from contactpoint.ingest.pipeline import FeedRefused, load_feed

pytestmark = pytest.mark.django_db


def child_row(srid, **overrides):
    row = {
        "source_record_id": srid,
        "given_names": "Amelia Rose",
        "family_name": "Okafor",
        "date_of_birth": "2015-03-04",
        "sex": "F",
        "address_line_1": "12 Elm Road",
        "town": "Birmingham",
        "postcode": "B15 2TT",
        "nhs_number": "9434765919",
        "local_authority": "E08000025",
    }
    row.update(overrides)
    return row


def write_feed(path, rows):
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=FEED_FIELDS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in FEED_FIELDS})
    return path


def distinct_people(n):
    """n clearly different children (different names, dates of birth and addresses)."""
    given = [
        "Oliver",
        "Amelia",
        "George",
        "Isla",
        "Harry",
        "Ava",
        "Noah",
        "Mia",
        "Leo",
        "Ivy",
        "Arthur",
        "Freya",
        "Muhammad",
        "Lily",
        "Jack",
        "Grace",
        "Theo",
        "Sophia",
        "Oscar",
        "Ella",
    ]
    family = [
        "Smith",
        "Jones",
        "Patel",
        "Khan",
        "Taylor",
        "Brown",
        "Nowak",
        "Evans",
        "Wilson",
        "Begum",
        "Thomas",
        "Roberts",
        "Walker",
        "Wright",
        "Hughes",
        "Green",
        "Hall",
        "Wood",
        "Clarke",
        "Ali",
    ]
    rows = []
    for i in range(n):
        rows.append(
            child_row(
                f"R{i:04d}",
                given_names=given[i % 20],
                family_name=family[(i * 7) % 20],
                date_of_birth=f"20{10 + i % 8:02d}-{1 + i % 12:02d}-{1 + i % 28:02d}",
                address_line_1=f"{i + 1} Station Road",
                postcode=f"B{10 + i % 80} {1 + i % 9}AB",
                nhs_number="",
            )
        )
    return rows


@pytest.fixture
def source(db):
    return add_source(code="nhs_demographics", name="NHS demographics", trust=9)


def directory_state():
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM directory_child")
        children = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE retired_at IS NULL), "
            "string_agg(content_hash || coalesce(child_id::text, ''), ',' ORDER BY id) "
            "FROM feeds_sourcerecord"
        )
        records = cursor.fetchone()
    return children, records


def test_a_feed_creates_children_and_prints_counts(tmp_path, source):
    people = distinct_people(20)
    path = write_feed(tmp_path / "f.csv", people)
    summary = load_feed(source_code=source.code, path=path, mode="full")
    assert (summary.rows_read, summary.accepted, summary.rejected) == (20, 20, 0)
    assert summary.new_children == 20
    assert Child.objects.count() == 20
    child = SourceRecord.objects.get(source_record_id="R0003").child
    # the golden record came from the source record
    who = identity.read_identity(child)
    assert (who.given_names, who.family_name) == (people[3]["given_names"], people[3]["family_name"])


def test_loading_the_same_file_twice_changes_nothing(tmp_path, source):
    path = write_feed(tmp_path / "f.csv", distinct_people(15))
    load_feed(source_code=source.code, path=path, mode="full")
    before = directory_state()
    summary = load_feed(source_code=source.code, path=path, mode="full")
    assert summary.unchanged == 15
    assert (summary.new_records, summary.changed, summary.retired, summary.new_children) == (0, 0, 0, 0)
    assert directory_state() == before


def test_rejected_rows_are_reported_and_the_rest_load(tmp_path, source):
    rows = distinct_people(3)
    rows[1]["date_of_birth"] = "2015-02-30"
    path = write_feed(tmp_path / "f.csv", rows)
    summary = load_feed(source_code=source.code, path=path)
    assert (summary.accepted, summary.rejected) == (2, 1)
    rejected = RejectedRow.objects.get()
    assert (rejected.line_number, rejected.field) == (3, "date_of_birth")
    with open(summary.report_path, encoding="utf-8") as report:
        assert "3,R0001,date_of_birth," in report.read()


def test_full_mode_retires_records_no_longer_sent(tmp_path, source):
    rows = distinct_people(20)
    load_feed(source_code=source.code, path=write_feed(tmp_path / "a.csv", rows), mode="full")
    summary = load_feed(source_code=source.code, path=write_feed(tmp_path / "b.csv", rows[:19]), mode="full")
    assert summary.retired == 1
    gone = SourceRecord.objects.get(source_record_id=rows[19]["source_record_id"])
    assert gone.retired_at is not None


def test_full_mode_refuses_to_wipe_a_source_from_a_truncated_file(tmp_path, source):
    rows = distinct_people(20)
    load_feed(source_code=source.code, path=write_feed(tmp_path / "a.csv", rows), mode="full")
    before = directory_state()
    with pytest.raises(FeedRefused, match="would retire 15 of the 20"):
        load_feed(source_code=source.code, path=write_feed(tmp_path / "b.csv", rows[:5]), mode="full")
    assert directory_state() == before
    assert FeedBatch.objects.filter(status=FeedBatch.Status.REFUSED).count() == 1
    summary = load_feed(source_code=source.code, path=tmp_path / "b.csv", mode="full", force=True)
    assert summary.retired == 15


def test_delta_mode_never_retires(tmp_path, source):
    rows = distinct_people(10)
    load_feed(source_code=source.code, path=write_feed(tmp_path / "a.csv", rows), mode="full")
    summary = load_feed(source_code=source.code, path=write_feed(tmp_path / "b.csv", rows[:2]), mode="delta")
    assert summary.retired == 0
    assert SourceRecord.objects.filter(retired_at__isnull=True).count() == 10


def test_a_crash_mid_load_leaves_the_directory_as_it_was_and_the_batch_can_be_rerun(tmp_path, source, monkeypatch):
    load_feed(source_code=source.code, path=write_feed(tmp_path / "a.csv", distinct_people(5)), mode="full")
    before = directory_state()
    batches = FeedBatch.objects.count()
    bigger = write_feed(tmp_path / "b.csv", distinct_people(12))

    def crash(*args, **kwargs):
        raise RuntimeError("simulated crash after matching, before golden records")

    monkeypatch.setattr(pipeline, "rebuild_golden_records", crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        load_feed(source_code=source.code, path=bigger, mode="full")
    assert directory_state() == before
    assert FeedBatch.objects.count() == batches
    monkeypatch.undo()
    summary = load_feed(source_code=source.code, path=bigger, mode="full")
    assert summary.new_records == 7


def test_a_changed_record_updates_the_golden_record_and_keeps_the_old_name(tmp_path, source):
    rows = distinct_people(3)
    load_feed(source_code=source.code, path=write_feed(tmp_path / "a.csv", rows), mode="full")
    rows[0] = dict(rows[0], family_name="Okonkwo-Smith", former_family_names=rows[0]["family_name"])
    summary = load_feed(source_code=source.code, path=write_feed(tmp_path / "b.csv", rows), mode="full")
    assert summary.changed == 1
    child = SourceRecord.objects.get(source_record_id="R0000").child
    assert identity.read_identity(child).family_name == "Okonkwo-Smith"
    assert ("former", rows[0]["given_names"], "Smith") in identity.read_names(child.pk)


def test_feed_involvements_are_replaced_but_practitioner_entries_are_kept(tmp_path, source):
    row = child_row("R1", service_type="gp", organisation_code="M85001", organisation_name="Elm Surgery")
    load_feed(source_code=source.code, path=write_feed(tmp_path / "a.csv", [row]))
    child = Child.objects.get()
    Involvement.objects.create(child=child, service_type="health_visitor", origin="practitioner")
    row2 = dict(row, organisation_code="M85002", organisation_name="Oak Surgery")
    load_feed(source_code=source.code, path=write_feed(tmp_path / "b.csv", [row2]))
    services = sorted((i.origin, i.organisation.code if i.organisation else "") for i in child.involvements.all())
    assert services == [("feed", "M85002"), ("practitioner", "")]


def test_a_second_source_links_to_the_same_child(tmp_path, source):
    add_source(code="school_census", name="School census", trust=7)
    load_feed(source_code=source.code, path=write_feed(tmp_path / "a.csv", [child_row("N1")]))
    school = child_row(
        "S1",
        given_names="Amelia",
        nhs_number="",
        upn="",
        service_type="school",
        organisation_code="103456",
        organisation_name="Elm Primary",
    )
    summary = load_feed(source_code="school_census", path=write_feed(tmp_path / "b.csv", [school]))
    assert summary.linked_to_existing == 1
    assert Child.objects.count() == 1
    child = Child.objects.get()
    assert identity.read_identity(child).given_names == "Amelia Rose"  # NHS demographics is more trusted
    assert child.involvements.get().service_type == "school"


def test_twins_stay_two_children(tmp_path, source):
    twin_a = child_row("T1", given_names="Oliver", sex="M", nhs_number="")
    twin_b = child_row("T2", given_names="Harry", sex="M", nhs_number="")
    summary = load_feed(source_code=source.code, path=write_feed(tmp_path / "a.csv", [twin_a, twin_b]))
    assert summary.linked_to_existing == 0
    assert Child.objects.count() == 2
    assert SourceRecord.objects.values("child").distinct().count() == 2


def test_a_wrong_nhs_number_does_not_merge_two_children(tmp_path, source):
    a = child_row("A1")
    b = child_row(
        "B1",
        given_names="Mohammed",
        family_name="Hussain",
        date_of_birth="2012-09-17",
        sex="M",
        address_line_1="4 Park Lane",
        postcode="B23 6SN",
    )  # same NHS number, by mistake
    summary = load_feed(source_code=source.code, path=write_feed(tmp_path / "a.csv", [a, b]))
    assert Child.objects.count() == 2
    assert summary.linked_to_existing == 0


def test_what_a_feed_stores_is_sealed_and_reads_back_whole(tmp_path, source):
    row = child_row("R1", given_names="Zephyrine", family_name="Quillbramble", address_line_1="77 Marrowgate Lane",
                    postcode="B98 7QX", carer_given_names="Ottoline", carer_family_name="Quillbramble",
                    carer_relationship="mother", carer_phone="07700 900461", carer_email="ottoline@example.org")
    load_feed(source_code=source.code, path=write_feed(tmp_path / "a.csv", [row]))
    clear = ("ZEPHYRINE", "QUILLBRAMBLE", "MARROWGATE", "B98 7QX", "OTTOLINE", "07700 900461", "9434765919")
    with connection.cursor() as cursor:
        for table in ("feeds_sourcerecord", "directory_child", "directory_childname", "directory_childaddress",
                      "directory_carer", "directory_searchtoken"):
            cursor.execute(f"SELECT string_agg(t::text, ' ') FROM {table} t")
            text = (cursor.fetchone()[0] or "").upper()
            assert text, table
            assert not [value for value in clear if value in text], table
    # …and everything reads back, unsealed, through the one module that may.
    child = Child.objects.get()
    who = identity.read_identity(child)
    assert (who.given_names, who.family_name, who.postcode, who.nhs_number) == (
        "Zephyrine", "Quillbramble", "B98 7QX", "9434765919")
    [carer] = identity.read_carers(child.pk)
    assert (carer.given_names, carer.relationship, carer.phone) == ("Ottoline", "mother", "07700 900461")
    [record] = identity.read_source_identities([child.pk])
    assert (record["family_name"], record["address_line_1"]) == ("Quillbramble", "77 Marrowgate Lane")
