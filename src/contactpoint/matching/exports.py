"""Exports of the linkage (for the sources, and for measuring link quality against a truth)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db import connection, transaction

from contactpoint.audit.services import record_event
from contactpoint.audit.tags import AuditAction


def export_links(*, path: Path, actor: Any = None, system_actor: str = "") -> int:
    """Write ``source,source_record_id,contactpoint_id`` for every current (not retired) source record."""
    with transaction.atomic():
        with connection.cursor() as cursor, path.open("wb") as handle:
            sql = (
                "COPY (SELECT s.code AS source, r.source_record_id, c.contactpoint_id "
                "FROM feeds_sourcerecord r JOIN feeds_sourcesystem s ON s.id = r.source_id "
                "JOIN directory_child c ON c.id = r.child_id WHERE r.retired_at IS NULL "
                "ORDER BY s.code, r.source_record_id) TO STDOUT WITH (FORMAT csv, HEADER true)"
            )
            with cursor.cursor.copy(sql) as copy:
                for chunk in copy:
                    handle.write(chunk)
            cursor.execute("SELECT count(*) FROM feeds_sourcerecord WHERE retired_at IS NULL AND child_id IS NOT NULL")
            count = int(cursor.fetchone()[0])
        record_event(
            action=AuditAction.EXPORT_LINKS, actor=actor, system_actor=system_actor, details={"records": count}
        )
    return count
