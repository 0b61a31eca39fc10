"""Alert thresholds, per role. Defaults here; override any of them in settings:

    CONTACTPOINT_ALERT_THRESHOLDS = {"practitioner": {"max_searches_per_day": 60}}

Roles without child access (auditor, admin) have no thresholds: nothing they do can be an access.
"""

from __future__ import annotations

import dataclasses
import datetime
from dataclasses import dataclass

from django.conf import settings

from contactpoint.access.models import Role

MONDAY_TO_FRIDAY = frozenset({0, 1, 2, 3, 4})


@dataclass(frozen=True)
class RoleThresholds:
    max_searches_per_day: int | None  # more in one day raises SEARCH_VOLUME; None: never
    fishing_min_searches: int | None  # FISHING needs at least this many searches in a day; None: never
    fishing_max_followed_share: float  # ...and fewer than this share of them followed by opening a result
    follow_up_minutes: int  # a view this soon after a search, of a child it listed, follows it up
    working_hours: tuple[datetime.time, datetime.time] | None  # local time; None: works round the clock
    working_days: frozenset[int]  # Monday is 0
    out_of_hours_burst: int  # this many accesses out of hours...
    out_of_hours_burst_minutes: int  # ...within this many minutes raise OUT_OF_HOURS
    check_area: bool  # OUT_OF_AREA applies (practitioners: national search, local work)


DEFAULT_THRESHOLDS: dict[str, RoleThresholds] = {
    # A practitioner's normal day is a handful of searches, nearly each followed by opening the record.
    Role.PRACTITIONER: RoleThresholds(
        max_searches_per_day=40, fishing_min_searches=12, fishing_max_followed_share=0.25, follow_up_minutes=30,
        working_hours=(datetime.time(7, 0), datetime.time(19, 0)), working_days=MONDAY_TO_FRIDAY,
        out_of_hours_burst=5, out_of_hours_burst_minutes=30, check_area=True,
    ),
    # Control rooms work round the clock, nationally, and search far more; they often search without
    # opening (the requester only needed to know whether a child is known).
    Role.OPERATOR: RoleThresholds(
        max_searches_per_day=250, fishing_min_searches=60, fishing_max_followed_share=0.05, follow_up_minutes=30,
        working_hours=None, working_days=MONDAY_TO_FRIDAY, out_of_hours_burst=0, out_of_hours_burst_minutes=0,
        check_area=False,
    ),
    # Directory teams are confined to their area by the policy; they search a lot resolving data quality.
    Role.DIRECTORY_TEAM: RoleThresholds(
        max_searches_per_day=150, fishing_min_searches=40, fishing_max_followed_share=0.1, follow_up_minutes=30,
        working_hours=(datetime.time(7, 0), datetime.time(20, 0)), working_days=MONDAY_TO_FRIDAY,
        out_of_hours_burst=10, out_of_hours_burst_minutes=30, check_area=False,
    ),
}


def thresholds_for(role: str) -> RoleThresholds | None:
    """The thresholds of ``role``, with any overrides from ``settings.CONTACTPOINT_ALERT_THRESHOLDS``."""
    default = DEFAULT_THRESHOLDS.get(role)
    if default is None:
        return None
    overrides = getattr(settings, "CONTACTPOINT_ALERT_THRESHOLDS", {}).get(str(role), {})
    return dataclasses.replace(default, **overrides) if overrides else default
