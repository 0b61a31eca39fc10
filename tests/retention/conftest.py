"""Fixtures for retention's tests: a fresh audit signing key per test (the trail must verify afterwards)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contactpoint.audit.keys import ENVIRONMENT_VARIABLE, encode_private_key


@pytest.fixture(autouse=True)
def signing_key(monkeypatch: pytest.MonkeyPatch) -> str:
    key = encode_private_key(Ed25519PrivateKey.generate())
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, key)
    return key
