"""Sealing a row's identifying fields: one AES-256-GCM blob per row, under its owner's data key.

Decision 5 (docs/decisions/0005-sealed-rows.md): the identifying fields of a row (names, address,
identifiers, carers' contact details) are stored as one blob, the canonical JSON of those fields
encrypted under the data key of the child or source record that owns the row. The table and the owner
are bound in as associated data, so a blob copied to another table or another owner's row does not open.
Destroying the owner's key (erasure) makes every copy of the blob unreadable, backups included.

A blob is ``VERSION || nonce (12 bytes) || ciphertext+tag``. The keys come from
:mod:`contactpoint.keystore.datakeys`; this module never stores one.

Rows that must be compared without being opened (a child's names and addresses, rewritten only where
they changed) carry a **row digest**: a keyed hash of the owner and the fields under a key derived from
the master key. Equal fields of the same owner give the same digest; nothing else can be learned from it
without the master key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from contactpoint.core.keys import NONCE_BYTES, KeyStoreError, derived_key

VERSION = b"\x01"
DIGEST_BYTES = 16


def _canonical(fields: Mapping[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def _bound(table: str, owner_id: int) -> bytes:
    return f"contactpoint sealed row v1:{table}:{owner_id}".encode()


def seal(data_key: bytes, fields: Mapping[str, Any], *, table: str, owner_id: int) -> bytes:
    """Encrypt ``fields`` (JSON-serialisable values) for a row of ``table`` owned by ``owner_id``."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return VERSION + nonce + AESGCM(data_key).encrypt(nonce, _canonical(fields), _bound(table, owner_id))


def open_sealed(data_key: bytes, blob: bytes, *, table: str, owner_id: int) -> dict[str, Any]:
    """The fields :func:`seal` sealed; :class:`KeyStoreError` under the wrong key, table or owner."""
    blob = bytes(blob)
    if blob[:1] != VERSION:
        raise KeyStoreError(f"unknown sealed-row version in {table} (owner {owner_id})")
    nonce, ciphertext = blob[1:1 + NONCE_BYTES], blob[1 + NONCE_BYTES:]
    try:
        plain = AESGCM(data_key).decrypt(nonce, ciphertext, _bound(table, owner_id))
    except InvalidTag:
        raise KeyStoreError(f"a sealed row of {table} does not open under its owner's key "
                            f"(owner {owner_id}: wrong key, or moved from another row)") from None
    value = json.loads(plain)
    if not isinstance(value, dict):
        raise KeyStoreError(f"a sealed row of {table} holds no fields")
    return value


class RowDigester:
    """Keyed digests of rows' fields (see the module docstring). Holds the derived key; make one per operation."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key if key is not None else derived_key("row digest")

    def digest(self, fields: Mapping[str, Any], *, table: str, owner_id: int) -> bytes:
        message = _bound(table, owner_id) + b"\x00" + _canonical(fields)
        return hmac.new(self._key, message, hashlib.sha256).digest()[:DIGEST_BYTES]


def content_hash_key() -> bytes:
    """The key of a source record's change-detection hash (``feeds.SourceRecord.content_hash``).

    Unkeyed, a hash of a record's normalised fields could be tested against guesses of a child's details;
    keyed, it can only be compared with another hash under the same master key.
    """
    return derived_key("feed content hash")
