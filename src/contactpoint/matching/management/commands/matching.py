from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from contactpoint.matching.blocking import rebuild_all_keys
from contactpoint.matching.training import train_and_activate


class Command(BaseCommand):
    help = "Retrain the matching model (matching train [--seed N]); recompute blocking keys (matching rebuild-keys)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        train = sub.add_parser("train", help="unsupervised training (EM) on the current source records")
        train.add_argument("--seed", type=int, default=42)
        train.add_argument("--no-activate", action="store_true", help="store the model without using it")
        sub.add_parser("rebuild-keys", help="recompute every current record's blocking keys (after the blocking "
                                            "rules or the master key changed)")

    def handle(self, *args: object, **options: Any) -> None:
        if options["action"] == "rebuild-keys":
            with transaction.atomic():
                keyed = rebuild_all_keys()
            self.stdout.write(f"blocking keys recomputed for {keyed} current source records")
            return
        seed = options["seed"]
        assert isinstance(seed, int)
        model = train_and_activate(
            seed=seed,
            activate=not options["no_activate"],
            system_actor="cli",
        )
        state = "active" if model.is_active else "stored, not active"
        self.stdout.write(f"model {model.version} trained on {model.trained_on_records} records ({state})")
