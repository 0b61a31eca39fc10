"""``retention run``: who is archived, who is kept, who is erased; idempotent; audited; no personal data out."""

from __future__ import annotations

import datetime
import io
from pathlib import Path

import pytest
from django.core.management import call_command

from contactpoint.access.models import Role
from contactpoint.audit.integrity import verify_log
from contactpoint.audit.models import AuditEvent
from contactpoint.audit.tags import AuditAction
from contactpoint.directory import identity, queries
from contactpoint.directory.errors import ChildNotFound
from contactpoint.directory.models import Child, ChildName
from contactpoint.directory.search import SearchCriteria
from contactpoint.feeds.models import SourceRecord
from contactpoint.keystore import datakeys
from contactpoint.keystore.models import DataKey
from contactpoint.retention.models import Archival
from contactpoint.retention.rules import years_before
from contactpoint.retention.services import run_retention
from directory.builders import OTHER_AREA, user

from .builders import TODAY, born, children

# Erasure destroys the children's keys in the key store (the database "keys").
pytestmark = pytest.mark.django_db(databases=["default", "keys"])


def status(child: Child) -> str:
    child.refresh_from_db()
    return child.status


@pytest.fixture
def population(tmp_path: Path) -> dict[str, Child]:
    return children(tmp_path, {
        "minor": {"date_of_birth": born(17, days=364)},
        "adult": {"date_of_birth": born(18)},
        "sen20": {"date_of_birth": born(20), "retention_condition": "sen"},
        "leaver25": {"date_of_birth": born(25), "retention_condition": "care_leaver"},
        "nodob": {"date_of_birth": ""},
    })


def test_adults_are_archived_minors_and_asserted_conditions_kept(population: dict[str, Child]) -> None:
    report = run_retention(today=TODAY)
    assert status(population["minor"]) == Child.Status.ACTIVE
    assert status(population["adult"]) == Child.Status.ARCHIVED
    assert status(population["sen20"]) == Child.Status.ACTIVE
    assert status(population["leaver25"]) == Child.Status.ARCHIVED
    assert status(population["nodob"]) == Child.Status.ACTIVE
    assert (report.archived_adult, report.archived_extended, report.kept_extended) == (1, 1, 1)
    assert report.no_date_of_birth == 1
    assert Archival.objects.get(child=population["adult"]).archived_on == TODAY


def test_a_retired_source_record_no_longer_asserts_the_condition(population: dict[str, Child]) -> None:
    SourceRecord.objects.filter(child=population["sen20"]).update(retired_at=datetime.datetime.now(datetime.UTC))
    run_retention(today=TODAY)
    assert status(population["sen20"]) == Child.Status.ARCHIVED


def test_a_second_run_does_nothing(population: dict[str, Child]) -> None:
    run_retention(today=TODAY)
    again = run_retention(today=TODAY)
    assert (again.archived, again.erasure.children, again.archive_dated) == (0, 0, 0)
    assert Archival.objects.count() == 2


def test_a_dry_run_counts_but_changes_nothing(population: dict[str, Child]) -> None:
    before = AuditEvent.objects.count()
    dry = run_retention(today=TODAY, dry_run=True)
    assert dry.archived == 2
    assert status(population["adult"]) == Child.Status.ACTIVE
    assert Archival.objects.count() == 0
    assert AuditEvent.objects.count() == before


def test_archived_records_are_erased_after_the_archive_period(population: dict[str, Child]) -> None:
    run_retention(today=TODAY)
    later = run_retention(today=years_before(TODAY, -6) - datetime.timedelta(days=1))
    assert later.erasure.children == 0  # a day early
    # Six years on, the two archived (and the 20-year-old, now 26) are due; erased only after their own six.
    report = run_retention(today=years_before(TODAY, -6))
    assert sorted(report.erasure.contactpoint_ids) == sorted(
        [population["adult"].contactpoint_id, population["leaver25"].contactpoint_id]
    )
    assert not Child.objects.filter(pk__in=[population["adult"].pk, population["leaver25"].pk]).exists()
    assert not ChildName.objects.filter(child_id=population["adult"].pk).exists()
    assert Child.objects.get(pk=population["sen20"].pk).status == Child.Status.ARCHIVED
    # Their keys (and their source records' keys) are destroyed in the key store; everyone else's stay.
    assert report.erasure.rows["keystore_datakey"] == 2
    assert report.erasure.rows["keystore_recordkey"] >= 2
    assert set(DataKey.objects.values_list("child_id", flat=True)) == {
        population[name].pk for name in ("minor", "sen20", "nodob")
    }
    assert verify_log().ok


def test_a_dry_run_destroys_no_key(population: dict[str, Child]) -> None:
    """The key store is another database: the dry run's rollback would not bring a destroyed key back."""
    run_retention(today=TODAY)
    dry = run_retention(today=years_before(TODAY, -6), dry_run=True)
    assert dry.erasure.children == 2 and dry.erasure.rows["keystore_datakey"] == 2  # counted
    assert datakeys.count_data_keys() == len(population)  # kept


def test_the_run_is_audited_with_identifiers_only(population: dict[str, Child]) -> None:
    run_retention(today=TODAY)
    run_event = AuditEvent.objects.get(action=AuditAction.RETENTION_RUN)
    assert run_event.details["archived_adult"] == 1
    archived = AuditEvent.objects.get(action=AuditAction.RETENTION_ARCHIVE)
    assert sorted(archived.children) == sorted(
        [population["adult"].contactpoint_id, population["leaver25"].contactpoint_id]
    )


def test_the_command_prints_counts_never_personal_data(population: dict[str, Child]) -> None:
    out = io.StringIO()
    call_command("retention", "run", "--today", TODAY.isoformat(), stdout=out)
    text = out.getvalue()
    assert "archived 2 (adult 1, end of extended period 1)" in text
    for child in population.values():
        assert identity.read_identity(child).family_name not in text
        assert child.contactpoint_id not in text
    dry = io.StringIO()
    call_command("retention", "run", "--dry-run", stdout=dry)
    assert "DRY RUN" in dry.getvalue()


def test_practitioners_no_longer_find_or_see_an_archived_child(population: dict[str, Child]) -> None:
    run_retention(today=TODAY)
    adult = population["adult"]
    adult.refresh_from_db()
    practitioner = user(Role.PRACTITIONER)
    outcome = queries.search_children(
        user=practitioner,
        criteria=SearchCriteria(family_name=identity.read_identity(adult).family_name,
                                date_of_birth=adult.date_of_birth.isoformat()),
    )
    assert outcome.results == []
    with pytest.raises(ChildNotFound):
        queries.get_child_record(user=practitioner, contactpoint_id=adult.contactpoint_id)


def test_the_directory_team_of_the_area_still_sees_an_archived_child(population: dict[str, Child]) -> None:
    run_retention(today=TODAY)
    adult = population["adult"]
    record = queries.get_child_record(user=user(Role.DIRECTORY_TEAM), contactpoint_id=adult.contactpoint_id)
    assert record.contactpoint_id == adult.contactpoint_id
    with pytest.raises(ChildNotFound):
        queries.get_child_record(user=user(Role.DIRECTORY_TEAM, area_code=OTHER_AREA),
                                 contactpoint_id=adult.contactpoint_id)
