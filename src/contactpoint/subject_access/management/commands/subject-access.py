"""``contactpoint subject-access``: what is held about a child and who has looked at it, as HTML and JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from contactpoint.access.models import User
from contactpoint.access.policy import AccessDenied
from contactpoint.directory.errors import DirectoryError
from contactpoint.subject_access.services import produce_report, render_html, render_json


class Command(BaseCommand):
    help = "Subject access report for a child: what is held and every access (directory team of the area)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("contactpoint_id", help="the child's ContactPoint identifier")
        parser.add_argument("--out", required=True, type=Path, metavar="FILE",
                            help="where to write; with --format both, FILE.html and FILE.json")
        parser.add_argument("--format", choices=["html", "json", "both"], default="both")
        parser.add_argument("--by", required=True, metavar="USERNAME",
                            help="the directory team member producing it (of the child's local authority)")
        parser.add_argument("--reason", required=True, help="the request's reference, or why (recorded)")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.select_related("organisation").filter(username=options["by"]).first()
        if user is None:
            raise CommandError(f"no user called {options['by']}")
        try:
            report = produce_report(user=user, contactpoint_id=options["contactpoint_id"], reason=options["reason"])
        except (DirectoryError, AccessDenied) as error:
            raise CommandError(str(error)) from None
        out: Path = options["out"]
        formats = ["html", "json"] if options["format"] == "both" else [options["format"]]
        written = []
        for kind in formats:
            path = out if len(formats) == 1 else out.with_name(out.name + f".{kind}")
            if len(formats) > 1 and out.suffix in {".html", ".json"}:
                path = out.with_suffix(f".{kind}")
            text = render_html(report) if kind == "html" else render_json(report)
            path.write_text(text, encoding="utf-8")
            path.chmod(0o600)  # personal data: readable by whoever produced it only
            written.append(str(path))
        self.stdout.write(f"Subject access report for {report.contactpoint_id} ({len(report.accesses)} accesses): "
                          + ", ".join(written))
