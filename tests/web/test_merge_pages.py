"""The directory team merges two records of one child from the child's record: the form, its checks, both
records side by side, the merge and its undo; and who is refused."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client

from access.factories import sign_in
from contactpoint.access.models import Role
from contactpoint.audit.models import AuditEvent
from contactpoint.core.identifiers import ALPHABET, format_contactpoint_id, new_contactpoint_id
from contactpoint.directory.models import Child
from contactpoint.directory.services import shield_child
from contactpoint.matching.corrections import merge_children_by_identifier, undo_correction
from contactpoint.matching.models import Correction
from directory.builders import OTHER_AREA, child_row, load_children, user

pytestmark = pytest.mark.django_db

REASON = "The school nurse says both are the same child, registered twice"


@pytest.fixture
def children(tmp_path):
    """Two records of (we are told) one child in the team's area, and a child in another area."""
    first = load_children(tmp_path, [child_row("N1")], source_code="nhs_demographics")["N1"]
    second = load_children(
        tmp_path,
        [
            child_row(
                "S1",
                given_names="Amelie",
                family_name="Okafor-Bello",
                date_of_birth="2015-04-03",
                postcode="B29 6TT",
                address_line_1="3 Birch Close",
            )
        ],
        source_code="school_census",
    )["S1"]
    if first.pk == second.pk:
        pytest.skip("the matcher linked these; the tests need two children")
    elsewhere = load_children(
        tmp_path,
        [child_row("X1", given_names="Kofi", family_name="Mensah", date_of_birth="2014-06-01",
                   postcode="SW1A 1AA", local_authority=OTHER_AREA)],
        source_code="other_census",
    )["X1"]
    return first, second, elsewhere


def signed_in(client, role=Role.DIRECTORY_TEAM, **kwargs):
    person = user(role, **kwargs)
    sign_in(client, person)
    return person


def answers(other, keep="this", reason=REASON, **extra):
    return {"other": other, "keep": keep, "reason": reason, **extra}


def mistyped(identifier: str) -> str:
    """The identifier with its last (check) character changed: well formed, but the check fails."""
    last = identifier[-1]
    return identifier[:-1] + next(c for c in ALPHABET if c != last)


def merged(child) -> bool:
    child.refresh_from_db()
    return child.status == Child.Status.MERGED


def test_the_record_offers_the_merge_to_the_directory_team_only(client, children):
    first, _, _ = children
    signed_in(client)
    page = client.get(f"/children/{first.contactpoint_id}").content.decode()
    assert f'href="/children/{first.contactpoint_id}/merge"' in page
    client.logout()
    signed_in(client, Role.PRACTITIONER)
    page = client.get(f"/children/{first.contactpoint_id}").content.decode()
    assert "Merge with another record" not in page and "/merge" not in page


def test_the_team_sees_both_records_side_by_side_then_merges_and_can_undo(client, children):
    first, second, _ = children
    team = signed_in(client)
    url = f"/children/{first.contactpoint_id}/merge"
    form = client.get(url).content.decode()
    assert "Merge with another record" in form and "Amelia Rose Okafor" in form
    assert 'value="this" checked' in form  # the record they came from stays, unless they say otherwise
    assert 'method="post"' in form and "csrfmiddlewaretoken" in form

    # Typed as people type it: lower case, with separators.
    typed = format_contactpoint_id(second.contactpoint_id).lower()
    page = client.post(url, answers(typed)).content.decode()
    assert "Check these are the same child" in page
    assert "Amelie" in page and "Okafor-Bello" in page and "3 Birch Close" in page and "12 Elm Road" in page
    assert "app-comparison" in page and "Differs" in page
    assert f'value="{second.contactpoint_id}"' in page  # posted on with the confirmation, never in a URL
    view = AuditEvent.objects.filter(action="access:child:view", actor_username=team.username).last()
    assert sorted(view.children) == sorted([first.contactpoint_id, second.contactpoint_id])
    assert view.details == {"purpose": "merge"}
    assert not merged(second)  # nothing changes until they confirm

    response = client.post(f"{url}/confirm", answers(second.contactpoint_id, action="merge"))
    assert response.status_code == 302 and response["Location"].startswith("/corrections/")
    assert second.contactpoint_id not in response["Location"]
    assert merged(second) and second.merged_into_id == first.pk
    correction = Correction.objects.get(kind=Correction.Kind.MERGE)
    assert correction.actor == team and correction.reason == REASON
    event = AuditEvent.objects.get(action="matching:link:correct")
    assert sorted(event.children) == sorted([first.contactpoint_id, second.contactpoint_id])

    page = client.get(response["Location"]).content.decode()
    assert "Merged two children" in page and "Undo this decision" in page
    assert f'href="/children/{first.contactpoint_id}"' in page and second.contactpoint_id in page

    undo = client.post(f"{response['Location']}/undo", {"reason": "Merged in error: twins"})
    assert undo.status_code == 302
    assert "Undid an earlier correction" in client.get(undo["Location"]).content.decode()
    assert not merged(second)


