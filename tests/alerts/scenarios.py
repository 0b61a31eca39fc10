"""Realistic scenarios for the alert rules: a small directory loaded through a real feed, people doing
real searches and views through directory.queries, at chosen times (the clock is set, not the log)."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock
from zoneinfo import ZoneInfo

from django.utils import timezone

from contactpoint.access.models import User
from contactpoint.alerts.models import Alert
from contactpoint.alerts.services import run_alert_rules
from contactpoint.directory import queries
from contactpoint.directory.search import SearchCriteria
from directory.builders import AREA, OTHER_AREA, child_row, load_children

LONDON = ZoneInfo("Europe/London")
# A Tuesday, and the weekend after it.
TUESDAY = datetime.date(2026, 11, 24)
SATURDAY = datetime.date(2026, 11, 28)

# Ten children with distinct names, all living in AREA (Birmingham), one in OTHER_AREA.
PEOPLE = [
    ("C01", "Amelia", "Okafor", "2015-03-04", "B15 2TT"),
    ("C02", "Noah", "Kowalski", "2012-07-19", "B16 8QD"),
    ("C03", "Isla", "Begum", "2018-01-30", "B11 1AB"),
    ("C04", "Oliver", "Hughes", "2010-11-02", "B12 9RT"),
    ("C05", "Ava", "Mensah", "2016-05-21", "B13 8JP"),
    ("C06", "Leo", "Fitzgerald", "2013-09-08", "B14 7HE"),
    ("C07", "Freya", "Nakamura", "2011-02-14", "B17 0SD"),
    ("C08", "Arthur", "Dimitrov", "2017-12-25", "B18 4BP"),
    ("C09", "Ivy", "Castellano", "2014-06-06", "B19 3NS"),
    ("C10", "Theo", "Abernethy", "2009-04-11", "B20 2ES"),
]


def load_directory(tmp_path) -> dict[str, dict[str, str]]:
    """The ten children; returns srid → {"id", "given", "family", "dob", "postcode"}."""
    rows = [
        child_row(srid, given_names=given, family_name=family, date_of_birth=dob, postcode=postcode,
                  address_line_1=f"{n + 1} Station Road", local_authority=AREA, sex="F" if n % 2 else "M")
        for n, (srid, given, family, dob, postcode) in enumerate(PEOPLE)
    ]
    children = load_children(tmp_path, rows)
    return {
        srid: {"id": children[srid].contactpoint_id, "given": given, "family": family, "dob": dob, "postcode": pc}
        for srid, given, family, dob, pc in PEOPLE
    }


def moment(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON)


@contextmanager
def at(when: datetime.datetime) -> Iterator[None]:
    """Everything done inside happens at ``when`` (the audit trail's clock included)."""
    with mock.patch("django.utils.timezone.now", return_value=when.astimezone(datetime.UTC)):
        yield


def search(user: User, child: dict[str, str], when: datetime.datetime, **extra: str) -> list[str]:
    with at(when):
        outcome = queries.search_children(
            user=user, criteria=SearchCriteria(family_name=child["family"], date_of_birth=child["dob"]), **extra
        )
    return [r.contactpoint_id for r in outcome.results]


def view(user: User, child: dict[str, str], when: datetime.datetime, **extra: str) -> None:
    with at(when):
        queries.get_child_record(user=user, contactpoint_id=child["id"], **extra)


def normal_day(user: User, children: dict[str, dict[str, str]], day: datetime.date = TUESDAY) -> None:
    """A practitioner's ordinary day: five searches, each followed a few minutes later by opening the child."""
    for n, srid in enumerate(["C01", "C02", "C03", "C04", "C05"]):
        start = moment(day, 9 + n, 15)
        assert search(user, children[srid], start) == [children[srid]["id"]]
        view(user, children[srid], start + datetime.timedelta(minutes=3))


def run_day(day: datetime.date = TUESDAY) -> list[Alert]:
    """The scheduled run over the whole day; returns every alert that exists afterwards."""
    start = moment(day, 0)
    run_alert_rules(since=start, until=start + datetime.timedelta(days=1))
    return list(Alert.objects.order_by("id"))


def rules_of(alerts: list[Alert]) -> list[str]:
    return sorted(a.rule for a in alerts)


__all__ = ["AREA", "OTHER_AREA", "timezone"]
