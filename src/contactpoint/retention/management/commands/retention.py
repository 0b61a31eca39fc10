"""``contactpoint retention``: apply the retention rules, or erase one child now."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from contactpoint.retention import services
from contactpoint.retention.errors import RetentionError


def _date(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"not a date (YYYY-MM-DD): {text}") from None


class Command(BaseCommand):
    help = "Retention: archive adults' records, erase them after the archive period (run daily; idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        run = sub.add_parser("run", help="apply the rules: archive who is due, erase whose archive period is over")
        run.add_argument("--dry-run", action="store_true", help="count what would be done; change nothing")
        run.add_argument("--today", metavar="YYYY-MM-DD", help="apply the rules as of this date (default: today)")
        erase = sub.add_parser("erase", help="erase one child now, everywhere (the audit trail keeps its identifier)")
        erase.add_argument("contactpoint_id")
        erase.add_argument("--reason", required=True, help="why (e.g. the order's reference); recorded")
        erase.add_argument("--by", required=True, metavar="NAME", help="who decided (recorded)")
        sweep = sub.add_parser("sweep-keys", help="destroy data keys whose child or record does not exist "
                                                  "(left by failed loads)")
        sweep.add_argument("--older-than-hours", type=float, default=24.0,
                           help="only keys made this long ago or more (default 24; at least 1)")
        sweep.add_argument("--by", required=True, metavar="NAME", help="who runs it (recorded)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "sweep-keys":
            try:
                swept = services.sweep_orphan_keys(older_than=datetime.timedelta(hours=options["older_than_hours"]),
                                                   system_actor=f"retention:{options['by']}")
            except RetentionError as error:
                raise CommandError(str(error)) from None
            self.stdout.write(f"destroyed {swept.child_keys} child key(s) and {swept.record_keys} source record "
                              "key(s) whose owner does not exist")
            return
        if options["action"] == "erase":
            try:
                erased = services.erase_child(
                    contactpoint_id=options["contactpoint_id"], reason=options["reason"],
                    system_actor=f"retention:{options['by']}",
                )
            except RetentionError as error:
                raise CommandError(str(error)) from None
            self.stdout.write(f"erased {erased.children} child record(s); rows deleted: {sum(erased.rows.values())}")
            for table, count in sorted(erased.rows.items()):
                self.stdout.write(f"  {table:<32}{count:>10}")
            return
        today = _date(options["today"]) if options["today"] else None
        report = services.run_retention(today=today, dry_run=options["dry_run"])
        prefix = "DRY RUN (nothing changed): would have " if report.dry_run else ""
        self.stdout.write(f"retention as of {report.today.isoformat()}:")
        self.stdout.write(f"  {prefix}archived {report.archived} (adult {report.archived_adult}, "
                          f"end of extended period {report.archived_extended})")
        self.stdout.write(f"  {prefix}erased {report.erasure.children} archived child record(s), "
                          f"{sum(report.erasure.rows.values())} rows")
        for table, count in sorted(report.erasure.rows.items()):
            self.stdout.write(f"    {table:<32}{count:>10}")
        self.stdout.write(f"  kept past adulthood on a source's condition: {report.kept_extended}")
        if report.archive_dated:
            self.stdout.write(f"  archived records found without an archive date (dated today): {report.archive_dated}")
        if report.no_date_of_birth:
            self.stdout.write(f"  active records without a date of birth (cannot be aged): {report.no_date_of_birth}")
