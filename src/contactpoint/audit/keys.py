"""The Ed25519 key that signs checkpoints, and the sealing key derived from it.

The key is ``CONTACTPOINT_AUDIT_SIGNING_KEY`` (base64 of the 32-byte raw private key) or, failing that,
the file ``CONTACTPOINT_HOME/audit-signing-key`` (same encoding). In demo and test mode a missing key
file is generated on first use; in production a missing key is an error, because a key made up on the
spot would sign checkpoints nobody outside can trust.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from contactpoint.audit.errors import SigningKeyError

ENVIRONMENT_VARIABLE = "CONTACTPOINT_AUDIT_SIGNING_KEY"
KEY_FILE_NAME = "audit-signing-key"


def key_id_for(public_key_raw: bytes) -> str:
    """A short, stable name for a public key: the first 8 bytes of its SHA-256, in hex."""
    return hashlib.sha256(public_key_raw).hexdigest()[:16]


@dataclass(frozen=True)
class SigningKey:
    private_key: Ed25519PrivateKey
    source: str

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @property
    def public_key_raw(self) -> bytes:
        return self.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @property
    def key_id(self) -> str:
        return key_id_for(self.public_key_raw)

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)

    def seal_key(self) -> bytes:
        """The HMAC key for event seals, derived (HKDF-SHA256) so one secret covers both uses."""
        raw = self.private_key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"contactpoint audit seal v1").derive(raw)


def _decode(text: str, where: str) -> Ed25519PrivateKey:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as error:
        raise SigningKeyError(f"{where} is not base64") from error
    if len(raw) != 32:
        raise SigningKeyError(f"{where} must be a 32-byte Ed25519 private key, base64 encoded")
    return Ed25519PrivateKey.from_private_bytes(raw)


def encode_private_key(key: Ed25519PrivateKey) -> str:
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    return base64.b64encode(raw).decode("ascii")


def key_file_path() -> Path:
    return Path(settings.HOME) / KEY_FILE_NAME


def load_signing_key() -> SigningKey:
    """The configured signing key (see the module docstring for where it comes from)."""
    configured = os.environ.get(ENVIRONMENT_VARIABLE)
    if configured:
        return SigningKey(_decode(configured, ENVIRONMENT_VARIABLE), source=ENVIRONMENT_VARIABLE)
    path = key_file_path()
    if path.exists():
        return SigningKey(_decode(path.read_text(), str(path)), source=str(path))
    if settings.MODE not in {"demo", "test"}:
        raise SigningKeyError(
            f"no audit signing key: set {ENVIRONMENT_VARIABLE} or provide {path} "
            f"(CONTACTPOINT_MODE={settings.MODE}; keys are generated only in demo and test mode)"
        )
    key = Ed25519PrivateKey.generate()
    # Written to a private temporary file, then linked into place: link() fails if the key file
    # appeared meanwhile, so two processes racing to create a key end up using the same one.
    temporary = path.with_name(f".{KEY_FILE_NAME}.{os.getpid()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(encode_private_key(key) + "\n")
    try:
        os.link(temporary, path)
    except FileExistsError:
        return SigningKey(_decode(path.read_text(), str(path)), source=str(path))
    finally:
        temporary.unlink()
    return SigningKey(key, source=str(path))
