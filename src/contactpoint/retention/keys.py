"""Per-child data keys (envelope encryption): groundwork for erasure that reaches backups.

Each child gets a random 256-bit data key. Fields are encrypted under it with AES-256-GCM; the data key
is stored only *wrapped* (encrypted) by a master key (:mod:`contactpoint.core.keys`), in
:class:`~contactpoint.retention.models.ChildKey`. Erasing the child deletes its wrapped key, and with it
every copy of the child's ciphertext becomes unreadable — in backups and the write-ahead log too, once the
backups holding the wrapped key expire (or at once, when the master key that wrapped them is retired).
See docs/retention.md.
"""

from __future__ import annotations

import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import transaction

from contactpoint.core.keys import KEY_BYTES, NONCE_BYTES, KeyStoreError, KeyWrapper, configured_wrapper
from contactpoint.retention.models import ChildKey

# Data keys and field encryption ---------------------------------------------------------------------


def _context(child_pk: int) -> bytes:
    return f"contactpoint child key v1:{child_pk}".encode()


def create_child_key(*, child_pk: int, wrapper: KeyWrapper | None = None) -> bytes:
    """Make, wrap and store a new data key for a child; return it (unwrapped, for immediate use)."""
    wrapper = wrapper or configured_wrapper()
    data_key = secrets.token_bytes(KEY_BYTES)
    with transaction.atomic():
        ChildKey.objects.create(child_id=child_pk, wrapped_key=wrapper.wrap(data_key, context=_context(child_pk)),
                                wrapped_by=wrapper.name)
    return data_key


def child_key(*, child_pk: int, wrapper: KeyWrapper | None = None) -> bytes:
    """The child's data key, unwrapped. :class:`KeyStoreError` when it has none (erased, or never made)."""
    stored = ChildKey.objects.filter(child_id=child_pk).values_list("wrapped_key", flat=True).first()
    if stored is None:
        raise KeyStoreError("the child has no data key (erased, or never made)")
    return (wrapper or configured_wrapper()).unwrap(bytes(stored), context=_context(child_pk))


def encrypt_field(data_key: bytes, value: str, *, field: str, child_pk: int) -> bytes:
    """AES-256-GCM of one field's value; the field name and child are bound in (a value can't be moved)."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    aad = f"{child_pk}:{field}".encode()
    return nonce + AESGCM(data_key).encrypt(nonce, value.encode("utf-8"), aad)


def decrypt_field(data_key: bytes, sealed: bytes, *, field: str, child_pk: int) -> str:
    aad = f"{child_pk}:{field}".encode()
    try:
        return AESGCM(data_key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad).decode("utf-8")
    except InvalidTag:
        raise KeyStoreError("the field does not decrypt under this key (wrong key, child or field)") from None


def count_keys() -> int:
    return ChildKey.objects.count()
