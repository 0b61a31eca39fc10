"""``contactpoint alerts``: run the misuse rules (for a scheduler), list alerts and act on one."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from contactpoint.access.models import User
from contactpoint.access.policy import AccessDenied
from contactpoint.alerts import queries, services
from contactpoint.alerts.services import AlertError


def _when(value: str) -> dt.datetime:
    """A date (local midnight) or an ISO 8601 date and time (local time if no offset is given)."""
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD) or date and time (ISO 8601)") from error
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


def _user(username: str) -> User:
    user = User.objects.select_related("organisation").filter(username=username).first()
    if user is None:
        raise CommandError(f"no user called {username}")
    return user


class Command(BaseCommand):
    help = "Misuse alerts: run the rules (every few minutes), list alerts, acknowledge, escalate, suspend."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")
        run = commands.add_parser("run", help="evaluate the rules over recent audit events; safe to repeat")
        run.add_argument("--since", type=_when, help="from when (default: where the previous run ended)")
        run.add_argument("--until", type=_when, help="until when (default: now)")
        listing = commands.add_parser("list", help="alerts for your directory team (or all, for auditors)")
        listing.add_argument("--as", dest="username", required=True, metavar="USERNAME")
        listing.add_argument("--status", choices=["open", "acknowledged", "escalated"], default="")
        for name, what in (("acknowledge", "close as looked into"), ("escalate", "pass on"),
                           ("suspend", "suspend the alert's user and acknowledge")):
            action = commands.add_parser(name, help=what)
            action.add_argument("reference")
            action.add_argument("--by", dest="username", required=True, metavar="USERNAME")
            action.add_argument("--note", required=True, help="what you found or why (recorded)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['subcommand']}")(options)
        except (AlertError, AccessDenied) as error:
            raise CommandError(str(error)) from None

    def _run(self, options: dict[str, Any]) -> None:
        summary = services.run_alert_rules(since=options["since"], until=options["until"])
        self.stdout.write(
            f"alert rules ran over {summary.since:%Y-%m-%d %H:%M:%S} to {summary.until:%Y-%m-%d %H:%M:%S}: "
            f"{len(summary.raised)} raised, {len(summary.updated)} updated"
        )
        for reference in summary.raised:
            self.stdout.write(f"  raised {reference}")

    def _list(self, options: dict[str, Any]) -> None:
        for alert in queries.list_alerts(user=_user(options["username"]), status=options["status"]):
            raised = timezone.localtime(alert.raised_at)
            self.stdout.write(
                f"{alert.reference}  {alert.status:<12} {raised:%Y-%m-%d %H:%M}  "
                f"{alert.get_rule_display()}: {alert.reason}"
            )

    def _acknowledge(self, options: dict[str, Any]) -> None:
        alert = services.acknowledge_alert(actor=_user(options["username"]), reference=options["reference"],
                                           note=options["note"])
        self.stdout.write(f"Acknowledged {alert.reference}.")

    def _escalate(self, options: dict[str, Any]) -> None:
        alert = services.escalate_alert(actor=_user(options["username"]), reference=options["reference"],
                                        note=options["note"])
        self.stdout.write(f"Escalated {alert.reference}.")

    def _suspend(self, options: dict[str, Any]) -> None:
        alert = services.suspend_user_for_alert(actor=_user(options["username"]), reference=options["reference"],
                                                note=options["note"])
        self.stdout.write(f"Suspended {alert.subject_username} and acknowledged {alert.reference}.")
