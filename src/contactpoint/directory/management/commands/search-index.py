"""``contactpoint search-index rebuild``: rebuild every child's search tokens from its sealed rows."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from contactpoint.directory import services


class Command(BaseCommand):
    help = ("Rebuild the search tokens of every child from its sealed rows (after the master key changes); "
            "batch by batch, safe to re-run.")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        rebuild = sub.add_parser("rebuild", help="rebuild every child's search tokens")
        rebuild.add_argument("--by", required=True, metavar="NAME", help="who runs it (recorded)")
        rebuild.add_argument("--batch-size", type=int, default=50_000, help="children per transaction")

    def handle(self, *args: Any, **options: Any) -> None:
        children = services.rebuild_search_index(
            by=options["by"], batch_size=options["batch_size"],
            progress=lambda done: self.stdout.write(f"  {done:,} children"),
        )
        self.stdout.write(f"rebuilt the search index of {children:,} children")