def test_the_other_record_can_be_the_one_kept(client, children):
    first, second, _ = children
    signed_in(client)
    url = f"/children/{first.contactpoint_id}/merge"
    page = client.post(url, answers(second.contactpoint_id, keep="other")).content.decode()
    assert f"Record to keep ({second.contactpoint_id})" in page
    response = client.post(f"{url}/confirm", answers(second.contactpoint_id, keep="other", action="merge"))
    assert response.status_code == 302
    assert merged(first) and first.merged_into_id == second.pk
    assert not merged(second)


def test_changing_the_answers_goes_back_to_the_form_filled_in(client, children):
    first, second, _ = children
    signed_in(client)
    response = client.post(
        f"/children/{first.contactpoint_id}/merge/confirm", answers(second.contactpoint_id, action="change")
    )
    page = response.content.decode()
    assert response.status_code == 200 and "Merge with another record" in page
    assert f'value="{second.contactpoint_id}"' in page and REASON in page
    assert not merged(second)


@pytest.mark.parametrize(
    "other,message",
    [
        (lambda c: "", "Enter the ContactPoint ID of the other record"),
        (lambda c: c[1].contactpoint_id[:-1], "A ContactPoint ID is 12 letters and numbers"),
        (lambda c: c[1].contactpoint_id[:-1] + "O", "never 0, 1, I, L, O or U"),
        (lambda c: mistyped(c[1].contactpoint_id), "a character is mistyped or two are swapped"),
        (lambda c: c[0].contactpoint_id, "this is the record you are merging from"),
        (lambda c: new_contactpoint_id(), "No child has this ContactPoint ID"),
    ],
    ids=["empty", "too-short", "impossible-character", "check-character", "same-record", "unknown"],
)
def test_the_other_identifier_is_checked_with_a_specific_message(client, children, other, message):
    first, second, _ = children
    signed_in(client)
    response = client.post(f"/children/{first.contactpoint_id}/merge", answers(other(children)))
    page = response.content.decode()
    assert response.status_code == 400
    assert "There is a problem" in page and 'href="#id_other"' in page and message in page
    assert "govuk-input--error" in page
    assert not merged(second) and not merged(first)


def test_a_record_already_merged_or_archived_cannot_be_merged(client, children, tmp_path):
    first, second, _ = children
    third = load_children(
        tmp_path, [child_row("N9", given_names="Tobi", family_name="Adeyemi", date_of_birth="2016-09-09")]
    )["N9"]
    signed_in(client)
    Child.objects.filter(pk=second.pk).update(status=Child.Status.MERGED, merged_into=third)
    page = client.post(f"/children/{first.contactpoint_id}/merge", answers(second.contactpoint_id)).content.decode()
    assert "This record has already been merged into another record" in page
    Child.objects.filter(pk=second.pk).update(status=Child.Status.ARCHIVED, merged_into=None)
    page = client.post(f"/children/{first.contactpoint_id}/merge", answers(second.contactpoint_id)).content.decode()
    assert "This record is archived" in page


def test_a_child_in_another_area_cannot_be_named_and_the_attempt_is_recorded(client, children):
    first, _, elsewhere = children
    team = signed_in(client)
    response = client.post(f"/children/{first.contactpoint_id}/merge", answers(elsewhere.contactpoint_id))
    page = response.content.decode()
    assert response.status_code == 400 and "held by another local authority" in page
    assert "Kofi" not in page and "Mensah" not in page and "SW1A" not in page
    [denied] = AuditEvent.objects.filter(action="access:policy:deny", actor_username=team.username)
    assert denied.children == [elsewhere.contactpoint_id] and denied.outcome == "denied"
    assert not merged(elsewhere)


def test_the_reason_and_the_choice_of_record_are_required(client, children):
    first, second, _ = children
    signed_in(client)
    url = f"/children/{first.contactpoint_id}/merge"
    page = client.post(url, {"other": second.contactpoint_id, "keep": "this"}).content.decode()
    assert "Enter why these records are the same child" in page and 'href="#id_reason"' in page
    page = client.post(url, {"other": second.contactpoint_id, "reason": REASON}).content.decode()
    assert "Select which ContactPoint ID the child keeps" in page and 'href="#id_keep"' in page


