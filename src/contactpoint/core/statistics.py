"""Planner statistics after bulk writes, taken only when they would change the plans.

Rows written inside a transaction are invisible to autovacuum's ANALYZE until it commits, so a load that
writes many rows and then queries them must analyse the table itself, or the planner plans for the table
as it was (an empty table joined in a loop: minutes). But ANALYZE samples the whole table (1.7 s for a
million source records) and 10,000 rows added to a million change no plan, so it runs only when the rows
just written are a sizeable share of what the statistics last saw.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: Re-analyse when the rows just written are more than this share of the rows the statistics counted...
GROWTH_SHARE = 0.1
#: ... and more than this many: a few hundred rows change no plan worth the ANALYZE.
MINIMUM_ROWS = 1000


def analyze_if_grown(cursor: Any, table: str, written: int, columns: Sequence[str] = ()) -> bool:
    """ANALYZE ``table`` (only ``columns``, when given) if ``written`` rows are a large share of it."""
    if written <= MINIMUM_ROWS:
        return False
    cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
    row = cursor.fetchone()
    counted = float(row[0]) if row else -1.0  # -1: never analysed
    if counted >= 0 and written <= GROWTH_SHARE * counted:
        return False
    listed = f" ({', '.join(columns)})" if columns else ""
    cursor.execute(f"ANALYZE {table}{listed}")
    return True
