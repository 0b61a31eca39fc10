"""A practitioner finds a child, reads who is involved, adds their own involvement, sets its flags and
ends it; an operator does the same search for a named requester; a shielded child's record."""

from __future__ import annotations

import datetime

from contactpoint.access.models import Role
from contactpoint.audit.models import AuditEvent
from directory.builders import child_row, load_children, user


def a_child_with_a_school_and_a_carer(tmp_path):
    row = child_row(
        "N1",
        carer_given_names="Grace",
        carer_family_name="Okafor",
        carer_relationship="mother",
        carer_phone="07700 900123",
        service_type="school",
        organisation_code="103456",
        organisation_name="Elm Primary",
        practitioner_name="Tom Reid",
        practitioner_role="Designated safeguarding lead",
        practitioner_phone="0121 496 0000",
        practitioner_email="dsl@elm.example.org",
        involvement_start="2020-09-01",
    )
    return load_children(tmp_path, [row])["N1"]


def search_for_amelia(journey, *, with_date=True):
    page = journey.page
    page.get_by_label("Given name").fill("Amelia")
    page.get_by_label("Family name").fill("Okafor")
    if with_date:
        page.get_by_label("Day").fill("4")
        page.get_by_label("Month").fill("3")
        page.get_by_label("Year").fill("2015")
    page.get_by_role("button", name="Search").click()


def test_a_practitioner_finds_a_child_and_manages_their_involvement(journey, tmp_path):
    child = a_child_with_a_school_and_a_carer(tmp_path)
    practitioner = user(Role.PRACTITIONER, first_name="Sam", last_name="Patel", email="sam@example.org")
    journey.sign_in(practitioner)
    journey.page.get_by_role("link", name="Find a child").click()
    assert journey.heading() == "Find a child"
    journey.check("search")

    journey.page.get_by_label("Family name").fill("Okafor")
    journey.page.get_by_role("button", name="Search").click()
    assert "not enough to search on" in journey.page.locator(".govuk-error-summary").inner_text().lower()
    assert journey.page.url.endswith("/search")  # nothing typed in the address
    journey.check("search-too-few-criteria")

    search_for_amelia(journey)
    assert "1 child matches" in journey.page.content()
    journey.check("search-results")

    journey.page.get_by_role("link", name="Amelia Rose Okafor").click()
    assert journey.heading() == "Amelia Rose Okafor"
    content = journey.page.content()
    assert "Elm Primary" in content and "dsl@elm.example.org" in content and "Grace Okafor" in content
    journey.check("child-record")

    journey.page.get_by_role("link", name="Add my involvement").click()
    journey.page.get_by_role("button", name="Add my involvement").click()
    assert "Select the service you work for" in journey.page.content()
    journey.check("involvement-add-error")
    journey.page.get_by_label("Health visitor").check()
    journey.page.get_by_label("Your role (optional)").fill("Health visitor")
    journey.page.get_by_label("I am the lead professional").check()
    journey.page.get_by_role("button", name="Add my involvement").click()
    assert journey.heading() == "Amelia Rose Okafor"
    mine = journey.page.locator(".govuk-summary-card", has_text="(you)")
    assert "Lead professional" in mine.inner_text()
    journey.check("child-record-with-my-involvement")

    mine.get_by_label("A Common Assessment (CAF) has been completed and I hold it").check()
    mine.get_by_role("button", name="Save flags").click()
    mine = journey.page.locator(".govuk-summary-card", has_text="(you)")
    assert "CAF held" in mine.inner_text()

    mine.get_by_role("button", name="End my involvement").click()
    assert journey.heading() == "Are you sure you want to end your involvement?"
    journey.check("involvement-end-confirm")
    journey.page.get_by_role("button", name="Yes, end my involvement").click()
    assert "(you)" not in journey.page.content()
    actions = set(AuditEvent.objects.filter(actor_username=practitioner.username).values_list("action", flat=True))
    assert {
        "access:child:search",
        "access:child:view",
        "directory:involvement:add",
        "directory:involvement:change",
        "directory:involvement:end",
    } <= actions
    assert child.contactpoint_id in journey.page.content()


def test_an_operator_names_the_requester_first(journey, tmp_path):
    a_child_with_a_school_and_a_carer(tmp_path)
    operator = user(Role.OPERATOR)
    journey.sign_in(operator)
    journey.page.get_by_role("link", name="Find a child").click()
    assert journey.heading() == "Who are you searching for?"
    journey.page.get_by_role("button", name="Continue to search").click()
    journey.check("acting-for-error")
    journey.page.get_by_label("Name and organisation of the person who asked").fill(
        "PC 1234 Jane Doe, West Midlands Police"
    )
    journey.page.get_by_label("Why do they need to find the child?").fill("Incident 4471: child found alone at night")
    journey.page.get_by_role("button", name="Continue to search").click()
    assert journey.heading() == "Find a child"
    assert "PC 1234 Jane Doe" in journey.page.content()
    search_for_amelia(journey)
    journey.page.get_by_role("link", name="Amelia Rose Okafor").click()
    assert "Add my involvement" not in journey.page.content()
    journey.check("child-record-operator")
    events = AuditEvent.objects.filter(actor_username=operator.username, action__startswith="access:child")
    assert {e.requester for e in events} == {"PC 1234 Jane Doe, West Midlands Police"}


