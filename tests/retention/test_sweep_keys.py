"""``retention sweep-keys``: keys left by a failed load (their records never written) are destroyed; live
keys, and keys young enough to belong to a load still running, are not."""

from __future__ import annotations

import datetime
import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connections

from contactpoint.audit.models import AuditEvent
from contactpoint.audit.tags import AuditAction
from contactpoint.directory import identity
from contactpoint.feeds.models import SourceRecord
from contactpoint.ingest import pipeline
from contactpoint.keystore import datakeys
from contactpoint.retention.errors import RetentionError
from contactpoint.retention.services import sweep_orphan_keys
from directory.builders import child_row, load_children

pytestmark = pytest.mark.django_db(databases=["default", "keys"])


def age_every_key(days: int) -> None:
    with connections["keys"].cursor() as cursor:
        for table in ("keystore_datakey", "keystore_recordkey"):
            cursor.execute(f"UPDATE {table} SET created_at = created_at - %s * interval '1 day'", [days])


def test_keys_left_by_a_failed_load_are_swept_and_live_ones_stay(tmp_path: Path, monkeypatch) -> None:
    kept = load_children(tmp_path, [child_row("K1")])["K1"]

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the load fails after its records' keys were made")

    monkeypatch.setattr(pipeline, "rebuild_golden_records", crash)
    with pytest.raises(RuntimeError):
        load_children(tmp_path, [child_row("F1", given_names="Ian", family_name="Brook"),
                                 child_row("F2", given_names="Zed", family_name="Zephyr")])
    monkeypatch.undo()
    assert SourceRecord.objects.count() == 1  # the failed load wrote nothing…
    assert datakeys.count_record_keys() == 3  # …but its two records' keys were made first

    assert sweep_orphan_keys(older_than=datetime.timedelta(hours=24), system_actor="ops").record_keys == 0  # young
    age_every_key(days=2)
    out = io.StringIO()
    call_command("retention", "sweep-keys", "--by", "ops", stdout=out)

    assert "destroyed 0 child key(s) and 2 source record key(s)" in out.getvalue()
    assert datakeys.count_record_keys() == 1 and datakeys.count_data_keys() == 1
    assert identity.read_identity(kept).family_name == "Okafor"  # the live child still unseals
    event = AuditEvent.objects.filter(action=str(AuditAction.RETENTION_SWEEP_KEYS)).last()
    assert event is not None and event.details["record_keys"] == 2


def test_a_sweep_of_keys_younger_than_an_hour_is_refused() -> None:
    with pytest.raises(RetentionError, match="still running"):
        sweep_orphan_keys(older_than=datetime.timedelta(minutes=10), system_actor="ops")
