"""``contactpoint decommission``: destroy all personal data and keys; write a signed destruction certificate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from contactpoint.retention.decommission import decommission, tables_to_destroy
from contactpoint.retention.errors import RetentionError


class Command(BaseCommand):
    help = "Decommission: destroy every record of personal data and every key; write a signed certificate."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--confirm", action="store_true", help="really destroy everything (irreversible)")
        parser.add_argument("--by", required=True, metavar="NAME", help="who is decommissioning (in the certificate)")
        parser.add_argument("--out", required=True, metavar="FILE", help="where to write the signed certificate")

    def handle(self, *args: Any, **options: Any) -> None:
        out = Path(options["out"])
        if out.exists():
            raise CommandError(f"{out} exists: choose a new file for the certificate")
        if not options["confirm"]:
            tables = tables_to_destroy()
            raise CommandError(f"refusing without --confirm: this destroys every row of {len(tables)} tables "
                               "and every key, irreversibly")
        try:
            certificate = decommission(by=options["by"], confirm=True)
        except RetentionError as error:
            raise CommandError(str(error)) from None
        out.write_text(json.dumps(certificate, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        payload = certificate["certificate"]
        self.stdout.write(f"destroyed {payload['destroyed_rows_total']} rows in {len(payload['destroyed_rows'])} "
                          f"tables and {len(payload['destroyed_files'])} files")
        for check in payload["checks"]:
            self.stdout.write(f"  [{'ok' if check['passed'] else 'NOT DONE'}] {check['check']}: {check['detail']}")
        self.stdout.write(f"signed certificate written to {out} (Ed25519, key {payload['signing_key_id']})")
