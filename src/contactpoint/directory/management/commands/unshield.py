"""``contactpoint unshield``: lift a child's shield, as a member of the directory team of the child's area."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from contactpoint.access.policy import AccessDenied
from contactpoint.directory import services
from contactpoint.directory.errors import DirectoryError
from contactpoint.directory.management.commands.shield import directory_team_member


class Command(BaseCommand):
    help = "Lift a child's shield (the history is kept); the decision is recorded with its reason."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("contactpoint_id", help="the child's ContactPoint identifier")
        parser.add_argument("--reason", required=True, help="why the shield is lifted (recorded)")
        parser.add_argument("--by", required=True, metavar="USERNAME",
                            help="the directory team member deciding (of the child's local authority)")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = directory_team_member(options["by"])
        try:
            services.unshield_child(actor=actor, contactpoint_id=options["contactpoint_id"], reason=options["reason"])
        except (DirectoryError, AccessDenied) as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Lifted the shield of {options['contactpoint_id']}.")
