"""``contactpoint users``: accounts, suspensions and renewed checks."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from contactpoint.access import services
from contactpoint.access.management._common import cli_actor, get_user, parse_date
from contactpoint.access.models import Role, User
from contactpoint.access.policy import user_may_use_directory
from contactpoint.orgs.models import Organisation


class Command(BaseCommand):
    help = "Add, list, suspend and unsuspend users, and record renewed checks."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        add = actions.add_parser("add", help="add a user; prints their initial password and TOTP secret")
        add.add_argument("username")
        add.add_argument("--role", required=True, choices=Role.values)
        add.add_argument("--org", required=True, metavar="CODE", help="the user's organisation")
        add.add_argument("--first-name", default="")
        add.add_argument("--last-name", default="")
        add.add_argument("--email", default="")
        add.add_argument(
            "--checks-valid-until",
            type=parse_date,
            metavar="YYYY-MM-DD",
            help="employer authorisation, background check and training all valid until this date",
        )
        add.add_argument("--json", action="store_true", help="print the result as JSON")

        suspend = actions.add_parser("suspend", help="suspend a user; ends their sessions and API tokens")
        suspend.add_argument("username")
        suspend.add_argument("--reason", required=True)

        unsuspend = actions.add_parser("unsuspend", help="lift a suspension")
        unsuspend.add_argument("username")
        unsuspend.add_argument("--reason", required=True)

        renew = actions.add_parser("renew", help="record renewed checks (only the dates given change)")
        renew.add_argument("username")
        renew.add_argument("--employer-authorised-until", type=parse_date, metavar="YYYY-MM-DD")
        renew.add_argument("--background-check-until", type=parse_date, metavar="YYYY-MM-DD")
        renew.add_argument("--training-until", type=parse_date, metavar="YYYY-MM-DD")

        link = actions.add_parser(
            "link-sso", help="let a user sign in through an identity provider (OpenID Connect single sign-on)"
        )
        link.add_argument("username")
        link.add_argument("--issuer", required=True, help="the provider's issuer URL, as in its discovery document")
        link.add_argument("--subject", required=True, help="the user's subject ('sub') at that provider")

        listing = actions.add_parser("list", help="list users and whether each may use the directory")
        listing.add_argument("--org", metavar="CODE")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action'].replace('-', '_')}")(options)
        except services.AccessError as error:
            raise CommandError(str(error)) from None

    def _add(self, options: dict[str, Any]) -> None:
        organisation = Organisation.objects.filter(code=options["org"]).first()
        if organisation is None:
            raise CommandError(
                f"no organisation with code {options['org']} (add it with 'contactpoint orgs add')"
            )
        new = services.create_user(
            actor=cli_actor(),
            username=options["username"],
            role=options["role"],
            organisation=organisation,
            first_name=options["first_name"],
            last_name=options["last_name"],
            email=options["email"],
            checks_valid_until=options["checks_valid_until"],
        )
        may_use = user_may_use_directory(new.user)
        if options["json"]:
            result = {
                "username": new.user.username,
                "role": new.user.role,
                "organisation": organisation.code,
                "password": new.password,
                "totp_secret": new.totp_secret,
                "totp_uri": new.totp_uri,
                "may_use_directory": may_use.allowed,
            }
            self.stdout.write(json.dumps(result, indent=2))
            return
        self.stdout.write(f"Added {new.user.username} ({new.user.get_role_display()}) at {organisation}.")
        self.stdout.write(f"Initial password: {new.password}")
        self.stdout.write(f"TOTP secret (enter in an authenticator app): {new.totp_secret}")
        self.stdout.write(f"TOTP URI: {new.totp_uri}")
        self.stdout.write("These are shown once and cannot be recovered.")
        if not may_use:
            self.stdout.write(self.style.WARNING(f"Cannot sign in yet: {may_use.reason}."))

    def _suspend(self, options: dict[str, Any]) -> None:
        user = get_user(options["username"])
        services.suspend_user(actor=cli_actor(), user=user, reason=options["reason"])
        self.stdout.write(f"Suspended {user.username}; their sessions and API tokens have ended.")

    def _unsuspend(self, options: dict[str, Any]) -> None:
        user = get_user(options["username"])
        services.unsuspend_user(actor=cli_actor(), user=user, reason=options["reason"])
        self.stdout.write(f"Lifted the suspension of {user.username}.")

    def _renew(self, options: dict[str, Any]) -> None:
        user = get_user(options["username"])
        services.renew_checks(
            actor=cli_actor(),
            user=user,
            employer_authorised_until=options["employer_authorised_until"],
            background_check_until=options["background_check_until"],
            training_until=options["training_until"],
        )
        user.refresh_from_db()
        self.stdout.write(f"Renewed checks for {user.username}: {user_may_use_directory(user).reason}.")

    def _link_sso(self, options: dict[str, Any]) -> None:
        user = get_user(options["username"])
        services.link_oidc_identity(actor=cli_actor(), user=user, issuer=options["issuer"], subject=options["subject"])
        self.stdout.write(f"{user.username} may now sign in through {options['issuer'].strip()}.")

    def _list(self, options: dict[str, Any]) -> None:
        users = User.objects.select_related("organisation").order_by("username")
        if options["org"]:
            users = users.filter(organisation__code=options["org"])
        for user in users:
            org = user.organisation.code if user.organisation else "-"
            self.stdout.write(
                f"{user.username:<24}{user.role:<16}{org:<20}{user_may_use_directory(user).reason}"
            )
