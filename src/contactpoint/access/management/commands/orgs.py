"""``contactpoint orgs``: organisations and their local authorities."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from contactpoint.access import services
from contactpoint.access.management._common import cli_actor
from contactpoint.orgs.models import Organisation


class Command(BaseCommand):
    help = "Add and list organisations (and their local authorities)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        add = actions.add_parser("add", help="add an organisation, creating its local authority if new")
        add.add_argument("code", help="URN, ODS code or the directory's own code")
        add.add_argument("--name", required=True)
        add.add_argument("--authority", required=True, metavar="LA_CODE", help="ONS code, e.g. E08000025")
        add.add_argument("--authority-name", default="", help="name of the local authority, if it is new")
        add.add_argument("--kind", default=Organisation.Kind.OTHER, choices=Organisation.Kind.values)
        actions.add_parser("list", help="list organisations")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "add":
            try:
                org = services.add_organisation(
                    actor=cli_actor(),
                    code=options["code"],
                    name=options["name"],
                    local_authority_code=options["authority"],
                    local_authority_name=options["authority_name"],
                    kind=options["kind"],
                )
            except services.AccessError as error:
                raise CommandError(str(error)) from None
            self.stdout.write(f"Added {org} in {org.local_authority}")
        else:
            for org in Organisation.objects.select_related("local_authority"):
                authority = org.local_authority.code if org.local_authority else "-"
                self.stdout.write(f"{org.code:<20}{authority:<12}{org.kind:<16}{org.name}")
