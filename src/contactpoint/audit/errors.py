"""The audit trail's errors, one hierarchy so callers can catch exactly what they mean to."""

from __future__ import annotations


class AuditError(Exception):
    """Base class of every error the audit trail raises."""


class AuditEventOutsideTransaction(AuditError, RuntimeError):
    """An event was recorded outside the transaction of the action it records."""


class PersonalDataInAuditEvent(AuditError, ValueError):
    """An event would have held a child's (or anyone's) personal data."""


class SigningKeyError(AuditError):
    """The checkpoint signing key is missing, unreadable or not the key a checkpoint was signed with."""


class CheckpointFileError(AuditError):
    """An exported checkpoint file could not be read or is not a checkpoint."""


class AuditLogDamaged(AuditError):
    """The log is not in a state to extend (run ``contactpoint audit verify`` to find out why)."""
