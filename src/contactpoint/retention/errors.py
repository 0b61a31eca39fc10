"""Errors of retention, erasure and decommissioning."""


class RetentionError(Exception):
    """Base class."""


class ChildNotFound(RetentionError):
    """No child with this identifier (perhaps already erased)."""


class UnhandledReference(RetentionError):
    """A table refers to a child or source record and erasure does not know what to do with it."""


class DecommissionRefused(RetentionError):
    """Decommissioning was not confirmed, or a check afterwards failed."""