def test_a_shielded_record_is_never_merged_into_one_that_is_not(client, children):
    first, second, _ = children
    team = signed_in(client)
    review_on = datetime.date.today() + datetime.timedelta(days=90)
    shield_child(actor=team, contactpoint_id=second.contactpoint_id, reason="refuge placement", review_on=review_on)
    url = f"/children/{first.contactpoint_id}/merge"
    response = client.post(url, answers(second.contactpoint_id, keep="this"))
    assert response.status_code == 400 and "keep the shielded record" in response.content.decode()
    # Even if the confirmation is posted anyway, the merge refuses it.
    response = client.post(f"{url}/confirm", answers(second.contactpoint_id, keep="this", action="merge"))
    assert response.status_code == 400 and "keep the shielded record" in response.content.decode()
    assert not merged(second)

    page = client.post(url, answers(second.contactpoint_id, keep="other")).content.decode()
    assert "Check these are the same child" in page
    assert "Withheld: the child is shielded" in page and "3 Birch Close" not in page and "B29 6TT" not in page
    response = client.post(f"{url}/confirm", answers(second.contactpoint_id, keep="other", action="merge"))
    assert response.status_code == 302 and merged(first)


def test_a_record_merged_meanwhile_is_not_merged_again(client, children, tmp_path):
    first, second, _ = children
    signed_in(client)
    Child.objects.filter(pk=second.pk).update(status=Child.Status.MERGED)
    response = client.post(
        f"/children/{first.contactpoint_id}/merge/confirm", answers(second.contactpoint_id, action="merge")
    )
    assert response.status_code == 400
    assert f"No active child has the ContactPoint identifier {second.contactpoint_id}" in response.content.decode()
    assert not Correction.objects.exists()


def test_an_unknown_record_is_404(client, children):
    signed_in(client)
    assert client.get(f"/children/{new_contactpoint_id()}/merge").status_code == 404


def test_a_team_of_another_area_is_refused_and_it_is_recorded(client, children):
    first, second, _ = children
    team = signed_in(client, area_code=OTHER_AREA)
    url = f"/children/{first.contactpoint_id}/merge"
    assert client.get(url).status_code == 403
    assert client.post(url, answers(second.contactpoint_id)).status_code == 403
    assert client.post(f"{url}/confirm", answers(second.contactpoint_id, action="merge")).status_code == 403
    assert not merged(second) and not merged(first)
    assert AuditEvent.objects.filter(action="access:policy:deny", actor_username=team.username).count() == 3
    assert not AuditEvent.objects.filter(action="access:child:view", actor_username=team.username).exists()


@pytest.mark.parametrize("role", [Role.PRACTITIONER, Role.OPERATOR])
def test_front_line_roles_are_refused_and_it_is_recorded(client, children, role):
    first, second, _ = children
    person = signed_in(client, role)
    url = f"/children/{first.contactpoint_id}/merge"
    assert client.get(url).status_code == 403
    assert client.post(url, answers(second.contactpoint_id)).status_code == 403
    assert client.post(f"{url}/confirm", answers(second.contactpoint_id, action="merge")).status_code == 403
    assert not merged(second) and not merged(first)
    assert AuditEvent.objects.filter(action="access:policy:deny", actor_username=person.username).count() == 3


# After a merge: the old identifier still reaches the child -------------------------------------------------


def merge(surviving, merged_away):
    """Merge as the team of the area does (the service the merge page calls); returns the correction."""
    return merge_children_by_identifier(
        actor=user(Role.DIRECTORY_TEAM), surviving_id=surviving.contactpoint_id,
        merged_id=merged_away.contactpoint_id, reason=REASON,
    )


def views_by(person):
    return list(AuditEvent.objects.filter(action="access:child:view", actor_username=person.username).order_by("pk"))


