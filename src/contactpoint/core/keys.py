"""Master keys, key wrapping and keyed hashes: the cryptography every app that stores personal data uses.

Each child and each source record gets a random 256-bit data key. Its rows are sealed under it with
AES-256-GCM (:mod:`contactpoint.core.sealing`); the data key is stored only *wrapped* (encrypted) by a
master key, in the key store (:mod:`contactpoint.keystore`, a database of its own, so backups of the
main database hold no key). Erasing the child deletes its wrapped keys, and with them every copy of the
child's ciphertext becomes unreadable — in the main database's backups and write-ahead log too; the key
store's own backups must expire quickly (or not be taken). See docs/retention.md.

The master key wraps, never the data: a :class:`KeyWrapper`. Two implementations:

* :class:`LocalKeyWrapper`: the master key is ``CONTACTPOINT_MASTER_KEY`` (base64 of 32 bytes) or the
  file ``CONTACTPOINT_HOME/master-key``; generated on first use in demo and test mode only, an error
  in production.
* :class:`VaultTransitWrapper`: HashiCorp Vault's transit engine wraps and unwraps; the master key never
  leaves Vault. ``CONTACTPOINT_KEY_WRAPPER=vault``, ``CONTACTPOINT_VAULT_ADDR``, ``VAULT_TOKEN``,
  ``CONTACTPOINT_VAULT_TRANSIT_KEY`` (default ``contactpoint``), ``CONTACTPOINT_VAULT_TRANSIT_MOUNT``
  (default ``transit``). Many keys at once go in transit's batch form, :data:`VAULT_BATCH_SIZE` per call.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import secrets
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

MASTER_KEY_VARIABLE = "CONTACTPOINT_MASTER_KEY"
MASTER_KEY_FILE_NAME = "master-key"
NONCE_BYTES = 12
KEY_BYTES = 32

# Items per transit batch call. Each item is about 150 bytes of JSON, so a call is about 150 kB: far below
# Vault's default request limit (32 MiB) and quick enough that the per-call timeout still means something.
VAULT_BATCH_SIZE = 1_000


class KeyStoreError(Exception):
    """The master key or the key wrapper is missing, malformed or refused the request."""


class KeyWrapper(Protocol):
    """Wraps and unwraps data keys. ``context`` (the owner's identity in the key store) is bound in.

    ``wrap_many`` and ``unwrap_many`` take ``(data_key, context)`` resp. ``(wrapped, context)`` pairs and
    return the results in the same order; all or nothing: one item that fails is a :class:`KeyStoreError`
    naming its index.
    """

    @property
    def name(self) -> str: ...

    def wrap(self, data_key: bytes, *, context: bytes) -> bytes: ...

    def unwrap(self, wrapped: bytes, *, context: bytes) -> bytes: ...

    def wrap_many(self, items: Sequence[tuple[bytes, bytes]]) -> list[bytes]: ...

    def unwrap_many(self, items: Sequence[tuple[bytes, bytes]]) -> list[bytes]: ...


# Local master key ----------------------------------------------------------------------------------


def master_key_path() -> Path:
    return Path(settings.HOME) / MASTER_KEY_FILE_NAME


def _decode_key(text: str, where: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as error:
        raise KeyStoreError(f"{where} is not base64") from error
    if len(raw) != KEY_BYTES:
        raise KeyStoreError(f"{where} must be a 32-byte key, base64 encoded")
    return raw


def load_master_key() -> tuple[bytes, str]:
    """The local master key and where it came from (see the module docstring)."""
    configured = os.environ.get(MASTER_KEY_VARIABLE)
    if configured:
        return _decode_key(configured, MASTER_KEY_VARIABLE), MASTER_KEY_VARIABLE
    path = master_key_path()
    if path.exists():
        return _decode_key(path.read_text(), str(path)), str(path)
    if settings.MODE not in {"demo", "test"}:
        raise KeyStoreError(
            f"no master key: set {MASTER_KEY_VARIABLE} or provide {path} (CONTACTPOINT_MODE={settings.MODE}; "
            "keys are generated only in demo and test mode)"
        )
    key = secrets.token_bytes(KEY_BYTES)
    temporary = path.with_name(f".{MASTER_KEY_FILE_NAME}.{os.getpid()}")
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(base64.b64encode(key).decode("ascii") + "\n")
    try:
        os.link(temporary, path)  # fails if another process created it meanwhile: use theirs
    except FileExistsError:
        return _decode_key(path.read_text(), str(path)), str(path)
    finally:
        temporary.unlink()
    return key, str(path)


class LocalKeyWrapper:
    """AES-256-GCM under a master key held by this process."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != KEY_BYTES:
            raise KeyStoreError("the master key must be 32 bytes")
        self._aead = AESGCM(master_key)
        self.key_id = hashlib.sha256(b"contactpoint master key id\x00" + master_key).hexdigest()[:16]

    @property
    def name(self) -> str:
        return f"local:{self.key_id}"

    def wrap(self, data_key: bytes, *, context: bytes) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, data_key, context)

    def unwrap(self, wrapped: bytes, *, context: bytes) -> bytes:
        try:
            return self._aead.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], context)
        except InvalidTag:
            raise KeyStoreError("the data key does not unwrap under this master key and context") from None

    def wrap_many(self, items: Sequence[tuple[bytes, bytes]]) -> list[bytes]:
        return [self.wrap(data_key, context=context) for data_key, context in items]

    def unwrap_many(self, items: Sequence[tuple[bytes, bytes]]) -> list[bytes]:
        keys = []
        for index, (wrapped, context) in enumerate(items):
            try:
                keys.append(self.unwrap(wrapped, context=context))
            except KeyStoreError:
                raise KeyStoreError(f"item {index} of {len(items)}: the data key does not unwrap under this master "
                                    "key and context") from None
        return keys


