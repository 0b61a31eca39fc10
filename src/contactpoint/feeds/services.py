"""Writes about source systems (atomic, audited)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from contactpoint.audit.services import record_event
from contactpoint.audit.tags import AuditAction
from contactpoint.feeds.models import SourceSystem


class SourceError(Exception):
    pass


def add_source(*, code: str, name: str, trust: int = 5, actor: Any = None, system_actor: str = "cli") -> SourceSystem:
    """Register a source system. Trust 1–10: higher wins when sources disagree about a child."""
    if not 1 <= trust <= 10:
        raise SourceError(f"trust must be between 1 and 10, not {trust}")
    with transaction.atomic():
        if SourceSystem.objects.filter(code=code).exists():
            raise SourceError(f"a source with code {code!r} already exists")
        source = SourceSystem.objects.create(code=code, name=name, trust=trust)
        record_event(
            action=AuditAction.SOURCE_ADD,
            actor=actor,
            system_actor=system_actor,
            details={"source": code, "trust": trust},
        )
    return source
