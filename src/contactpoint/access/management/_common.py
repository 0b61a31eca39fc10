"""Shared helpers for the access commands."""

from __future__ import annotations

import datetime
import getpass

from django.core.management.base import CommandError

from contactpoint.access.models import User


def cli_actor() -> str:
    """How the audit trail names whoever ran a command: the operating-system account."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def get_user(username: str) -> User:
    user = User.objects.select_related("organisation").filter(username=username).first()
    if user is None:
        raise CommandError(f"no user called {username}")
    return user


def parse_date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"not a date (YYYY-MM-DD): {value}") from None
