"""Searching for a child: every kind of variant is found, anti-fishing holds, every child shown is audited."""

from __future__ import annotations

import pytest

from contactpoint.access.models import Role
from contactpoint.access.policy import AccessDenied
from contactpoint.audit.tags import AuditAction
from contactpoint.directory import queries
from contactpoint.directory.errors import SearchCriteriaError
from contactpoint.directory.search import MAX_RESULTS, SearchCriteria
from directory.builders import child_row, events, load_children, user

# Every search test runs against both indexes: clear folded names and blind tokens (docs/search.md).
pytestmark = [pytest.mark.django_db]

# Clearly different children (names, dates of birth, postcodes, NHS numbers), so matching keeps them apart.
PEOPLE = [
    child_row("W1", given_names="William James", family_name="Hartley", date_of_birth="2014-05-08",
              sex="M", postcode="B13 9AH", nhs_number="9434765919"),
    child_row("A1", given_names="Alfred", family_name="Okonjo", date_of_birth="2016-11-02", sex="M",
              postcode="B14 7QD", nhs_number="9434765870"),
    child_row("C1", given_names="Catherine", family_name="Smith", date_of_birth="2012-02-19", sex="F",
              postcode="B16 8LP", nhs_number="9434765862"),
    child_row("H1", given_names="Isla", family_name="Pemberton-Clarke", date_of_birth="2017-07-23", sex="F",
              postcode="B17 0HG", nhs_number="9434765854"),
    child_row("F1", given_names="Noah", family_name="Wisniewski", former_family_names="Kowalczyk",
              date_of_birth="2011-09-30", sex="M", postcode="B18 4SS", nhs_number="9434765846"),
    child_row("T1", given_names="Grace", family_name="Adeyemi", date_of_birth="2015-03-09", sex="F",
              postcode="B19 2TN", nhs_number="9434765838"),
    child_row("S1", given_names="Theo", family_name="Blackwood", date_of_birth="2013-12-01", sex="M",
              postcode="B20 3LY", nhs_number="9434765811"),
]


@pytest.fixture
def directory(tmp_path):
    return load_children(tmp_path, PEOPLE)


@pytest.fixture
def practitioner():
    return user(Role.PRACTITIONER)


def found(practitioner, **criteria):
    outcome = queries.search_children(user=practitioner, criteria=SearchCriteria(**criteria))
    return [r.contactpoint_id for r in outcome.results]


VARIANTS = {
    "exact": ("W1", {"given_name": "William", "family_name": "Hartley", "date_of_birth": "2014-05-08"}),
    "one typo in the family name": ("W1", {"given_name": "William", "family_name": "Hartely",
                                           "date_of_birth": "2014-05-08"}),
    "two typos in the family name": ("F1", {"given_name": "Noah", "family_name": "Wisniewsky",
                                            "date_of_birth": "2011-09-30"}),
    "typos in both names, year only": ("S1", {"given_name": "Thoe", "family_name": "Blakwood",
                                              "date_of_birth": "2013"}),
    "phonetic family name (Smyth)": ("C1", {"given_name": "Catherine", "family_name": "Smyth",
                                            "date_of_birth": "2012-02-19"}),
    "phonetic given name (Kathryn)": ("C1", {"given_name": "Kathryn", "family_name": "Smith",
                                             "date_of_birth": "2012-02-19"}),
    "nickname (Bill)": ("W1", {"given_name": "Bill", "family_name": "Hartley", "date_of_birth": "2014-05-08"}),
    "nickname (Alfie)": ("A1", {"given_name": "Alfie", "family_name": "Okonjo", "date_of_birth": "2016-11-02"}),
    "nickname, year of birth only": ("A1", {"given_name": "Alfie", "family_name": "Okonjo",
                                            "date_of_birth": "2016"}),
    "middle name as given name": ("W1", {"given_name": "James", "family_name": "Hartley",
                                         "date_of_birth": "2014-05-08"}),
    "given and family swapped": ("T1", {"given_name": "Adeyemi", "family_name": "Grace",
                                        "date_of_birth": "2015-03-09"}),
    "one part of a hyphenated name": ("H1", {"given_name": "Isla", "family_name": "Clarke",
                                             "date_of_birth": "2017-07-23"}),
    "hyphenated name typed with a space": ("H1", {"given_name": "Isla", "family_name": "Pemberton Clarke",
                                                  "date_of_birth": "2017-07-23"}),
    "former surname": ("F1", {"given_name": "Noah", "family_name": "Kowalczyk", "date_of_birth": "2011-09-30"}),
    "accents typed": ("F1", {"given_name": "Noah", "family_name": "Wiśniewski", "date_of_birth": "2011-09-30"}),
    "day and month transposed": ("T1", {"given_name": "Grace", "family_name": "Adeyemi",
                                        "date_of_birth": "2015-09-03"}),
    "transposed into an impossible date": ("W1", {"given_name": "William", "family_name": "Hartley",
                                                  "date_of_birth": "2014-08-05"}),
    "family name and postcode": ("S1", {"family_name": "Blackwood", "postcode": "b203ly"}),
    "year and month with given name": ("C1", {"given_name": "Kate", "family_name": "Smith",
                                              "date_of_birth": "2012-02"}),
    "NHS number alone": ("A1", {"nhs_number": "943 476 5870"}),
}


