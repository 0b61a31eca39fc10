"""The directory team's journeys: the review queue (compare, decide, undo, split), merging two records of
one child from the child's record (and undoing it), feed history with rejected rows, and user accounts;
the auditor's: search the trail, verify it, export it."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from contactpoint.access.models import Role, User
from contactpoint.audit.models import AuditEvent
from contactpoint.core.identifiers import format_contactpoint_id
from contactpoint.directory.models import Child
from contactpoint.feeds.models import SourceRecord
from contactpoint.matching.models import ReviewItem
from contactpoint.orgs.models import LocalAuthority
from directory.builders import AREA, child_row, load_children, user

EXPLANATION = [
    {"field": "forename", "level_label": "Jaro-Winkler > 0.9", "bayes_factor": 12.5, "match_weight_contribution": 3.6},
    {
        "field": "surname",
        "level_label": "All other",
        "bayes_factor": 0.05,
        "match_weight_contribution": -4.3,
    },
    {"field": "dob", "level_label": "Day and month transposed", "bayes_factor": 8.0, "match_weight_contribution": 3.0},
]


def two_children_in_review(tmp_path):
    """Two children the matcher kept apart, from two sources, and the review item between them."""
    load_children(tmp_path, [child_row("N1")], source_code="nhs_demographics")
    other = child_row(
        "S1",
        given_names="Amelie",
        family_name="Okafor-Bello",
        date_of_birth="2015-04-03",
        postcode="B29 6TT",
        address_line_1="3 Birch Close",
    )
    bad = child_row("S2", date_of_birth="2015-02-30")  # refused: not a real date
    load_children(tmp_path, [other, bad], source_code="school_census")
    record = SourceRecord.objects.get(source_record_id="S1")
    candidate = SourceRecord.objects.get(source_record_id="N1")
    if record.child_id == candidate.child_id:
        pytest.skip("the matcher linked these; the journey needs two children")
    ReviewItem.objects.filter(record=record, candidate=candidate).delete()
    return ReviewItem.objects.create(
        record=record,
        candidate=candidate,
        score=0.74,
        model_version="test",
        explanation=EXPLANATION,
        local_authority=LocalAuthority.objects.get(code=AREA),
    )


def test_the_review_queue_compare_decide_undo(journey, tmp_path):
    item = two_children_in_review(tmp_path)
    team = user(Role.DIRECTORY_TEAM, first_name="Dee", last_name="Rowe")
    journey.sign_in(team)
    journey.page.get_by_role("link", name="Review uncertain matches").click()
    assert journey.heading() == "Review uncertain matches"
    journey.check("review-queue")

    journey.page.get_by_role("link", name="Amelie Okafor-Bello").click()
    assert journey.heading() == "Are these the same child?"
    comparison = journey.page.locator("table.app-comparison").inner_text()
    assert "Okafor-Bello" in comparison and "Okafor" in comparison and "Differs" in comparison
    assert "Day and month transposed" in journey.page.content()
    assert "12.5 times more likely the same child" in journey.page.content()
    journey.check("review-item")

    journey.page.get_by_role("button", name="Save decision").click()
    assert "Select whether these are the same child" in journey.page.content()
    journey.check("review-item-error")

    journey.page.get_by_label("Same child").check()
    journey.page.get_by_label("Reason (optional)").fill("Same school, same carer, date typed the wrong way")
    journey.page.get_by_role("button", name="Save decision").click()
    assert journey.heading() == "Accepted a suggested link"
    journey.check("correction")
    item.refresh_from_db()
    assert item.status == ReviewItem.Status.ACCEPTED

    journey.page.get_by_label("Why undo it?").fill("Accepted in error: twins")
    journey.page.get_by_role("button", name="Undo this decision").click()
    assert journey.heading() == "Undid an earlier correction"
    item.refresh_from_db()
    assert item.status == ReviewItem.Status.OPEN

    journey.goto(f"/review/{item.pk}")
    journey.page.get_by_label("Different children").check()
    journey.page.get_by_role("button", name="Save decision").click()
    assert journey.heading() == "Rejected a suggested link"
    journey.goto("/review")
    assert "There is nothing waiting for review in your area." in journey.page.content()
    assert "Undone" in journey.page.content()
    journey.check("review-queue-empty")

    # Feed history: what each load did and the rows it refused.
    journey.goto("/")
    journey.page.get_by_role("link", name="Feeds").click()
    journey.check("feeds")
    journey.page.locator("a", has_text="school census").first.click()
    rejected = journey.page.locator("table").inner_text()
    assert "S2" in rejected and "date_of_birth" in rejected
    journey.check("feed-batch")


def test_the_team_merges_two_records_of_one_child_and_undoes_it(journey, tmp_path):
    """A practitioner told the team that two records are one child: the team merges them from the record."""
    first = load_children(tmp_path, [child_row("N1")], source_code="nhs_demographics")["N1"]
    other = child_row(
        "S1", given_names="Amelie", family_name="Okafor-Bello", date_of_birth="2015-04-03", postcode="B29 6TT"
    )
    second = load_children(tmp_path, [other], source_code="school_census")["S1"]
    if first.pk == second.pk:
        pytest.skip("the matcher linked these; the journey needs two children")
    requested: list[str] = []
    journey.page.on("request", lambda request: requested.append(request.url))
    journey.sign_in(user(Role.DIRECTORY_TEAM, first_name="Dee", last_name="Rowe"))

    journey.goto(f"/children/{first.contactpoint_id}")
    journey.page.get_by_role("link", name="Merge with another record").click()
    assert journey.heading() == "Merge with another record"
    assert journey.page.get_by_label(f"This record's ID ({first.contactpoint_id})").is_checked()
    journey.check("merge-form")

    journey.page.get_by_role("button", name="Continue").click()
    assert "Enter the ContactPoint ID of the other record" in journey.page.content()
    assert "Enter why these records are the same child" in journey.page.content()
    journey.check("merge-form-error")

    typed = format_contactpoint_id(second.contactpoint_id)  # as people write it: K7QM-3XZD-…
    journey.page.get_by_label("ContactPoint ID of the other record").fill(typed)
    journey.page.get_by_label("Why are these the same child?").fill("The school nurse found her registered twice")
    journey.page.get_by_role("button", name="Continue").click()
    assert journey.heading() == "Check these are the same child"
    comparison = journey.page.locator("table.app-comparison").inner_text()
    assert "Okafor-Bello" in comparison and "Amelia Rose" in comparison and "Differs" in comparison
    journey.check("merge-confirm")

    journey.page.get_by_role("button", name="Merge these records").click()
    assert journey.heading() == "Merged two children"
    second.refresh_from_db()
    assert second.status == Child.Status.MERGED and second.merged_into_id == first.pk
    journey.check("merge-correction")

    journey.page.get_by_label("Why undo it?").fill("Merged in error: twins")
    journey.page.get_by_role("button", name="Undo this decision").click()
    assert journey.heading() == "Undid an earlier correction"
    second.refresh_from_db()
    assert second.status == Child.Status.ACTIVE
    journey.check("merge-undone")
    # What was typed (the other record's identifier) went in posted forms, never in a URL.
    assert requested and not [url for url in requested if second.contactpoint_id in url]


def test_user_accounts_create_suspend_renew(journey, tmp_path):
    team = user(Role.DIRECTORY_TEAM)
    journey.sign_in(team)
    journey.page.get_by_role("link", name="Users").click()
    assert journey.heading() == "Users"
    journey.check("users")
    journey.page.get_by_role("link", name="Add a user").click()
    journey.page.get_by_role("button", name="Add user").click()
    assert "Enter a username" in journey.page.content()
    journey.check("user-new-error")
    journey.page.get_by_label("Username").fill("h.visitor")
    journey.page.get_by_label("First name").fill("Hana")
    journey.page.get_by_label("Last name").fill("Visitor")
    journey.page.get_by_label("Role").select_option(label="Practitioner")
    journey.page.get_by_label("Organisation").select_option(index=1)
    until = (datetime.date.today() + datetime.timedelta(days=365)).isoformat()
    journey.page.get_by_label("Authorisation, background check and training valid until").fill(until)
    journey.page.get_by_role("button", name="Add user").click()
    assert journey.heading() == "User added"
    assert "Role" not in journey.page.url and "h.visitor" not in journey.page.url
    journey.check("user-created")
    created = User.objects.get(username="h.visitor")

    journey.page.get_by_role("link", name="See the account").click()
    journey.check("user")
    journey.page.get_by_label("Why is the account being suspended?").fill("Left the service")
    journey.page.get_by_role("button", name="Suspend account").click()
    assert "Suspended on" in journey.page.content()
    created.refresh_from_db()
    assert created.suspended_at is not None

    journey.page.get_by_role("button", name="Save new dates").click()
    assert "Enter at least one new date" in journey.page.content()
    later = (datetime.date.today() + datetime.timedelta(days=700)).isoformat()
    journey.page.get_by_label("Training until").fill(later)
    journey.page.get_by_role("button", name="Save new dates").click()
    created.refresh_from_db()
    assert created.training_until.isoformat() == later


def test_the_auditor_searches_verifies_and_exports(journey, tmp_path):
    practitioner = user(Role.PRACTITIONER)
    auditor = user(Role.AUDITOR)
    from django.db import transaction

    from contactpoint.audit.services import record_event

    with transaction.atomic():
        record_event(action="access:child:search", actor=practitioner, details={"criteria": ["family_name"]})
    journey.sign_in(auditor)
    journey.page.get_by_role("link", name="Audit trail").click()
    assert journey.heading() == "Audit trail"
    journey.check("audit")
    journey.page.get_by_label("Username").fill(practitioner.username)
    journey.page.get_by_role("button", name="Search").click()
    results = journey.page.locator("table").inner_text()
    assert "access:child:search" in results and practitioner.username in results
    assert journey.page.url.endswith("/audit")
    journey.check("audit-results")

    with journey.page.expect_download() as download:
        journey.page.get_by_label("Why are you exporting these events?").fill("Subject access request 2291")
        journey.page.get_by_role("button", name="Export matching events").click()
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["actor_username"] for line in lines] == [practitioner.username]
    assert AuditEvent.objects.filter(action="audit:event:export", actor_username=auditor.username).exists()

    journey.goto("/audit")
    journey.page.get_by_role("button", name="Verify the audit trail").click()
    assert journey.heading() == "Audit trail verified"
    journey.check("audit-verified")
