"""``contactpoint migrate``: Django's migrate, for the main database *and* the key store.

Without ``--database`` it creates the key store's database if it is missing, migrates the key store
(``keys``: the key table only, see :mod:`contactpoint.keystore.router`) and then the main database
(``default``). The key store goes first: a main-database migration may move keys into it. With
``--database`` it migrates that database only, exactly like Django's command (the test runner uses it so).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.core.management.commands import migrate
from django.db import DEFAULT_DB_ALIAS

from contactpoint.keystore.database import KeyStoreDatabaseError, ensure_key_store_database
from contactpoint.keystore.router import KEYS_DATABASE


class Command(migrate.Command):
    help = "Update the database schema: the key store's database, then the main database (or only --database)."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.set_defaults(database=None)  # none given: both databases

    def get_check_kwargs(self, options: Any) -> Any:
        # Django's migrate checks the one database it migrates; without --database that is both.
        if options["database"] is None:
            return {**super().get_check_kwargs({**options, "database": DEFAULT_DB_ALIAS}),
                    "databases": [KEYS_DATABASE, DEFAULT_DB_ALIAS]}
        return super().get_check_kwargs(options)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["database"] is not None:
            super().handle(*args, **options)
            return
        try:
            created = ensure_key_store_database()
        except KeyStoreDatabaseError as error:
            raise CommandError(str(error)) from error
        for alias in (KEYS_DATABASE, DEFAULT_DB_ALIAS):
            if options["verbosity"] >= 1:
                note = " (created)" if alias == KEYS_DATABASE and created else ""
                self.stdout.write(self.style.MIGRATE_HEADING(f"Database {alias!r}{note}:"))
            super().handle(*args, **{**options, "database": alias})
