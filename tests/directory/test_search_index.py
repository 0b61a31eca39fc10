"""The search index's SQL: name folding, and the nickname table matching its Python source."""

from __future__ import annotations

import pytest
from django.db import connection

from contactpoint.core.forenames import canonical_forenames, forename_pairs
from contactpoint.directory import identity
from contactpoint.directory.models import Forename

pytestmark = pytest.mark.django_db


def fold(value):
    with connection.cursor() as cursor:
        cursor.execute("SELECT cp_search_fold(%s)", [value])
        return cursor.fetchone()[0]


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("Smith-Jones", "SMITH JONES"),
        ("  o'brien ", "OBRIEN"),
        ("O’Neill", "ONEILL"),
        ("Zoë", "ZOE"),
        ("Łukasz", "LUKASZ"),
        ("Wiśniewski", "WISNIEWSKI"),
        ("Strauß", "STRAUSS"),
        ("Mary  Ann", "MARY ANN"),
        ("St. John", "ST JOHN"),
        ("123", ""),
    ],
)
def test_names_fold_to_upper_case_ascii_words(typed, folded):
    assert fold(typed) == folded


def test_the_nickname_table_in_the_database_matches_the_module():
    # Migrations fill it; when core/forenames.py changes, a migration must refill it or this fails.
    assert sorted(Forename.objects.values_list("name", "canonical")) == forename_pairs()


def test_nicknames_read_as_their_canonical_names():
    assert canonical_forenames("BILL") == ("WILLIAM",)
    assert canonical_forenames("ALFIE") == ("ALFRED",)
    assert set(canonical_forenames("ALEX")) == {"ALEXANDER", "ALEXANDRA"}
    assert canonical_forenames("ZEPHYR") == ("ZEPHYR",)


def test_query_keys_fold_like_the_index():
    keys = identity.search_query_keys(given_names="Kathryn  Mary", family_name="Pemberton-Clarke")
    assert (keys.given, keys.given_all, keys.family, keys.family_parts) == (
        "KATHRYN", "KATHRYN MARY", "PEMBERTONCLARKE", ("PEMBERTON", "CLARKE")
    )
    assert keys.family_dm and keys.given_dm
