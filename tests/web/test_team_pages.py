"""The directory team's and auditors' pages: who may open each, and that a team stays in its own area."""

from __future__ import annotations

import pytest

from access.factories import sign_in
from contactpoint.access.models import Role, User
from contactpoint.audit.models import AuditEvent
from contactpoint.directory import identity
from contactpoint.feeds.models import SourceRecord
from contactpoint.matching.corrections import reject_review
from contactpoint.matching.models import ReviewItem
from contactpoint.orgs.models import LocalAuthority
from directory.builders import AREA, OTHER_AREA, child_row, load_children, user

pytestmark = pytest.mark.django_db

TEAM_PAGES = ["/review", "/feeds", "/users", "/users/new"]


@pytest.fixture
def review_item(tmp_path):
    load_children(tmp_path, [child_row("N1")], source_code="nhs_demographics")
    other = child_row(
        "S1",
        given_names="Amelie",
        family_name="Okafor-Bello",
        date_of_birth="2015-04-03",
        postcode="B29 6TT",
        address_line_1="3 Birch Close",
    )
    load_children(tmp_path, [other, child_row("S2", date_of_birth="2015-02-30")], source_code="school_census")
    record, candidate = SourceRecord.objects.get(source_record_id="S1"), SourceRecord.objects.get(source_record_id="N1")
    if record.child_id == candidate.child_id:
        pytest.skip("the matcher linked these; the test needs two children")
    ReviewItem.objects.filter(record=record, candidate=candidate).delete()
    return ReviewItem.objects.create(
        record=record,
        candidate=candidate,
        score=0.7,
        model_version="t",
        local_authority=LocalAuthority.objects.get(code=AREA),
    )


def signed_in(client, role, **kwargs):
    person = user(role, **kwargs)
    sign_in(client, person)
    return person


@pytest.mark.parametrize("role", [Role.PRACTITIONER, Role.OPERATOR, Role.AUDITOR])
def test_front_line_and_auditors_cannot_open_the_teams_pages(client, role):
    signed_in(client, role)
    for url in TEAM_PAGES:
        assert client.get(url).status_code == 403, url


@pytest.mark.parametrize("role", [Role.PRACTITIONER, Role.OPERATOR, Role.DIRECTORY_TEAM, Role.ADMIN])
def test_only_auditors_open_the_audit_trail(client, role):
    signed_in(client, role)
    assert client.get("/audit").status_code == 403
    assert client.post("/audit", {"username": "x"}).status_code == 403
    assert client.post("/audit/verify").status_code == 403
    assert client.post("/audit/export", {"reason": "x"}).status_code == 403


def test_a_practitioner_cannot_open_or_decide_a_review_item(client, review_item):
    signed_in(client, Role.PRACTITIONER)
    assert client.get(f"/review/{review_item.pk}").status_code == 403
    assert client.post(f"/review/{review_item.pk}", {"decision": "accept"}).status_code == 403
    review_item.refresh_from_db()
    assert review_item.status == ReviewItem.Status.OPEN


def test_a_team_of_another_area_cannot_see_or_decide_an_item(client, review_item):
    signed_in(client, Role.DIRECTORY_TEAM, area_code=OTHER_AREA)
    assert "nothing waiting" in client.get("/review").content.decode()
    assert client.get(f"/review/{review_item.pk}").status_code == 403
    assert client.post(f"/review/{review_item.pk}", {"decision": "reject"}).status_code == 403
    assert client.post(f"/source-records/{review_item.record_id}/split", {"reason": "x"}).status_code == 403
    review_item.refresh_from_db()
    assert review_item.status == ReviewItem.Status.OPEN
    assert AuditEvent.objects.filter(action="access:policy:deny").count() == 3


def test_a_team_of_another_area_cannot_see_or_undo_a_decision(client, review_item):
    correction = reject_review(actor=user(Role.DIRECTORY_TEAM), item=review_item, reason="twins")
    signed_in(client, Role.DIRECTORY_TEAM, area_code=OTHER_AREA)
    assert client.get(f"/corrections/{correction.pk}").status_code == 403
    assert client.post(f"/corrections/{correction.pk}/undo", {"reason": "x"}).status_code == 403
    review_item.refresh_from_db()
    assert review_item.status == ReviewItem.Status.REJECTED


