from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Run the service (gunicorn); with --demo, first load a demo local authority and demo accounts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--demo", action="store_true", help="demo mode: on an empty directory, generate and load ~20,000 children"
        )
        parser.add_argument("--children", type=int, default=20_000, help="size of the demo population")
        parser.add_argument("--bind", default="127.0.0.1:8000", help="address:port to listen on")
        parser.add_argument("--workers", type=int, default=2, help="number of server worker processes")
        parser.add_argument("--no-serve", action="store_true", help="prepare (migrate, load demo) and exit")

    def handle(self, *args: object, **options: Any) -> None:
        demo = bool(options["demo"])
        if demo and settings.MODE != "demo":
            raise CommandError("run 'contactpoint serve --demo' (the demo flag sets CONTACTPOINT_MODE=demo)")
        self.stdout.write("Preparing the database…")
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        if demo:
            from contactpoint.demo.loader import load_demo

            settings.DEMO_HOME_MARKER.write_text("Created by 'contactpoint serve --demo': commands run in demo mode.\n")
            load_demo(children=int(options["children"]), out=self.stdout)
        if options["no_serve"]:
            return
        bind = str(options["bind"])
        self.stdout.write(f"Serving ContactPoint on http://{bind}/ (Ctrl+C to stop)")
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "contactpoint.wsgi:application",
            "--bind",
            bind,
            "--workers",
            str(options["workers"]),
            "--access-logfile",
            "-",
        ]
        env = dict(os.environ, DJANGO_SETTINGS_MODULE="contactpoint.settings", CONTACTPOINT_MODE=settings.MODE)
        try:
            # The server runs as a child process, so that this process keeps its handle on the embedded
            # database and stops it cleanly when the server stops.
            completed = subprocess.run(command, env=env, check=False)
        except KeyboardInterrupt:
            return
        if completed.returncode not in (0, -2):
            raise CommandError(f"the server stopped with exit code {completed.returncode}")
