"""A shielded child whose every location and contact detail is a distinctive canary value.

The child is loaded the way production loads children (three source systems' feeds through
``ingest.pipeline.load_feed``, linked by matching), then shielded by its own directory team through
``directory.services.shield_child``. Any response that contains one of :data:`CANARIES` has leaked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.db.models import Q
from django.utils import timezone

from contactpoint.access.models import Role, User
from contactpoint.directory.models import Child, Involvement
from contactpoint.directory.services import shield_child
from contactpoint.feeds.models import FeedBatch, SourceRecord
from contactpoint.matching.models import ReviewItem
from directory.builders import AREA, OTHER_AREA, child_row, load_children, source, user

# What stays visible about a shielded child (and is typed to find it): names, sex, date of birth.
GIVEN, FAMILY, DOB = "Wren", "Quillfeather", "2014-06-17"
NHS_NUMBER = "9434765919"
POSTCODE = "YY9 7QQ"  # valid in shape, allotted to nowhere
FORMER_POSTCODE = "YY9 3QX"

# Everything a shielded child's record must withhold, each a value no page prints by chance.
CANARIES = {
    "address": "CANARY-ADDR-7Q",
    "address line 2": "Canary Mews 7Q",
    "former address": "CANARY-OLDADDR-3K",
    "town": "Canaryton",
    "former town": "Old Canarybury",
    "postcode": POSTCODE,
    "postcode without space": POSTCODE.replace(" ", ""),
    "former postcode": FORMER_POSTCODE,
    "former postcode without space": FORMER_POSTCODE.replace(" ", ""),
    "carer given name": "Canarella",
    "carer family name": "Tweetsworth",
    "carer phone": "07700 900777",
    "carer email": "canary.carer@example.org",
    "school": "Canary Wharf Academy",
    "school practitioner": "Sable Canaryteach",
    "school phone": "0121 496 0771",
    "school email": "dsl@canary-academy.example.org",
    "GP practice": "Canarygate Surgery",
    "GP": "Dr Ottilie Canarydoc",
    "GP phone": "0121 496 0772",
    "GP email": "reception@canarygate.example.org",
    "social care team": "Canary Children's Services Hub",
    "social worker": "Perpetua Canarysw",
    "social worker phone": "0121 496 0773",
    "social worker email": "perpetua.canarysw@example.org",
}
# Organisations are not secret (a school is listed wherever organisations are, e.g. for new accounts);
# that this child attends them is. These leak when a response names them and the child together.
ASSOCIATION_CANARIES = {
    what: CANARIES.pop(what) for what in ("school", "GP practice", "social care team")
}
# Short canaries that random tokens could contain: matched as whole words, case-sensitively.
WORD_CANARIES = {"postcode district": POSTCODE.split(" ")[0], "former postcode district": FORMER_POSTCODE.split(" ")[0]}


def leaks(text: str, *, contactpoint_id: str, typed: tuple[str, ...] = ()) -> list[str]:
    """The canaries found in ``text``. ``typed``: values the request itself sent, whose echo in a form's
    ``value="…"`` attribute is not a leak (a search page shows what was typed)."""
    for value in typed:
        text = re.sub(rf'value="{re.escape(value)}"', 'value=""', text, flags=re.IGNORECASE)
    folded = text.casefold()
    found = [f"{what} ({value})" for what, value in CANARIES.items() if value.casefold() in folded]
    if contactpoint_id in text or FAMILY.casefold() in folded:
        found += [f"{what} ({value}) with the child" for what, value in ASSOCIATION_CANARIES.items()
                  if value.casefold() in folded]
    found += [f"{what} ({value})" for what, value in WORD_CANARIES.items() if re.search(rf"\b{value}\b", text)]
    return found


@dataclass
class Canary:
    child: Child
    involvement_ids: list[int]
    source_record_ids: list[int]
    batch_ids: list[int]
    review_item_ids: list[int]

    @property
    def contactpoint_id(self) -> str:
        return self.child.contactpoint_id

    def related_ids(self) -> list[int]:
        """Identifiers of everything about the child, to put in URLs that take a number."""
        return sorted({*self.involvement_ids, *self.source_record_ids, *self.batch_ids, *self.review_item_ids,
                       self.child.pk})


def _rows() -> dict[str, list[dict[str, str]]]:
    who = {"given_names": GIVEN, "family_name": FAMILY, "date_of_birth": DOB, "sex": "F", "nhs_number": NHS_NUMBER,
           "address_line_1": CANARIES["address"], "address_line_2": CANARIES["address line 2"],
           "town": CANARIES["town"], "postcode": POSTCODE, "local_authority": AREA}
    return {
        # An older address, sent first: a former address and postcode once the others arrive.
        "gp_registrations": [child_row(
            "GP-1", **{**who, "address_line_1": CANARIES["former address"], "address_line_2": "",
                       "town": CANARIES["former town"], "postcode": FORMER_POSTCODE},
            service_type="gp", organisation_code="CANGP1", organisation_name=ASSOCIATION_CANARIES["GP practice"],
            practitioner_name=CANARIES["GP"], practitioner_role="GP", practitioner_phone=CANARIES["GP phone"],
            practitioner_email=CANARIES["GP email"], involvement_start="2014-07-01")],
        # The most trusted source: the current address, the carer and the social worker.
        "la_social_care": [child_row(
            "SC-1", **who, carer_given_names=CANARIES["carer given name"],
            carer_family_name=CANARIES["carer family name"], carer_relationship="mother",
            carer_phone=CANARIES["carer phone"], carer_email=CANARIES["carer email"], service_type="social_care",
            organisation_code="CANSC1", organisation_name=ASSOCIATION_CANARIES["social care team"],
            practitioner_name=CANARIES["social worker"], practitioner_role="social worker",
            practitioner_phone=CANARIES["social worker phone"], practitioner_email=CANARIES["social worker email"],
            involvement_start="2023-01-09")],
        "school_census": [child_row(
            "SCH-1", **who, service_type="school", organisation_code="CANSCH1",
            organisation_name=ASSOCIATION_CANARIES["school"],
            practitioner_name=CANARIES["school practitioner"], practitioner_role="designated safeguarding lead",
            practitioner_phone=CANARIES["school phone"], practitioner_email=CANARIES["school email"],
            involvement_start="2019-09-01")],
    }


@pytest.fixture
def own_team() -> User:
    """The directory team of the child's area: the only people who may see the hidden details."""
    return user(Role.DIRECTORY_TEAM, area_code=AREA, username="own-area-team")