def test_each_kind_of_variant_finds_the_child_first(directory, practitioner):
    # One directory for all the kinds (loading feeds is the slow part); every miss is reported at once.
    missed = {}
    for kind, (srid, criteria) in VARIANTS.items():
        results = found(practitioner, **criteria)
        if not results or results[0] != directory[srid].contactpoint_id:
            missed[kind] = results
    assert missed == {}


def test_a_moved_from_postcode_still_finds_the_child(tmp_path, practitioner):
    # NHS demographics has the old address; child benefit, sent later, the new one.
    load_children(tmp_path, [child_row("M1", given_names="Zara", family_name="Lindqvist", postcode="B15 2TT",
                                       date_of_birth="2012-06-14", nhs_number="9434765803")])
    moved = load_children(
        tmp_path,
        [child_row("CB1", given_names="Zara", family_name="Lindqvist", postcode="B29 6AA",
                   date_of_birth="2012-06-14", nhs_number="9434765803")],
        source_code="child_benefit",
    )["CB1"]
    assert found(practitioner, family_name="Lindqvist", postcode="B15 2TT") == [moved.contactpoint_id]
    assert found(practitioner, family_name="Lindqvist", postcode="B29 6AA") == [moved.contactpoint_id]


def test_results_are_best_first_with_a_coarse_location_only(directory, practitioner):
    outcome = queries.search_children(
        user=practitioner, criteria=SearchCriteria(family_name="Hartley", date_of_birth="2014-05-08")
    )
    [result] = outcome.results
    assert (result.town, result.postcode_district) == ("Birmingham", "B13")
    assert not hasattr(result, "address_line_1") and not hasattr(result, "postcode")
    assert 0 < result.score <= 1


def test_a_different_child_is_not_returned(directory, practitioner):
    assert found(practitioner, given_name="Oliver", family_name="Thompson", date_of_birth="2014-05-08") == []


INSUFFICIENT = {
    "family name only": {"family_name": "Smith"},
    "given name and date only": {"given_name": "Catherine", "date_of_birth": "2012-02-19"},
    "family name and year, no given name": {"family_name": "Smith", "date_of_birth": "2012"},
    "postcode only": {"postcode": "B16 8LP"},
    "nothing": {},
}


def test_minimum_criteria_are_enforced(directory, practitioner):
    for kind, criteria in INSUFFICIENT.items():
        with pytest.raises(SearchCriteriaError, match="not enough to search on"):
            found(practitioner, **criteria)
            pytest.fail(f"searched on {kind}")