def test_a_shielded_child_and_breaking_the_glass(journey, another_journey, tmp_path):
    child = a_child_with_a_school_and_a_carer(tmp_path)
    team = user(Role.DIRECTORY_TEAM)
    practitioner = user(Role.PRACTITIONER)

    # The directory team shields the child through the pages.
    another_journey.sign_in(team)
    another_journey.goto(f"/children/{child.contactpoint_id}")
    another_journey.page.get_by_role("link", name="Shield this child").click()
    another_journey.check("shield")
    another_journey.page.get_by_label("Why must the child be shielded?").fill("Refuge placement")
    review = (datetime.date.today() + datetime.timedelta(days=90)).isoformat()
    another_journey.page.get_by_label("Review the shield on").fill(review)
    another_journey.page.get_by_role("button", name="Shield this child").click()
    assert "Shielded record" in another_journey.page.content()
    assert "Elm Primary" not in another_journey.page.content()
    another_journey.check("child-record-shielded-team")

    # A practitioner sees the record without location or contact details, and whom to ask.
    journey.sign_in(practitioner)
    journey.goto("/search")
    search_for_amelia(journey)
    assert "Withheld" in journey.page.content()
    journey.page.get_by_role("link", name="Amelia Rose Okafor").click()
    content = journey.page.content()
    assert "Shielded record" in content and "directory-team-e08000025@example.org" in content
    assert "Elm Road" not in content and "Elm Primary" not in content and "Grace" not in content
    assert "See the hidden details" not in content
    journey.check("child-record-shielded-practitioner")

    # The child's own directory team may break the glass, with a reason, for this view only.
    another_journey.page.get_by_role("button", name="See the hidden details").click()
    assert "There is a problem" in another_journey.page.content()
    another_journey.page.get_by_label("Why do you need to see the hidden details?").fill(
        "Court order 22/118: confirm school"
    )
    another_journey.page.get_by_role("button", name="See the hidden details").click()
    content = another_journey.page.content()
    assert "Elm Primary" in content and "12 Elm Road" in content and "this view is recorded" in content
    another_journey.check("child-record-break-glass")
    assert AuditEvent.objects.filter(action="access:child:break_glass", actor_username=team.username).count() == 1
    another_journey.goto(f"/children/{child.contactpoint_id}")
    assert "Elm Primary" not in another_journey.page.content()

    # The practitioner's view of a shielded record raised an alert for the child's directory team.
    another_journey.goto("/")
    another_journey.page.get_by_role("link", name="Access alerts").click()
    another_journey.check("alerts")
    another_journey.page.locator("tr", has_text=practitioner.username).get_by_role("link").first.click()
    assert another_journey.heading() == "Shielded child accessed"
    another_journey.check("alert")
    another_journey.page.get_by_role("button", name="Save").click()
    assert "Select what you are doing about the alert" in another_journey.page.content()
    another_journey.check("alert-error")
    another_journey.page.get_by_label("Suspend the user").check()
    another_journey.page.get_by_label("What did you find, and what have you done?").fill("No involvement; manager told")
    another_journey.page.get_by_role("button", name="Save").click()
    assert "Suspended the user" in another_journey.page.content()
    journey.page.reload()  # the suspended practitioner's session has ended
    assert journey.heading() == "Sign in to ContactPoint"

    another_journey.goto(f"/children/{child.contactpoint_id}")
    another_journey.page.get_by_role("link", name="Lift the shield").click()
    another_journey.page.get_by_label("Why can the shield be lifted?").fill("Family moved on; risk assessed as ended")
    another_journey.check("unshield")
    another_journey.page.get_by_role("button", name="Lift the shield").click()
    assert "Elm Primary" in another_journey.page.content()


def test_finding_a_child_works_without_javascript(journey_without_javascript, tmp_path):
    journey = journey_without_javascript
    a_child_with_a_school_and_a_carer(tmp_path)
    journey.sign_in(user(Role.PRACTITIONER))
    assert "js-enabled" not in (journey.page.get_attribute("body", "class") or "")
    journey.goto("/search")
    journey.page.get_by_text("Search by NHS number or unique pupil number").click()  # <details> opens by itself
    assert journey.page.get_by_label("NHS number").is_visible()
    search_for_amelia(journey)
    journey.page.get_by_role("link", name="Amelia Rose Okafor").click()
    journey.page.get_by_role("link", name="Add my involvement").click()
    journey.page.get_by_label("Children's social care").check()
    journey.page.get_by_role("button", name="Add my involvement").click()
    assert "(you)" in journey.page.content()
    journey.check("child-record-without-javascript")
