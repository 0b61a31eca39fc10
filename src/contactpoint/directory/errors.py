"""The directory's typed errors: each says, in words a user can act on, what was wrong.

None of them ever carries a child's personal data or says whether a hidden field matched: messages are
shown to users and may be logged.
"""

from __future__ import annotations


class DirectoryError(ValueError):
    """A request the directory cannot carry out (bad input, not a policy refusal)."""


class SearchCriteriaError(DirectoryError):
    """A search that does not meet the minimum criteria, or whose input is malformed."""


class ChildNotFound(DirectoryError):
    """No active child has this directory identifier."""


class ChildMerged(DirectoryError):
    """This identifier's record was merged into another: ``surviving_id`` is the record to use now.

    Raised only to a caller that asked not to follow merges (the record page, which redirects), and only
    once the policy has allowed the user to view the surviving record.
    """

    def __init__(self, *, merged_id: str, surviving_id: str) -> None:
        super().__init__("this record was merged into another record")
        self.merged_id = merged_id
        self.surviving_id = surviving_id


class InvolvementNotFound(DirectoryError):
    """No involvement has this identifier."""


class NotMergeable(DirectoryError):
    """The other record named for a merge can't be merged with this one (same record, unknown, in another
    area, already merged or archived). The message is for the form field where the identifier was typed."""
