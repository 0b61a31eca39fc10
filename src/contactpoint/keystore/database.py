"""Creating the key store's database when it is missing (``contactpoint migrate`` and the embedded server)."""

from __future__ import annotations

from django.db import DatabaseError, connections

from contactpoint.keystore.router import KEYS_DATABASE


class KeyStoreDatabaseError(Exception):
    """The key store's database is missing and could not be created."""


def ensure_key_store_database() -> bool:
    """Create the key store's database on its server when it does not exist; whether it was created.

    Needs the ``CREATEDB`` privilege on that server; without it the operator creates the database (or
    points ``CONTACTPOINT_KEYSTORE_URL`` at one) and we say so.
    """
    connection = connections[KEYS_DATABASE]
    name = str(connection.settings_dict["NAME"])
    try:
        # Django's connection to the server's maintenance database ("postgres"), as the key store's user.
        with connection._nodb_cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone():
                return False
            cursor.execute(f"CREATE DATABASE {connection.ops.quote_name(name)}")
    except DatabaseError as error:
        raise KeyStoreDatabaseError(
            f"the key store's database {name!r} does not exist and could not be created ({error}); create it, "
            "or set CONTACTPOINT_KEYSTORE_URL to one (docs/retention.md)"
        ) from error
    return True
