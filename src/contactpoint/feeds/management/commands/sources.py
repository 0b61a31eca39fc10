from __future__ import annotations

import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from contactpoint.feeds.models import SourceSystem
from contactpoint.feeds.services import SourceError, add_source


class Command(BaseCommand):
    help = "Register and list source systems (sources add CODE --name NAME [--trust N]; sources list)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="register a source system")
        add.add_argument("code")
        add.add_argument("--name", required=True)
        add.add_argument("--trust", type=int, default=5, help="1-10; higher wins when sources disagree")
        sub.add_parser("list", help="list source systems")

    def handle(self, *args: object, **options: Any) -> None:
        if options["action"] == "add":
            code = str(options["code"])
            if not re.fullmatch(r"[a-z0-9_-]{1,40}", code):
                raise CommandError("CODE must be 1-40 lower-case letters, digits, '-' or '_'")
            try:
                source = add_source(code=code, name=str(options["name"]), trust=int(options["trust"]))
            except SourceError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"registered source {source.code} ({source.name}), trust {source.trust}")
        else:
            for source in SourceSystem.objects.order_by("code"):
                self.stdout.write(f"{source.code}\t{source.trust}\t{source.name}")
