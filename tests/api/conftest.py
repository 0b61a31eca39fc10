"""API test fixtures: a small directory loaded from a feed, and users with real bearer tokens."""

from __future__ import annotations

import pytest

from contactpoint.access import services as access_services
from contactpoint.access.models import Role
from directory.builders import child_row, load_children, user


@pytest.fixture
def children(tmp_path):
    rows = [
        child_row("A1", given_names="William", family_name="Hartley", date_of_birth="2014-05-08", sex="M",
                  postcode="B13 9AH", nhs_number="9434765919", carer_given_names="Jo", carer_family_name="Hartley",
                  carer_relationship="mother", carer_phone="0121 496 0000", service_type="school",
                  organisation_code="SCH1", organisation_name="Elm Primary School", involvement_start="2019-09-01"),
        child_row("B1", given_names="Grace", family_name="Adeyemi", date_of_birth="2015-03-09", sex="F",
                  postcode="B19 2TN", nhs_number="9434765870"),
    ]
    return load_children(tmp_path, rows)


def token_for(account) -> str:
    return access_services.create_api_token(actor="tests", user=account).secret


@pytest.fixture
def practitioner():
    return user(Role.PRACTITIONER, first_name="Nia", last_name="Jones")


@pytest.fixture
def auth(practitioner):
    return {"HTTP_AUTHORIZATION": f"Bearer {token_for(practitioner)}"}
