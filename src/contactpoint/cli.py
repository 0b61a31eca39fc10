"""The ``contactpoint`` command: the project's Django management commands behind one entry point.

``contactpoint --help`` lists the project's own commands with a one-line description each;
``contactpoint help --all`` also lists Django's built-in ones.
"""

from __future__ import annotations

import os
import sys

# The commands that make up the product, in the order a newcomer meets them.
PROJECT_COMMANDS = [
    "serve",
    "synth",
    "sources",
    "feeds",
    "matching",
    "links",
    "orgs",
    "users",
    "tokens",
    "shield",
    "unshield",
    "audit",
    "alerts",
    "subject-access",
    "retention",
    "decommission",
]


def _project_help() -> str:
    from django.core.management import get_commands, load_command_class

    lines = ["usage: contactpoint COMMAND [options]", "", "Commands:"]
    available = get_commands()
    for name in PROJECT_COMMANDS:
        if name not in available:
            continue
        command = load_command_class(available[name], name)
        summary = (command.help or "").strip().splitlines()[0] if command.help else ""
        lines.append(f"  {name:<16}{summary}")
    lines += [
        "",
        "Also: migrate, check, makemigrations and Django's other commands (contactpoint help --all).",
        "Run 'contactpoint COMMAND --help' for a command's options.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactpoint.settings")
    if argv[1:2] == ["serve"] and "--demo" in argv:
        # Demo mode must be chosen before the settings load: it relaxes the secrets requirement.
        os.environ.setdefault("CONTACTPOINT_MODE", "demo")
    import django

    django.setup()
    if len(argv) < 2 or argv[1] in {"--help", "-h"} or argv[1:] == ["help"]:
        print(_project_help())
        return
    if argv[1:3] == ["help", "--all"]:
        argv = [argv[0], "help"]
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