# Vault transit -------------------------------------------------------------------------------------


class VaultTransitWrapper:
    """Vault's transit engine wraps and unwraps (``POST /v1/<mount>/encrypt|decrypt/<key>``).

    ``context`` is sent as ``associated_data`` (AES-GCM transit keys bind it like the local wrapper does;
    Vault 1.13 or later, earlier versions ignore the field). :meth:`wrap_many` and :meth:`unwrap_many` use
    transit's batch form, ``batch_input`` with ``associated_data`` per item, :data:`VAULT_BATCH_SIZE` items
    per call.
    """

    def __init__(self, *, address: str, token: str, key_name: str = "contactpoint", mount: str = "transit",
                 timeout: float = 10.0) -> None:
        if not address.startswith(("https://", "http://")):
            raise KeyStoreError("the Vault address must be an http(s) URL")
        self.address = address.rstrip("/")
        self._token = token
        self.key_name = key_name
        self.mount = mount.strip("/")
        self.timeout = timeout

    @property
    def name(self) -> str:
        return f"vault:{self.key_name}"

    def _post(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        """Vault's ``data`` for one call. A batch answer is returned even with an error status: Vault answers
        400 (or 500) when any item failed, with every item's result or error in ``batch_results``."""
        url = f"{self.address}/v1/{self.mount}/{operation}/{self.key_name}"
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            url, data=json.dumps(body).encode(), method="POST",
            headers={"X-Vault-Token": self._token, "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                answer = json.loads(response.read())
        except urllib.error.HTTPError as error:
            answer = _error_body(error)
            data = answer.get("data")
            if "batch_input" in body and isinstance(data, dict) and isinstance(data.get("batch_results"), list):
                return data
            raise KeyStoreError(f"Vault refused {operation} ({error.code}){_vault_says(answer)}") from None
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise KeyStoreError(f"Vault unreachable for {operation}: {error}") from None
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, dict):
            raise KeyStoreError(f"Vault's answer to {operation} has no data")
        return data

    def _post_batches(self, operation: str, inputs: list[dict[str, str]], result: str) -> list[str]:
        """``result`` of each item of ``inputs``, in order, :data:`VAULT_BATCH_SIZE` items per call.

        Any item's error is a :class:`KeyStoreError` naming the first failing item (its index in ``inputs``)
        and what Vault said about it; the message holds no key material (transit's messages don't echo values).
        """
        results: list[str] = []
        for start in range(0, len(inputs), VAULT_BATCH_SIZE):
            chunk = inputs[start:start + VAULT_BATCH_SIZE]
            answers = self._post(operation, {"batch_input": chunk}).get("batch_results")
            if not isinstance(answers, list) or len(answers) != len(chunk):
                count = len(answers) if isinstance(answers, list) else "no"
                raise KeyStoreError(f"Vault's answer to {operation} of items {start}-{start + len(chunk) - 1} has "
                                    f"{count} results for {len(chunk)} items")
            failed = [(start + offset, answer) for offset, answer in enumerate(answers)
                      if not isinstance(answer, dict) or answer.get("error") or not isinstance(answer.get(result), str)]
            if failed:
                index, answer = failed[0]
                said = str(answer.get("error") or f"no {result}") if isinstance(answer, dict) else "a malformed result"
                more = f" (and {len(failed) - 1} more in items {start}-{start + len(chunk) - 1})" if failed[1:] else ""
                raise KeyStoreError(f"Vault refused {operation} of item {index} of {len(inputs)}: {said[:200]}{more}")
            results.extend(answer[result] for answer in answers)
        return results

    def wrap(self, data_key: bytes, *, context: bytes) -> bytes:
        data = self._post("encrypt", {"plaintext": base64.b64encode(data_key).decode(),
                                      "associated_data": base64.b64encode(context).decode()})
        return str(data["ciphertext"]).encode("ascii")  # "vault:v1:…"

    def unwrap(self, wrapped: bytes, *, context: bytes) -> bytes:
        data = self._post("decrypt", {"ciphertext": wrapped.decode("ascii"),
                                      "associated_data": base64.b64encode(context).decode()})
        return base64.b64decode(data["plaintext"])

    def wrap_many(self, items: Sequence[tuple[bytes, bytes]]) -> list[bytes]:
        inputs = [{"plaintext": base64.b64encode(data_key).decode(),
                   "associated_data": base64.b64encode(context).decode()} for data_key, context in items]
        return [ciphertext.encode("ascii") for ciphertext in self._post_batches("encrypt", inputs, "ciphertext")]

    def unwrap_many(self, items: Sequence[tuple[bytes, bytes]]) -> list[bytes]:
        inputs = [{"ciphertext": _vault_ciphertext(wrapped, index),
                   "associated_data": base64.b64encode(context).decode()}
                  for index, (wrapped, context) in enumerate(items)]
        plaintexts = self._post_batches("decrypt", inputs, "plaintext")
        try:
            return [base64.b64decode(plaintext, validate=True) for plaintext in plaintexts]
        except (binascii.Error, ValueError):
            raise KeyStoreError("Vault's answer to decrypt holds a plaintext that is not base64") from None


def _vault_ciphertext(wrapped: bytes, index: int) -> str:
    try:
        return wrapped.decode("ascii")
    except UnicodeDecodeError:
        raise KeyStoreError(f"item {index} is not a Vault ciphertext (wrapped by another wrapper?)") from None


def _error_body(error: urllib.error.HTTPError) -> dict[str, Any]:
    """The JSON body of Vault's error answer, or ``{}``."""
    try:
        answer = json.loads(error.read())
    except (OSError, ValueError):
        return {}
    return answer if isinstance(answer, dict) else {}


def _vault_says(answer: dict[str, Any]) -> str:
    """``": <Vault's errors>"`` for a message, or ``""``. Transit's messages name the problem (``cipher: message
    authentication failed``), never the values sent."""
    errors = answer.get("errors")
    if not isinstance(errors, list) or not errors:
        return ""
    return ": " + "; ".join(str(e) for e in errors)[:200]


def configured_wrapper() -> KeyWrapper:
    """The wrapper the environment names (``CONTACTPOINT_KEY_WRAPPER``: ``local``, the default, or ``vault``)."""
    kind = os.environ.get("CONTACTPOINT_KEY_WRAPPER", "local")
    if kind == "local":
        return LocalKeyWrapper(load_master_key()[0])
    if kind == "vault":
        try:
            address, token = os.environ["CONTACTPOINT_VAULT_ADDR"], os.environ["VAULT_TOKEN"]
        except KeyError as missing:
            raise KeyStoreError(f"CONTACTPOINT_KEY_WRAPPER=vault needs {missing.args[0]}") from None
        return VaultTransitWrapper(
            address=address, token=token,
            key_name=os.environ.get("CONTACTPOINT_VAULT_TRANSIT_KEY", "contactpoint"),
            mount=os.environ.get("CONTACTPOINT_VAULT_TRANSIT_MOUNT", "transit"),
        )
    raise KeyStoreError(f"CONTACTPOINT_KEY_WRAPPER must be local or vault, not {kind!r}")


# Derived keys (search and blocking tokens, row digests, change hashes) ---------------------------------


def derived_key(purpose: str) -> bytes:
    """A 32-byte key for ``purpose`` derived from the local master key (HKDF-SHA256).

    Blind-index and blocking tokens must be equal across children, so they are keyed by a key derived
    from the master key, never by a child's data key. Whoever holds it can test guesses against the
    tokens, so it is as secret as the master key itself (docs/retention.md).
    """
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    master, _ = load_master_key()
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None,
                info=f"contactpoint {purpose} v1".encode()).derive(master)


def index_key() -> bytes:
    """The key of the search and blocking tokens (see :func:`derived_key`)."""
    return derived_key("blind index")
