"""Shared fixtures. Tests run on real PostgreSQL: the embedded server by default, DATABASE_URL when set."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that uses the database may use the key store too (the database ``keys``).

    Identifying fields are sealed under data keys kept there, so loading a feed, reading a child or
    searching touches both databases; pytest-django otherwise allows only ``default``. A test that names
    its databases keeps them.
    """
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker is None and "_django_db_helper" not in getattr(item, "fixturenames", ()):
            continue
        kwargs = dict(marker.kwargs) if marker is not None else {}
        if "databases" not in kwargs:
            kwargs["databases"] = ["default", "keys"]
            item.add_marker(pytest.mark.django_db(*(marker.args if marker is not None else ()), **kwargs),
                            append=False)  # first, so that it is the closest
