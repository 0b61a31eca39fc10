"""Every kind of audit event, in one place (alphabetised), shaped ``area:object:action``."""

from enum import StrEnum


class AuditAction(StrEnum):
    ACCESS_BREAK_GLASS = "access:child:break_glass"
    ACCESS_CHILD_VIEW = "access:child:view"
    ACCESS_DENIED = "access:policy:deny"
    ACCESS_SEARCH = "access:child:search"
    ACCOUNT_ORGANISATION_CREATE = "account:organisation:create"
    ACCOUNT_SIGN_IN = "account:session:sign_in"
    ACCOUNT_SIGN_IN_FAILED = "account:session:sign_in_failed"
    ACCOUNT_SIGN_OUT = "account:session:sign_out"
    ACCOUNT_TOKEN_CREATE = "account:token:create"  # noqa: S105 - an event name, not a secret
    ACCOUNT_TOKEN_REVOKE = "account:token:revoke"  # noqa: S105 - an event name, not a secret
    ACCOUNT_USER_CREATE = "account:user:create"
    ACCOUNT_USER_CHANGE = "account:user:change"
    ACCOUNT_USER_SUSPEND = "account:user:suspend"
    ACCOUNT_USER_UNSUSPEND = "account:user:unsuspend"
    ALERT_ACKNOWLEDGE = "alert:alert:acknowledge"
    ALERT_ESCALATE = "alert:alert:escalate"
    ALERT_RAISE = "alert:alert:raise"
    AUDIT_EVENT_EXPORT = "audit:event:export"
    DIRECTORY_INVOLVEMENT_ADD = "directory:involvement:add"
    DIRECTORY_INVOLVEMENT_CHANGE = "directory:involvement:change"
    DIRECTORY_INVOLVEMENT_END = "directory:involvement:end"
    DIRECTORY_SHIELD = "directory:child:shield"
    DIRECTORY_UNSHIELD = "directory:child:unshield"
    EXPORT_LINKS = "export:links:export"
    EXPORT_SUBJECT_ACCESS = "export:child:subject_access"
    FEED_LOAD = "feed:batch:load"
    MATCHING_MODEL_TRAIN = "matching:model:train"
    MATCHING_REVIEW_DECIDE = "matching:review:decide"
    MATCHING_CORRECTION = "matching:link:correct"
    MATCHING_CORRECTION_UNDO = "matching:link:undo"
    RETENTION_RUN = "retention:child:run"
    SOURCE_ADD = "feed:source:add"