def test_the_team_opens_an_item_which_is_recorded_as_a_view_and_decides_it(client, review_item):
    team = signed_in(client, Role.DIRECTORY_TEAM)
    page = client.get(f"/review/{review_item.pk}").content.decode()
    assert "Okafor-Bello" in page and "Are these the same child?" in page
    [view] = AuditEvent.objects.filter(action="access:child:view", actor_username=team.username)
    assert len(view.children) == 2 and view.details == {"review_item": review_item.pk}
    assert "Select whether" in client.post(f"/review/{review_item.pk}", {}).content.decode()
    response = client.post(f"/review/{review_item.pk}", {"decision": "reject", "reason": "twins"})
    assert response.status_code == 302 and response["Location"].startswith("/corrections/")
    assert "already decided" in client.post(f"/review/{review_item.pk}", {"decision": "accept"}).content.decode()


def test_the_team_splits_a_record_off_and_undoes_it(client, review_item):
    signed_in(client, Role.DIRECTORY_TEAM)
    review = client.post(f"/review/{review_item.pk}", {"decision": "accept"})
    assert review.status_code == 302
    response = client.post(f"/source-records/{review_item.record_id}/split", {"reason": "not the same child"})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Split a source record off a child" in page
    undo = client.post(response["Location"] + "/undo", {"reason": "split in error"})
    assert undo.status_code == 302
    assert "Undid an earlier correction" in client.get(undo["Location"]).content.decode()


def test_feed_history_shows_rejected_rows_for_the_team_only(client, review_item):
    signed_in(client, Role.DIRECTORY_TEAM)
    page = client.get("/feeds").content.decode()
    assert "school census" in page
    from contactpoint.feeds.models import FeedBatch

    batch = FeedBatch.objects.get(source__code="school_census")
    page = client.get(f"/feeds/{batch.pk}").content.decode()
    assert "S2" in page and "date_of_birth" in page


def test_a_team_manages_accounts_in_its_own_area_only(client):
    team = signed_in(client, Role.DIRECTORY_TEAM)
    colleague = user(Role.PRACTITIONER)
    elsewhere = user(Role.PRACTITIONER, area_code=OTHER_AREA)
    listing = client.get("/users").content.decode()
    assert colleague.username in listing and elsewhere.username not in listing
    assert client.get(f"/users/{colleague.pk}").status_code == 200
    assert client.get(f"/users/{elsewhere.pk}").status_code == 403
    assert client.post(f"/users/{elsewhere.pk}/suspend", {"reason": "x"}).status_code == 403
    assert client.post(f"/users/{elsewhere.pk}/renew", {"training_until": "2099-01-01"}).status_code == 403
    elsewhere.refresh_from_db()
    assert elsewhere.suspended_at is None
    auditor = User.objects.create(username="national-auditor", role=Role.AUDITOR)
    assert client.get(f"/users/{auditor.pk}").status_code == 403
    assert team.pk


def test_a_team_cannot_create_an_administrator_or_an_account_elsewhere(client):
    signed_in(client, Role.DIRECTORY_TEAM)
    form = client.get("/users/new").content.decode()
    assert 'value="admin"' not in form and 'value="auditor"' not in form
    elsewhere = user(Role.PRACTITIONER, area_code=OTHER_AREA).organisation
    base = {"username": "new.person", "first_name": "N", "last_name": "P", "checks_valid_until": "2099-01-01"}
    page = client.post("/users/new", {**base, "role": "admin", "organisation": ""}).content.decode()
    assert "Select a role" in page
    page = client.post("/users/new", {**base, "role": "practitioner", "organisation": str(elsewhere.pk)})
    assert "Select an organisation" in page.content.decode()
    assert not User.objects.filter(username="new.person").exists()


