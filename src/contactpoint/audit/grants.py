"""The database privileges that make the audit trail insert-only for the application.

The triggers (migration 0003) refuse UPDATE and DELETE from anyone who does not switch them off; these
privileges make sure the application's own role cannot switch them off, nor change or remove rows, nor
TRUNCATE. Only the tables' owner (the role that runs migrations) can, and the application never
connects as that role in production. ``contactpoint audit grant-sql`` prints this SQL.
"""

from __future__ import annotations

import re

AUDIT_TABLES = ("audit_auditevent", "audit_eventseal", "audit_checkpoint")
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def grant_sql(role: str = "contactpoint_app") -> str:
    """SQL giving ``role`` INSERT and SELECT on the audit tables and nothing else."""
    if not _ROLE_NAME.match(role):
        raise ValueError(f"{role!r} is not a plain PostgreSQL role name (lower case, digits, _)")
    tables = ", ".join(AUDIT_TABLES)
    return f"""\
-- ContactPoint audit trail: privileges of the application's database role {role}.
-- Run as the owner of the tables (the role that runs `contactpoint migrate`), after migrating.
-- The application may add and read audit events, seals and checkpoints; it may never change or
-- remove them (no UPDATE, DELETE or TRUNCATE), nor alter the tables or their triggers (not the owner).
REVOKE ALL ON {tables} FROM PUBLIC;
REVOKE ALL ON {tables} FROM {role};
GRANT SELECT, INSERT ON {tables} TO {role};
-- Identity columns need no privilege on their sequences for INSERT; nothing else is granted.
"""
