"""Fixtures for the audit trail's tests: a fresh signing key per test, and a way to play the attacker."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db import connection

from contactpoint.audit.keys import ENVIRONMENT_VARIABLE, encode_private_key


@pytest.fixture(autouse=True)
def signing_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test signs with its own key, so no test depends on a key file left by another."""
    key = encode_private_key(Ed25519PrivateKey.generate())
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, key)
    return key


@contextmanager
def _superuser_bypassing_triggers() -> Iterator[Callable[..., list[tuple[Any, ...]]]]:
    with connection.cursor() as cursor:
        # Settle the foreign-key checks the test's own inserts have queued (in real life they were
        # committed long ago), then switch triggers, foreign-key checks included, off.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET session_replication_role = replica")

        def run(sql: str, params: Any = None) -> list[tuple[Any, ...]]:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

        try:
            yield run
        finally:
            cursor.execute("SET session_replication_role = origin")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


@pytest.fixture
def attacker() -> Callable[[], Any]:
    """An attacker with database superuser access, who switches the insert-only triggers off.

    Usage: ``with attacker() as sql: sql("UPDATE audit_auditevent ...")``.
    """
    return _superuser_bypassing_triggers
