"""``contactpoint shield``: shield a child, as a member of the directory team of the child's area."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from contactpoint.access.models import User
from contactpoint.access.policy import AccessDenied
from contactpoint.directory import services
from contactpoint.directory.errors import DirectoryError


def directory_team_member(username: str) -> User:
    user = User.objects.select_related("organisation").filter(username=username).first()
    if user is None:
        raise CommandError(f"no user called {username}")
    return user


class Command(BaseCommand):
    help = "Shield a child: hide location and contact details from all but the area's directory team."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("contactpoint_id", help="the child's ContactPoint identifier")
        parser.add_argument("--reason", required=True, help="why the child is shielded (recorded)")
        parser.add_argument("--review-date", required=True, metavar="YYYY-MM-DD", help="when to review the shield")
        parser.add_argument("--by", required=True, metavar="USERNAME",
                            help="the directory team member deciding (of the child's local authority)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            review_on = datetime.date.fromisoformat(options["review_date"])
        except ValueError:
            raise CommandError(f"not a date (YYYY-MM-DD): {options['review_date']}") from None
        actor = directory_team_member(options["by"])
        try:
            services.shield_child(
                actor=actor, contactpoint_id=options["contactpoint_id"], reason=options["reason"], review_on=review_on
            )
        except (DirectoryError, AccessDenied) as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Shielded {options['contactpoint_id']} until reviewed on {review_on:%Y-%m-%d}.")