@pytest.mark.parametrize(
    ("criteria", "message"),
    [
        ({"family_name": "Sm*", "date_of_birth": "2012-02-19"}, "wildcards"),
        ({"family_name": "%", "postcode": "B16 8LP"}, "wildcards"),
        ({"family_name": "S", "date_of_birth": "2012-02-19"}, "at least two letters"),
        ({"given_name": "C", "family_name": "Smith", "date_of_birth": "2012"}, "at least two letters"),
        ({"family_name": "Smith", "postcode": "B16"}, "full UK postcode"),
        ({"family_name": "Smith", "date_of_birth": "19/02/2012"}, "YYYY-MM-DD"),
        ({"family_name": "Smith", "date_of_birth": "2012-02-30"}, "not a real date"),
        ({"family_name": "Smith", "date_of_birth": "1950-01-01"}, "the year must be"),
        ({"nhs_number": "1234567890"}, "not a valid NHS number"),
        ({"family_name": "Smith\x00", "date_of_birth": "2012-02-19"}, "control characters"),
    ],
)
def test_malformed_criteria_get_a_specific_message(practitioner, criteria, message):
    with pytest.raises(SearchCriteriaError, match=message):
        found(practitioner, **criteria)


def test_too_many_matches_gives_no_list(tmp_path, practitioner):
    given = ["Ada", "Ben", "Cal", "Dev", "Eli", "Fay", "Gus", "Hal", "Ivo", "Jon", "Kai", "Lev", "Max", "Ned",
             "Oli", "Pip", "Quin", "Rex", "Sid", "Tam", "Uma", "Vic", "Wyn", "Xan", "Yas"]
    rows = [child_row(f"K{i}", given_names=name, family_name="Khan", postcode="B11 1AA", sex="U",
                      date_of_birth=f"{2008 + i % 10}-{1 + i % 12:02d}-{1 + i:02d}", address_line_1=f"{i} Flats")
            for i, name in enumerate(given)]
    load_children(tmp_path, rows)
    outcome = queries.search_children(user=practitioner, criteria=SearchCriteria(family_name="Khan",
                                                                                  postcode="B11 1AA"))
    assert len(given) > MAX_RESULTS
    assert outcome.too_many and outcome.results == []
    assert "too many matches" in outcome.message
    [event] = events(AuditAction.ACCESS_SEARCH)
    assert event.children == [] and event.outcome == "too_many"
    # With more detail, the one child.
    narrowed = found(practitioner, given_name="Quin", family_name="Khan", postcode="B11 1AA")
    assert len(narrowed) == 1


def test_every_child_shown_is_recorded_as_accessed(directory, practitioner):
    outcome = queries.search_children(
        user=practitioner, criteria=SearchCriteria(given_name="Bill", family_name="Hartley",
                                                   date_of_birth="2014-05-08"),
        client_address="192.0.2.1",
    )
    [event] = events(AuditAction.ACCESS_SEARCH)
    assert event.children == sorted(r.contactpoint_id for r in outcome.results) != []
    assert event.actor_username == practitioner.username
    assert event.details == {"criteria": ["given_name", "family_name", "date_of_birth"], "shown": 1}
    assert "Hartley" not in str(event.details) and event.client_address == "192.0.2.1"


def test_a_refused_search_is_recorded_too(directory, practitioner):
    with pytest.raises(SearchCriteriaError):
        found(practitioner, family_name="Smith")
    [event] = events(AuditAction.ACCESS_SEARCH)
    assert event.outcome == "refused" and event.children == []


def test_operators_must_name_requester_and_reason(directory):
    operator = user(Role.OPERATOR)
    criteria = SearchCriteria(family_name="Hartley", date_of_birth="2014-05-08")
    with pytest.raises(AccessDenied, match="acting for"):
        queries.search_children(user=operator, criteria=criteria)
    outcome = queries.search_children(user=operator, criteria=criteria, requester="PC 1234 West Midlands Police",
                                      reason="child reported missing")
    assert len(outcome.results) == 1
    [event] = events(AuditAction.ACCESS_SEARCH)
    assert (event.requester, event.reason) == ("PC 1234 West Midlands Police", "child reported missing")


def test_roles_without_search_are_refused(directory):
    with pytest.raises(AccessDenied):
        found(user(Role.AUDITOR), family_name="Hartley", date_of_birth="2014-05-08")


def test_a_directory_team_searches_only_its_own_area(directory):
    other_team = user(Role.DIRECTORY_TEAM, area_code="E08000026")
    own_team = user(Role.DIRECTORY_TEAM)
    criteria = {"family_name": "Hartley", "date_of_birth": "2014-05-08"}
    assert found(other_team, **criteria) == []
    assert found(own_team, **criteria) == [directory["W1"].contactpoint_id]
