"""Children of given ages, loaded through the feed path like production's."""

from __future__ import annotations

import datetime
import itertools
from pathlib import Path

from contactpoint.directory.models import Child
from contactpoint.retention.rules import years_before
from directory.builders import child_row, load_children

TODAY = datetime.date.today()  # feeds refuse dates of birth in the future, so ages count from today
_names = itertools.count()
# Distinct surnames so that no two test children are linked as one by matching.
SURNAMES = ["Abernathy", "Blackwood", "Castellano", "Dunmore", "Eversleigh", "Fairweather", "Galloway",
            "Hawthorne", "Ingleby", "Jessop", "Kingsley", "Lockhart", "Merriweather", "Northcott"]


def born(age_years: int, *, days: int = 0, today: datetime.date = TODAY) -> str:
    """The date of birth of someone who is ``age_years`` old today, ``days`` past that birthday."""
    return (years_before(today, age_years) - datetime.timedelta(days=days)).isoformat()


def children(tmp_path: Path, specs: dict[str, dict[str, str]]) -> dict[str, Child]:
    """Load one child per spec (feed column overrides); return each by its key."""
    rows = []
    for key, overrides in specs.items():
        n = next(_names)
        rows.append(child_row(f"R{n}-{key}", given_names="Test", family_name=SURNAMES[n % len(SURNAMES)] + key,
                              address_line_1=f"{n} Test Street", **overrides))
    loaded = load_children(tmp_path, rows)
    return {key: loaded[row["source_record_id"]] for key, row in zip(specs, rows, strict=True)}