@pytest.fixture
def canary(tmp_path, own_team) -> Canary:
    trust = {"la_social_care": 9, "school_census": 7, "gp_registrations": 3}
    children = set()
    for code, rows in _rows().items():
        source(code, trust=trust[code])
        children |= {c.pk for c in load_children(tmp_path, rows, source_code=code).values()}
    assert len(children) == 1, "the three sources' records should be one child"
    child = Child.objects.get(pk=children.pop())
    # A near-duplicate from a fourth source (same given name and date of birth, another NHS number and address):
    # uncertain pairs in the review queue show the shielded child's records beside it. Its own details are
    # not canaries.
    source("nhs_demographics", trust=5)
    load_children(tmp_path, [child_row(
        "NHS-1", given_names=GIVEN, family_name="Quilfeather", date_of_birth=DOB, sex="F", nhs_number="9434765870",
        address_line_1="7 Review Row", town="Reviewford", postcode="YX9 5QZ", local_authority=AREA)],
        source_code="nhs_demographics")
    shield_child(actor=own_team, contactpoint_id=child.contactpoint_id, reason="canary test: at risk if found",
                 review_on=timezone.localdate().replace(year=timezone.localdate().year + 1))
    child.refresh_from_db()
    assert child.is_shielded
    records = SourceRecord.objects.filter(child=child)
    reviews = ReviewItem.objects.filter(Q(record__child=child) | Q(candidate__child=child))
    # (Whether the pair goes to review is the matching engine's call; the walk visits whatever items exist.)
    return Canary(
        child=child,
        involvement_ids=list(Involvement.objects.filter(child=child).values_list("pk", flat=True)),
        source_record_ids=list(records.values_list("pk", flat=True)),
        batch_ids=list(FeedBatch.objects.filter(pk__in=records.values("last_batch_id")).values_list("pk", flat=True)),
        review_item_ids=list(reviews.values_list("pk", flat=True)),
    )


# Everyone who must never see the canaries, each with what they send to act ("requester", "reason").
ROLES_WITHOUT_SIGHT = {
    "practitioner": (Role.PRACTITIONER, AREA),
    "operator": (Role.OPERATOR, AREA),
    "other area's directory team": (Role.DIRECTORY_TEAM, OTHER_AREA),
    "auditor": (Role.AUDITOR, AREA),
    "admin": (Role.ADMIN, AREA),
}


def account(label: str) -> User:
    role, area_code = ROLES_WITHOUT_SIGHT[label]
    # High primary keys: the walk puts the child's related identifiers into every numeric URL parameter,
    # and must never happen to hit its own account's pages (suspending itself, say).
    return user(role, area_code=area_code, id=10_000_000 + list(ROLES_WITHOUT_SIGHT).index(label))