def test_a_new_accounts_secrets_are_shown_once_and_not_cached(client):
    team = signed_in(client, Role.DIRECTORY_TEAM)
    data = {
        "username": "new.person",
        "first_name": "N",
        "last_name": "P",
        "role": "practitioner",
        "organisation": str(team.organisation_id),
        "checks_valid_until": "2099-01-01",
    }
    response = client.post("/users/new", data)
    assert response.status_code == 200 and "Authenticator key" in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    assert (
        "Authenticator key" not in client.get(f"/users/{User.objects.get(username='new.person').pk}").content.decode()
    )


# A pair with a child no local authority holds --------------------------------------------------------------


def _without_area(record: SourceRecord) -> None:
    from contactpoint.directory.models import Child

    SourceRecord.objects.filter(child_id=record.child_id).update(local_authority="")
    Child.objects.filter(pk=record.child_id).update(local_authority=None)


def test_the_team_of_the_area_decides_a_pair_with_a_child_no_local_authority_holds(client, review_item):
    """The item is in the queue of the area of the child that has one; accepting links the other into it."""
    _without_area(review_item.candidate)
    team = signed_in(client, Role.DIRECTORY_TEAM)
    queue = client.get("/review").content.decode()
    assert f'href="/review/{review_item.pk}"' in queue
    assert "Amelie Okafor-Bello" in queue and "Amelia Rose Okafor" in queue  # each record's own names
    page = client.get(f"/review/{review_item.pk}").content.decode()
    assert "can't decide this item" not in page and 'name="decision"' in page
    # The possible match has no area: the new record's child (in the area) keeps its identifier.
    kept = SourceRecord.objects.select_related("child").get(pk=review_item.record_id).child
    assert f"joined under the new record's ContactPoint ID, {kept.contactpoint_id}" in page
    # A split corrects one child alone: offered only for a record whose child is in the area.
    assert f"/source-records/{review_item.candidate_id}/split" not in page
    response = client.post(f"/review/{review_item.pk}", {"decision": "accept", "reason": "same child"})
    assert response.status_code == 302
    review_item.refresh_from_db()
    assert review_item.status == ReviewItem.Status.ACCEPTED and review_item.decided_by == team
    candidate = SourceRecord.objects.select_related("child").get(pk=review_item.candidate_id)
    assert candidate.child == kept and kept.local_authority.code == AREA


def test_an_item_the_team_cannot_decide_says_why_and_offers_no_decision(client, review_item):
    """Its other child is now held by another local authority: the page says so, and a decision is refused."""
    from contactpoint.directory.models import Child

    Child.objects.filter(pk=review_item.candidate.child_id).update(
        local_authority=LocalAuthority.objects.get_or_create(code=OTHER_AREA, defaults={"name": "Other"})[0]
    )
    _without_area(review_item.record)
    signed_in(client, Role.DIRECTORY_TEAM)
    page = client.get(f"/review/{review_item.pk}").content.decode()
    assert "Your team can't decide this item: outside your local authority." in page
    assert "A child held by another local authority is only ever corrected by that authority" in page
    assert 'name="decision"' not in page
    assert client.post(f"/review/{review_item.pk}", {"decision": "accept"}).status_code == 403
    review_item.refresh_from_db()
    assert review_item.status == ReviewItem.Status.OPEN


def test_the_review_page_never_shows_a_shielded_childs_location(client, review_item):
    """As on the merge comparison: seeing it is a break-glass view from the record page, if anyone's at all."""
    import datetime

    from contactpoint.directory.services import shield_child

    team = user(Role.DIRECTORY_TEAM)
    candidate = review_item.candidate
    shield_child(actor=team, contactpoint_id=candidate.child.contactpoint_id, reason="refuge",
                 review_on=datetime.date.today() + datetime.timedelta(days=90))
    sign_in(client, team)
    for arealess in (False, True):
        if arealess:
            _without_area(candidate)  # then no one at all may see it
        page = client.get(f"/review/{review_item.pk}").content.decode()
        assert "Withheld: the child is shielded" in page
        [said] = identity.read_source_identities(record_ids=[candidate.pk])
        assert said["postcode"] and said["postcode"] not in page and said["address_line_1"] not in page
        assert "B29 6TT" in page  # the other record's location, which is not shielded
