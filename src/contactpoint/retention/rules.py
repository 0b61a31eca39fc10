"""The retention rules, as configuration (``settings.CONTACTPOINT``), and the dates they imply.

* A child's record is kept while the child is under ``RETENTION_ADULT_AGE`` (18).
* It is kept until ``RETENTION_EXTENDED_AGE`` (25) when a current source record asserts one of
  ``RETENTION_EXTENDED_CONDITIONS`` (``care_leaver``, ``sen``) — the source's assertion, never ours.
* Then it is archived: invisible to practitioners and operators, visible to the directory team.
* ``RETENTION_ARCHIVE_YEARS`` (6) after archiving it is erased.

A birthday on 29 February falls on 1 March in common years (the later date: keeping a record one day
longer is the safe side of a rule whose purpose is to keep records while they are needed).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

from django.conf import settings

DEFAULTS: dict[str, object] = {
    "RETENTION_ADULT_AGE": 18,
    "RETENTION_EXTENDED_AGE": 25,
    "RETENTION_EXTENDED_CONDITIONS": ("care_leaver", "sen"),
    "RETENTION_ARCHIVE_YEARS": 6,
}


@dataclass(frozen=True)
class RetentionRules:
    adult_age: int
    extended_age: int
    extended_conditions: tuple[str, ...]
    archive_years: int

    def __post_init__(self) -> None:
        if not 0 < self.adult_age <= self.extended_age:
            raise ValueError("retention: the adult age must be positive and not above the extended age")
        if self.archive_years < 0:
            raise ValueError("retention: the archive period cannot be negative")

    @classmethod
    def from_settings(cls) -> RetentionRules:
        configured = {**DEFAULTS, **{k: v for k, v in settings.CONTACTPOINT.items() if k in DEFAULTS}}
        return cls(
            adult_age=int(str(configured["RETENTION_ADULT_AGE"])),
            extended_age=int(str(configured["RETENTION_EXTENDED_AGE"])),
            extended_conditions=tuple(
                str(c) for c in cast(Iterable[object], configured["RETENTION_EXTENDED_CONDITIONS"])
            ),
            archive_years=int(str(configured["RETENTION_ARCHIVE_YEARS"])),
        )

    def adult_cutoff(self, today: datetime.date) -> datetime.date:
        """Children born on or before this date have reached the adult age by ``today``."""
        return years_before(today, self.adult_age)

    def extended_cutoff(self, today: datetime.date) -> datetime.date:
        return years_before(today, self.extended_age)

    def erase_cutoff(self, today: datetime.date) -> datetime.date:
        """Children archived on or before this date have served the archive period by ``today``."""
        return years_before(today, self.archive_years)


def years_before(day: datetime.date, years: int) -> datetime.date:
    """The same day ``years`` earlier; 29 February becomes 28 February in a common year.

    So someone born on 29 February is counted a year older from 1 March (``born <= cutoff`` first holds
    on 1 March), never from 28 February.
    """
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February → a common year
        return day.replace(year=day.year - years, day=28)
