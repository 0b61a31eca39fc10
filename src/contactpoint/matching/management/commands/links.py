from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from contactpoint.matching.exports import export_links


class Command(BaseCommand):
    help = "Export every current source record's link (links export FILE: source,source_record_id,contactpoint_id)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        export = sub.add_parser("export", help="write source,source_record_id,contactpoint_id as CSV")
        export.add_argument("file", type=Path)

    def handle(self, *args: object, **options: Any) -> None:
        path = options["file"]
        assert isinstance(path, Path)
        count = export_links(path=path, system_actor="cli")
        self.stdout.write(f"wrote {count} links to {path}")
