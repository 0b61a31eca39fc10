"""Training a new model version from the directory's own records (unsupervised)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from contactpoint.audit.services import record_event
from contactpoint.audit.tags import AuditAction
from contactpoint.directory.identity import read_source_identities
from contactpoint.matching.models import MatchModel


class TrainingError(Exception):
    pass


MIN_TRAINING_RECORDS = 1000


def train_and_activate(
    *,
    seed: int,
    activate: bool = True,
    actor: Any = None,
    system_actor: str = "",
    min_records: int = MIN_TRAINING_RECORDS,
) -> MatchModel:
    """Train on every current source record, store the model as a new version, optionally activate it.

    Existing links keep the model version that made them; only later matching uses the new model.
    """
    import pandas as pd

    from contactpoint.matching import engine

    rows = read_source_identities()
    if len(rows) < min_records:
        raise TrainingError(f"only {len(rows)} current source records: too few to train on (need {min_records:,})")
    settings_json = engine.train_model(pd.DataFrame(rows), seed=seed)
    version = engine.model_version(settings_json)
    with transaction.atomic():
        model, _ = MatchModel.objects.get_or_create(
            version=version,
            defaults={"settings": settings_json, "trained_on_records": len(rows), "note": f"trained, seed {seed}"},
        )
        if activate:
            MatchModel.objects.filter(is_active=True).exclude(pk=model.pk).update(is_active=False)
            model.is_active = True
            model.save(update_fields=["is_active"])
        record_event(
            action=AuditAction.MATCHING_MODEL_TRAIN,
            actor=actor,
            system_actor=system_actor,
            details={"version": version, "records": len(rows), "activated": activate},
        )
    return model
