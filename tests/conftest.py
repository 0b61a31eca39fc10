"""Shared fixtures. Tests run on real PostgreSQL: the embedded server by default, DATABASE_URL when set."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["clear", "tokens"])
def search_index(request: pytest.FixtureRequest, settings: object) -> str:
    """Run the test once with each search index (docs/search.md): clear folded names, and blind tokens.

    Request it before any fixture that loads children, so that the index is built in the mode searched.
    """
    configured = settings.CONTACTPOINT  # type: ignore[attr-defined]
    settings.CONTACTPOINT = {**configured, "SEARCH_INDEX": request.param}  # type: ignore[attr-defined]
    return str(request.param)
