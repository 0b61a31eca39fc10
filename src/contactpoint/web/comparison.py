"""Two records side by side (``templates/web/_comparison.html``): a review item's two source records,
or the two children a directory team is about to merge."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ComparedField:
    """One row of the comparison. ``compared`` False for rows that are told, not compared (identifiers)."""

    label: str
    record: str
    candidate: str
    compared: bool = True

    @property
    def differs(self) -> bool:
        return self.record.strip().lower() != self.candidate.strip().lower()
