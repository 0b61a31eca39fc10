"""The signing key: from the environment, or a key file generated only in demo and test mode."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.test import override_settings

from contactpoint.audit.errors import SigningKeyError
from contactpoint.audit.keys import ENVIRONMENT_VARIABLE, KEY_FILE_NAME, encode_private_key, load_signing_key


def test_the_key_comes_from_the_environment_when_set(signing_key: str, tmp_path: Path) -> None:
    with override_settings(HOME=tmp_path):
        key = load_signing_key()
    assert key.source == ENVIRONMENT_VARIABLE
    assert encode_private_key(key.private_key) == signing_key
    assert len(key.key_id) == 16
    assert not (tmp_path / KEY_FILE_NAME).exists()


def test_in_test_mode_a_missing_key_file_is_generated_once_and_kept_private(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(ENVIRONMENT_VARIABLE)
    with override_settings(HOME=tmp_path, MODE="test"):
        first = load_signing_key()
        second = load_signing_key()
    path = tmp_path / KEY_FILE_NAME
    assert first.source == str(path)
    assert first.key_id == second.key_id
    assert path.stat().st_mode & 0o777 == 0o600
    assert list(tmp_path.iterdir()) == [path]


def test_in_production_a_missing_key_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(ENVIRONMENT_VARIABLE)
    with override_settings(HOME=tmp_path, MODE="production"), pytest.raises(SigningKeyError, match="no audit"):
        load_signing_key()
    assert not (tmp_path / KEY_FILE_NAME).exists()


def test_in_production_a_provided_key_file_is_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(ENVIRONMENT_VARIABLE)
    (tmp_path / KEY_FILE_NAME).write_text(encode_private_key(Ed25519PrivateKey.generate()))
    with override_settings(HOME=tmp_path, MODE="production"):
        assert load_signing_key().source == str(tmp_path / KEY_FILE_NAME)


@pytest.mark.parametrize("value", ["not base64!", "c2hvcnQ="])
def test_a_malformed_key_is_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, value)
    with pytest.raises(SigningKeyError):
        load_signing_key()
