"""``contactpoint audit``: verify, seal, checkpoint and export the tamper-evident audit log."""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import getpass
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from contactpoint.audit.errors import AuditError
from contactpoint.audit.grants import grant_sql
from contactpoint.audit.integrity import (
    ExportedCheckpoint,
    create_checkpoint,
    export_checkpoint,
    seal_events,
    verify_log,
)
from contactpoint.audit.keys import load_signing_key
from contactpoint.audit.queries import EventFilter
from contactpoint.audit.services import export_events


def _when(value: str) -> dt.datetime:
    """A date (midnight UTC) or an ISO 8601 date and time (UTC if no offset is given)."""
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a date (YYYY-MM-DD) or a date and time (ISO 8601)"
        ) from error
    return parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=dt.UTC)


def _cli_actor() -> str:
    return f"cli:{getpass.getuser()}"


class Command(BaseCommand):
    help = "Audit trail: verify, seal, checkpoint and export the tamper-evident log."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")
        verify = commands.add_parser(
            "verify", help="recompute every hash, seal and checkpoint; exit 1 naming the first bad event"
        )
        verify.add_argument(
            "--checkpoint",
            action="append",
            default=[],
            type=Path,
            metavar="FILE",
            help="an exported checkpoint the log must still match (repeatable)",
        )
        verify.add_argument("--no-seal", action="store_true", help="do not seal pending events afterwards")
        verify.add_argument(
            "--workers", type=int, metavar="N", help="processes for a long log (default: one per CPU, at most 4)"
        )
        seal = commands.add_parser("seal", help="seal pending events into the log (for a periodic job)")
        seal.add_argument(
            "--full", action="store_true", help="look for pending events in the whole log, not the last day"
        )
        checkpoint = commands.add_parser("checkpoint", help="seal, then write a signed checkpoint")
        checkpoint.add_argument(
            "--export", type=Path, metavar="FILE", help="also write it as JSON for an outside party to keep"
        )
        export = commands.add_parser("export", help="events as JSON Lines for auditors (itself audited)")
        export.add_argument("--output", type=Path, metavar="FILE", help="default: standard output")
        export.add_argument("--since", type=_when, help="from this date/time (UTC) on")
        export.add_argument("--until", type=_when, help="before this date/time (UTC)")
        export.add_argument("--user", default="", help="only events by this username")
        export.add_argument("--child", default="", help="only events about this directory identifier")
        export.add_argument("--action", default="", help="only events of this action, e.g. access:child:view")
        export.add_argument("--reason", required=True, help="why the export is needed (recorded)")
        grants = commands.add_parser("grant-sql", help="print the SQL that makes the log insert-only for the app")
        grants.add_argument("--role", default="contactpoint_app", help="the application's database role")
        commands.add_parser("public-key", help="print the checkpoint signing key's id and public key")

    def handle(self, *args: Any, **options: Any) -> None:
        handler = getattr(self, "_" + options["subcommand"].replace("-", "_"))
        try:
            handler(options)
        except (AuditError, ValueError) as error:
            raise CommandError(str(error)) from error

    def _verify(self, options: dict[str, Any]) -> None:
        exported = [ExportedCheckpoint.from_file(path) for path in options["checkpoint"]]
        result = verify_log(exported=exported, seal_afterwards=not options["no_seal"], workers=options["workers"])
        if not result.ok:
            raise CommandError(result.summary(), returncode=1)
        self.stdout.write(result.summary())

    def _seal(self, options: dict[str, Any]) -> None:
        result = seal_events(full=options["full"])
        self.stdout.write(f"sealed {result.sealed} event(s); the log holds {result.tree_size}")

    def _checkpoint(self, options: dict[str, Any]) -> None:
        checkpoint = create_checkpoint()
        line = f"checkpoint #{checkpoint.pk}: {checkpoint.tree_size} events, root {bytes(checkpoint.root_hash).hex()}"
        if options["export"]:
            options["export"].write_text(json.dumps(export_checkpoint(checkpoint), indent=2) + "\n")
            line += f"; exported to {options['export']}"
        self.stdout.write(line)

    def _export(self, options: dict[str, Any]) -> None:
        criteria = EventFilter(
            username=options["user"],
            child=options["child"],
            action=options["action"],
            since=options["since"],
            until=options["until"],
        )
        if options["output"]:
            with options["output"].open("w", encoding="utf-8") as out:
                count = export_events(criteria=criteria, out=out, reason=options["reason"], system_actor=_cli_actor())
            self.stderr.write(f"exported {count} event(s) to {options['output']}")
        else:
            count = export_events(
                criteria=criteria, out=self.stdout, reason=options["reason"], system_actor=_cli_actor()
            )
            self.stderr.write(f"exported {count} event(s)")

    def _grant_sql(self, options: dict[str, Any]) -> None:
        self.stdout.write(grant_sql(options["role"]), ending="")

    def _public_key(self, options: dict[str, Any]) -> None:
        key = load_signing_key()
        self.stdout.write(f"key id {key.key_id}\npublic key {base64.b64encode(key.public_key_raw).decode()}")
