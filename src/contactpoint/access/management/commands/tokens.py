"""``contactpoint tokens``: bearer tokens for the JSON API."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from contactpoint.access import services
from contactpoint.access.management._common import cli_actor, get_user
from contactpoint.access.models import ApiToken


class Command(BaseCommand):
    help = "Create, list and revoke API bearer tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="create a token for a user; prints it once")
        create.add_argument("username")
        create.add_argument(
            "--ttl",
            type=int,
            default=services.DEFAULT_TOKEN_TTL_SECONDS,
            metavar="SECONDS",
            help=f"lifetime in seconds (default {services.DEFAULT_TOKEN_TTL_SECONDS})",
        )
        create.add_argument("--name", default="", help="what the token is for")

        revoke = actions.add_parser("revoke", help="revoke one token (by its prefix) or all of a user's")
        which = revoke.add_mutually_exclusive_group(required=True)
        which.add_argument("prefix", nargs="?", help="the token's first characters, as 'tokens list' shows")
        which.add_argument("--user", metavar="USERNAME", help="revoke every token of this user")
        revoke.add_argument("--reason", default="")

        listing = actions.add_parser("list", help="list a user's tokens (never the secrets)")
        listing.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except services.AccessError as error:
            raise CommandError(str(error)) from None

    def _create(self, options: dict[str, Any]) -> None:
        user = get_user(options["username"])
        new = services.create_api_token(
            actor=cli_actor(), user=user, ttl_seconds=options["ttl"], name=options["name"]
        )
        # The token alone on stdout, so that scripts can capture it; the rest on stderr.
        self.stdout.write(new.secret)
        self.stderr.write(
            f"Token {new.token.prefix}… for {user.username}, "
            f"expires {new.token.expires_at:%Y-%m-%d %H:%M %Z}."
        )

    def _revoke(self, options: dict[str, Any]) -> None:
        if options["user"]:
            tokens = list(ApiToken.objects.filter(user=get_user(options["user"]), revoked_at__isnull=True))
        else:
            tokens = list(ApiToken.objects.filter(prefix=options["prefix"], revoked_at__isnull=True))
            if not tokens:
                raise CommandError(f"no unrevoked token starts {options['prefix']}")
            if len(tokens) > 1:
                raise CommandError(f"more than one token starts {options['prefix']}; use --user")
        for token in tokens:
            services.revoke_api_token(actor=cli_actor(), token=token, reason=options["reason"])
        self.stdout.write(f"Revoked {len(tokens)} token(s).")

    def _list(self, options: dict[str, Any]) -> None:
        now = timezone.now()
        for token in ApiToken.objects.filter(user=get_user(options["username"])).order_by("-created_at"):
            state = "revoked" if token.revoked_at else ("expired" if token.expires_at <= now else "active")
            used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
            expires = f"{token.expires_at:%Y-%m-%d %H:%M}"
            self.stdout.write(f"{token.prefix:<12}{state:<9}expires {expires}  used {used}  {token.name}")
