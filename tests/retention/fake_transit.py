"""An in-process fake of Vault's transit engine: encrypt and decrypt, single and batch, as Vault answers them.

Just enough of ``POST /v1/transit/encrypt|decrypt/contactpoint`` for the key wrappers' tests and
``benchmarks/vault_batch.py``, following Vault's own handlers (builtin/logical/transit/path_encrypt.go and
path_decrypt.go):

* one AES-256-GCM key; ``associated_data`` (base64) is bound in;
* ``batch_input``: a list of items, each with its own ``associated_data`` (the top-level one is ignored
  in batch mode, as in Vault); the answer is ``data.batch_results``, one per item, in order, each with
  ``ciphertext`` (resp. ``plaintext``) or ``error``;
* an item that fails does not stop the others: the answer is HTTP 400 with every item's result, as Vault
  answers a batch with a user error in it; a single request that fails is HTTP 400 with ``errors``.

Every request is counted on the server (``server.calls``: path and number of items), and
``server.drop_a_result`` makes the next batch answer one result short (a broken proxy or Vault).
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

TOKEN = "s.test-token"  # a fake server's token
PREFIX = "vault:v1:"


class FakeTransitServer(HTTPServer):
    calls: list[tuple[str, int]]
    drop_a_result: bool


class FakeTransit(BaseHTTPRequestHandler):
    """Transit's encrypt and decrypt endpoints for the key ``contactpoint`` on the mount ``transit``."""

    server: FakeTransitServer
    aead = AESGCM(b"v" * 32)
    token = TOKEN

    def do_POST(self) -> None:  # noqa: N802 - the http.server interface
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        batch = body.get("batch_input")
        self.server.calls.append((self.path, len(batch) if isinstance(batch, list) else 1))
        if self.headers.get("X-Vault-Token") != self.token:
            return self._answer(403, {"errors": ["permission denied"]})
        operations = {"/v1/transit/encrypt/contactpoint": ("ciphertext", self._encrypt),
                      "/v1/transit/decrypt/contactpoint": ("plaintext", self._decrypt)}
        if self.path not in operations:
            return self._answer(404, {"errors": []})
        result, operation = operations[self.path]
        if not isinstance(batch, list):  # one item, its fields at the top level
            answer = operation(body)
            if "error" in answer:
                return self._answer(400, {"errors": [answer["error"]]})
            return self._answer(200, {"data": answer})
        if not batch:
            return self._answer(400, {"errors": ["missing batch input to process"]})
        results = [operation(item) if isinstance(item, dict) else {"error": "expected a map"} for item in batch]
        if self.server.drop_a_result:
            self.server.drop_a_result = False
            results.pop()
        failed = any("error" in item for item in results)
        return self._answer(400 if failed else 200, {"data": {"batch_results": results}})

    def _encrypt(self, item: dict[str, Any]) -> dict[str, str]:
        try:
            plaintext = base64.b64decode(item["plaintext"], validate=True)
            aad = base64.b64decode(item.get("associated_data", ""), validate=True)
        except (KeyError, TypeError, binascii.Error):
            return {"error": "missing or malformed plaintext or associated_data"}
        nonce = secrets.token_bytes(12)
        return {"ciphertext": PREFIX + base64.b64encode(nonce + self.aead.encrypt(nonce, plaintext, aad)).decode()}

    def _decrypt(self, item: dict[str, Any]) -> dict[str, str]:
        ciphertext = item.get("ciphertext")
        if not isinstance(ciphertext, str) or not ciphertext.startswith(PREFIX):
            return {"error": "invalid ciphertext: no prefix"}
        try:
            raw = base64.b64decode(ciphertext.removeprefix(PREFIX), validate=True)
            aad = base64.b64decode(item.get("associated_data", ""), validate=True)
            plaintext = self.aead.decrypt(raw[:12], raw[12:], aad)
        except (TypeError, ValueError, binascii.Error):
            return {"error": "invalid ciphertext: could not decode"}
        except InvalidTag:
            return {"error": "cipher: message authentication failed"}
        return {"plaintext": base64.b64encode(plaintext).decode()}

    def _answer(self, status: int, answer: dict[str, Any]) -> None:
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@dataclass
class FakeVault:
    """A running fake: its address, and the requests it has answered."""

    address: str
    server: FakeTransitServer
    token: str = TOKEN
    calls: list[tuple[str, int]] = field(default_factory=list)

    def calls_to(self, operation: str) -> list[int]:
        """The number of items in each call to ``encrypt`` or ``decrypt``, in order."""
        return [items for path, items in self.calls if path == f"/v1/transit/{operation}/contactpoint"]


@contextmanager
def running_fake_transit() -> Iterator[FakeVault]:
    """A fake transit server on a free port of 127.0.0.1, serving on a thread until the block ends."""
    server = FakeTransitServer(("127.0.0.1", 0), FakeTransit)
    server.calls, server.drop_a_result = [], False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield FakeVault(address=f"http://127.0.0.1:{server.server_port}", server=server, calls=server.calls)
    finally:
        server.shutdown()
        server.server_close()
