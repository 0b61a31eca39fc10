"""Master keys (local or Vault transit), field encryption and blind indexes (contactpoint.core.keys).

The key store itself (where wrapped data keys live, and their erasure): tests/keystore.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from contactpoint.core import keys as core_keys
from contactpoint.core.keys import KeyStoreError

MASTER = base64.b64encode(b"m" * 32).decode()


@pytest.fixture
def master_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(core_keys.MASTER_KEY_VARIABLE, MASTER)
    monkeypatch.delenv("CONTACTPOINT_KEY_WRAPPER", raising=False)
    return MASTER


def test_a_field_round_trips_and_is_bound_to_its_child_and_field() -> None:
    key = b"k" * 32
    sealed = core_keys.encrypt_field(key, "Quillbramble", field="family_name", child_pk=7)
    assert b"Quillbramble" not in sealed
    assert core_keys.decrypt_field(key, sealed, field="family_name", child_pk=7) == "Quillbramble"
    with pytest.raises(KeyStoreError):
        core_keys.decrypt_field(key, sealed, field="given_names", child_pk=7)
    with pytest.raises(KeyStoreError):
        core_keys.decrypt_field(key, sealed, field="family_name", child_pk=8)


def test_blind_indexes_are_equal_for_equal_values_and_keyed() -> None:
    def token(key: bytes, value: str, field: str) -> str:
        return core_keys.blind_index(key, value, field=field)

    assert token(b"i" * 32, "SMITH", "family") == token(b"i" * 32, "SMITH", "family")
    assert token(b"i" * 32, "SMITH", "family") != token(b"j" * 32, "SMITH", "family")
    assert token(b"i" * 32, "SMITH", "family") != token(b"i" * 32, "SMITH", "given")


def test_the_index_key_is_derived_from_the_master_key_and_differs_from_it(master_key: str) -> None:
    index_key = core_keys.index_key()
    assert len(index_key) == 32 and index_key == core_keys.index_key()
    assert index_key != base64.b64decode(master_key)
    assert core_keys.derived_key("something else") != index_key


def test_production_without_a_master_key_is_an_error(settings, monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    monkeypatch.delenv(core_keys.MASTER_KEY_VARIABLE, raising=False)
    settings.HOME = tmp_path
    settings.MODE = "production"
    with pytest.raises(KeyStoreError, match="no master key"):
        core_keys.load_master_key()
    settings.MODE = "test"
    key, source = core_keys.load_master_key()
    assert source == str(tmp_path / "master-key") and core_keys.load_master_key()[0] == key  # made once, then reused
    assert (tmp_path / "master-key").stat().st_mode & 0o777 == 0o600


def test_a_malformed_master_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(core_keys.MASTER_KEY_VARIABLE, "not base64!")
    with pytest.raises(KeyStoreError):
        core_keys.load_master_key()


class FakeTransit(BaseHTTPRequestHandler):
    """Just enough of Vault's transit engine: encrypt/decrypt with one AES-GCM key and associated data."""

    aead = AESGCM(b"v" * 32)
    token = "s.test-token"  # noqa: S105 - a fake server's token

    def do_POST(self) -> None:  # noqa: N802 - the http.server interface
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.headers.get("X-Vault-Token") != self.token:
            self.send_response(403)
            self.end_headers()
            return
        aad = base64.b64decode(body.get("associated_data", ""))
        if self.path == "/v1/transit/encrypt/contactpoint":
            nonce = b"n" * 12
            ct = nonce + self.aead.encrypt(nonce, base64.b64decode(body["plaintext"]), aad)
            data = {"ciphertext": "vault:v1:" + base64.b64encode(ct).decode()}
        elif self.path == "/v1/transit/decrypt/contactpoint":
            raw = base64.b64decode(body["ciphertext"].removeprefix("vault:v1:"))
            try:
                data = {"plaintext": base64.b64encode(self.aead.decrypt(raw[:12], raw[12:], aad)).decode()}
            except Exception:  # noqa: BLE001
                self.send_response(400)
                self.end_headers()
                return
        else:
            self.send_response(404)
            self.end_headers()
            return
        payload = json.dumps({"data": data}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def vault() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), FakeTransit)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_vault_transit_wraps_and_unwraps(vault: str) -> None:
    wrapper = core_keys.VaultTransitWrapper(address=vault, token=FakeTransit.token)
    wrapped = wrapper.wrap(b"d" * 32, context=b"child 1")
    assert wrapped.startswith(b"vault:v1:")
    assert wrapper.unwrap(wrapped, context=b"child 1") == b"d" * 32
    with pytest.raises(KeyStoreError, match="refused"):
        wrapper.unwrap(wrapped, context=b"child 2")
    with pytest.raises(KeyStoreError, match="refused"):
        core_keys.VaultTransitWrapper(address=vault, token="wrong").wrap(b"d" * 32, context=b"x")


def test_vault_is_chosen_by_the_environment(vault: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTACTPOINT_KEY_WRAPPER", "vault")
    monkeypatch.setenv("CONTACTPOINT_VAULT_ADDR", vault)
    monkeypatch.delenv("VAULT_TOKEN", raising=False)
    with pytest.raises(KeyStoreError, match="VAULT_TOKEN"):
        core_keys.configured_wrapper()
    monkeypatch.setenv("VAULT_TOKEN", FakeTransit.token)
    assert core_keys.configured_wrapper().name == "vault:contactpoint"
