from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm


class Command(BaseCommand):
    help = "Write a synthetic population's feeds and truth.csv (synth --children N --seed S --out DIR)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--children", type=int, required=True)
        parser.add_argument("--seed", type=int, required=True)
        parser.add_argument("--out", type=Path, required=True)
        parser.add_argument("--local-authority", default="E08000025", help="ONS code of the area")

    def handle(self, *args: object, **options: Any) -> None:
        from contactpoint.synth.generator import generate

        children = int(options["children"])
        started = time.perf_counter()
        with tqdm(total=children, unit="child", desc="Generating", disable=None) as bar:
            done = 0

            def advance(n: int) -> None:
                nonlocal done
                bar.update(n - done)
                done = n

            try:
                summary = generate(
                    children,
                    int(options["seed"]),
                    Path(str(options["out"])),
                    local_authority=str(options["local_authority"]),
                    progress=advance,
                )
            except ValueError as error:  # too many children, an unknown area: say which, no traceback
                raise CommandError(str(error)) from None
            bar.update(children - done)
        self.stdout.write(f"wrote {summary} in {time.perf_counter() - started:.1f} s")
