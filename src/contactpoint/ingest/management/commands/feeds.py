from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from contactpoint.feeds.format import FeedFormatError
from contactpoint.ingest.pipeline import FeedLoadError, load_feed


class Command(BaseCommand):
    help = "Load a feed file from a source system (feeds load --source CODE [--mode full|delta] FILE)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser("load", help="validate, store and match one feed file (.csv or .jsonl)")
        load.add_argument("file", type=Path)
        load.add_argument("--source", required=True, help="the source system's code")
        load.add_argument(
            "--mode", choices=["full", "delta"], default="delta", help="full retires records the source no longer sends"
        )
        load.add_argument(
            "--force",
            action="store_true",
            help="allow a full feed to retire more than the configured share of the source",
        )
        load.add_argument("--json", action="store_true", help="print the summary as JSON")

    def handle(self, *args: object, **options: Any) -> None:
        path = options["file"]
        assert isinstance(path, Path)
        try:
            summary = load_feed(
                source_code=str(options["source"]),
                path=path,
                mode=str(options["mode"]),
                force=bool(options["force"]),
                loaded_by="cli",
                progress=(lambda m: self.stderr.write(m)) if int(options["verbosity"]) > 1 else None,
            )
        except (FeedLoadError, FeedFormatError) as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps(summary.as_dict(), indent=2))
            return
        lines = [
            f"batch {summary.batch_id}: {path.name} from {summary.source} ({summary.mode})",
            f"  rows read            {summary.rows_read}",
            f"  accepted             {summary.accepted}",
            f"  rejected             {summary.rejected}",
            f"  new children         {summary.new_children}",
            f"  linked to existing   {summary.linked_to_existing}",
            f"  sent to review       {summary.sent_to_review}",
            f"  changed              {summary.changed}",
            f"  unchanged            {summary.unchanged}",
            f"  retired              {summary.retired}",
        ]
        if summary.report_path:
            lines.append(f"  rejected rows report {summary.report_path}")
        self.stdout.write("\n".join(lines))
