"""Errors of retention, erasure and decommissioning."""


class RetentionError(Exception):
    """Base class."""


class ChildNotFound(RetentionError):
    """No child with this identifier (perhaps already erased)."""


class UnhandledReference(RetentionError):
    """A table refers to a child or source record and erasure does not know what to do with it."""


class KeyStoreError(RetentionError):
    """The master key or the key wrapper is missing, malformed or refused the request."""


class DecommissionRefused(RetentionError):
    """Decommissioning was not confirmed, or a check afterwards failed."""
