"""The dates the retention rules imply, 29 February included."""

from __future__ import annotations

import datetime

import pytest

from contactpoint.retention.rules import RetentionRules, years_before


def test_the_same_day_years_before() -> None:
    assert years_before(datetime.date(2026, 11, 25), 18) == datetime.date(2008, 11, 25)


def test_someone_born_on_29_february_comes_of_age_on_1_march_in_a_common_year() -> None:
    rules = RetentionRules(adult_age=18, extended_age=25, extended_conditions=("sen",), archive_years=6)
    born = datetime.date(2008, 2, 29)
    assert not born <= rules.adult_cutoff(datetime.date(2026, 2, 28))
    assert born <= rules.adult_cutoff(datetime.date(2026, 3, 1))


def test_on_29_february_the_cutoff_in_a_common_year_is_28_february() -> None:
    assert years_before(datetime.date(2028, 2, 29), 18) == datetime.date(2010, 2, 28)


def test_the_rules_come_from_settings(settings) -> None:
    settings.CONTACTPOINT = {**settings.CONTACTPOINT, "RETENTION_ARCHIVE_YEARS": 3}
    rules = RetentionRules.from_settings()
    assert (rules.adult_age, rules.extended_age, rules.archive_years) == (18, 25, 3)
    assert set(rules.extended_conditions) == {"care_leaver", "sen"}


def test_nonsense_periods_are_refused() -> None:
    with pytest.raises(ValueError):
        RetentionRules(adult_age=25, extended_age=18, extended_conditions=(), archive_years=6)
