"""Statistics are refreshed after a bulk write only when the write is a sizeable share of the table."""

from __future__ import annotations

import pytest
from django.db import connection

from contactpoint.core.statistics import analyze_if_grown

pytestmark = pytest.mark.django_db


def reltuples(cursor, table: str) -> float:
    cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
    return float(cursor.fetchone()[0])


def test_a_large_share_is_analysed_and_a_small_one_is_not() -> None:
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE grown (id int)")
        cursor.execute("INSERT INTO grown SELECT generate_series(1, 20000)")
        assert analyze_if_grown(cursor, "grown", 20000)  # never analysed: it must be
        assert reltuples(cursor, "grown") == 20000
        cursor.execute("INSERT INTO grown SELECT generate_series(1, 1500)")
        assert not analyze_if_grown(cursor, "grown", 1500)  # 7.5% more: plans don't change
        assert reltuples(cursor, "grown") == 20000
        cursor.execute("INSERT INTO grown SELECT generate_series(1, 5000)")
        assert analyze_if_grown(cursor, "grown", 5000, ["id"])
        assert reltuples(cursor, "grown") == 26500
        assert not analyze_if_grown(cursor, "grown", 900)  # too few rows to matter, whatever the share