def test_a_merged_away_identifier_leads_to_the_surviving_record_and_says_so(client, children):
    first, second, _ = children
    merge(first, second)
    practitioner = signed_in(client, Role.PRACTITIONER)
    response = client.get(f"/children/{second.contactpoint_id}")
    assert response.status_code == 302  # not permanent: an undone merge makes the old identifier its own again
    assert response["Location"] == f"/children/{first.contactpoint_id}"  # only the identifier in the URL
    assert views_by(practitioner) == []  # nothing shown yet: the view is recorded where the record is shown

    page = client.get(response["Location"]).content.decode()
    assert "govuk-notification-banner" in page
    assert f"The record with ContactPoint ID {second.contactpoint_id} was merged into this one" in page
    assert f"ContactPoint ID {first.contactpoint_id}</span>" in page  # the surviving record's page
    [view] = views_by(practitioner)
    assert view.children == [first.contactpoint_id]
    assert view.details == {"details_withheld": False, "merged_from": second.contactpoint_id}

    # The banner is for the view the old identifier led to, not for every later one.
    page = client.get(f"/children/{first.contactpoint_id}").content.decode()
    assert "was merged into this one" not in page
    assert views_by(practitioner)[-1].details == {"details_withheld": False}


def test_a_chain_of_merges_is_followed_to_its_end_and_a_loop_is_not(client, children, tmp_path):
    first, second, _ = children
    third = load_children(
        tmp_path, [child_row("N9", given_names="Tobi", family_name="Adeyemi", date_of_birth="2016-09-09")]
    )["N9"]
    merge(second, third)  # third → second
    merge(first, second)  # second → first
    signed_in(client, Role.PRACTITIONER)
    response = client.get(f"/children/{third.contactpoint_id}")
    assert response.status_code == 302 and response["Location"] == f"/children/{first.contactpoint_id}"
    page = client.get(response["Location"]).content.decode()
    assert f"The record with ContactPoint ID {third.contactpoint_id} was merged into this one" in page

    # Records that point at each other (never made by a merge, but rows can be damaged) lead nowhere.
    Child.objects.filter(pk=second.pk).update(merged_into=third)
    Child.objects.filter(pk=third.pk).update(merged_into=second)
    assert client.get(f"/children/{third.contactpoint_id}").status_code == 404
    assert client.get(f"/children/{second.contactpoint_id}").status_code == 404


def test_after_the_merge_is_undone_the_old_identifier_is_its_own_record_again(client, children):
    first, second, _ = children
    correction = merge(first, second)
    undo_correction(actor=user(Role.DIRECTORY_TEAM), correction=correction, reason="Merged in error: twins")
    signed_in(client, Role.PRACTITIONER)
    response = client.get(f"/children/{second.contactpoint_id}")
    page = response.content.decode()
    assert response.status_code == 200 and "Okafor-Bello" in page and "was merged into this one" not in page


def test_the_old_identifier_is_refused_to_whoever_may_not_open_the_surviving_record(client, children):
    first, second, _ = children
    merge(first, second)
    team = signed_in(client, area_code=OTHER_AREA)
    response = client.get(f"/children/{second.contactpoint_id}")
    assert response.status_code == 403 and first.contactpoint_id not in response.content.decode()
    assert "Location" not in response
    assert AuditEvent.objects.filter(action="access:policy:deny", actor_username=team.username).exists()
    assert views_by(team) == []


def test_the_banner_is_only_for_an_identifier_that_really_was_merged_into_the_record(client, children):
    first, second, elsewhere = children
    signed_in(client, Role.PRACTITIONER)
    session = client.session
    session["contactpoint.merged_from"] = {"merged": elsewhere.contactpoint_id, "surviving": first.contactpoint_id}
    session.save()
    page = client.get(f"/children/{first.contactpoint_id}").content.decode()
    assert "was merged into this one" not in page and elsewhere.contactpoint_id not in page


def test_the_merge_is_offered_only_on_an_active_record_in_an_area(client, children):
    first, second, _ = children
    signed_in(client)
    Child.objects.filter(pk=first.pk).update(status=Child.Status.ARCHIVED)
    response = client.get(f"/children/{first.contactpoint_id}")
    assert response.status_code == 200  # the team of the area opens an archived record
    assert "Merge with another record" not in response.content.decode()
    Child.objects.filter(pk=second.pk).update(local_authority=None)
    # A record no local authority holds is in no team's area: the team doesn't open it (nor merge it).
    response = client.get(f"/children/{second.contactpoint_id}")
    assert response.status_code == 403 and "Merge with another record" not in response.content.decode()
    assert client.post(f"/children/{second.contactpoint_id}/hidden-details", {"reason": "x"}).status_code == 403
    # A practitioner opens it like any other record, and is offered no merge.
    practitioner = Client()
    signed_in(practitioner, Role.PRACTITIONER)
    response = practitioner.get(f"/children/{second.contactpoint_id}")
    assert response.status_code == 200 and "Merge with another record" not in response.content.decode()
