"""``contactpoint decommission``: everything personal goes, the audit trail stays and verifies; a signed certificate."""

from __future__ import annotations

import base64
import io
import json
from importlib import import_module
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections

from contactpoint.access.models import Role, User
from contactpoint.audit.integrity import verify_log
from contactpoint.audit.keys import load_signing_key
from contactpoint.audit.models import AuditEvent
from contactpoint.audit.tags import AuditAction
from contactpoint.core import keys as core_keys
from contactpoint.directory.models import Child, Forename
from contactpoint.feeds.models import SourceRecord, SourceSystem
from contactpoint.keystore import datakeys
from contactpoint.retention.decommission import tables_to_destroy, verify_certificate
from directory.builders import child_row, load_children, user

# Decommissioning empties the key store (the database "keys") too.
pytestmark = pytest.mark.django_db(databases=["default", "keys"])


@pytest.fixture
def populated(tmp_path: Path, settings, monkeypatch: pytest.MonkeyPatch) -> Path:
    settings.HOME = tmp_path
    monkeypatch.delenv(core_keys.MASTER_KEY_VARIABLE, raising=False)
    children = load_children(tmp_path, [child_row("A1"), child_row("B1", given_names="Ian", family_name="Brook",
                                                                    date_of_birth="2012-02-02")])
    # Loading sealed them under data keys of their own, wrapped by a master key made in tmp_path.
    assert datakeys.count_data_keys(child_ids=[child.pk for child in children.values()]) == 2
    user(Role.DIRECTORY_TEAM)
    assert core_keys.master_key_path().exists()
    return tmp_path


def decommission(*args: str) -> str:
    out = io.StringIO()
    call_command("decommission", *args, stdout=out)
    return out.getvalue()


def test_without_confirm_nothing_is_destroyed(populated: Path) -> None:
    with pytest.raises(CommandError, match="--confirm"):
        decommission("--by", "Chief Information Officer", "--out", str(populated / "c.json"))
    assert Child.objects.count() == 2 and not (populated / "c.json").exists()


@pytest.mark.django_db(transaction=True, databases=["default", "keys"])  # compaction (VACUUM): no transaction
def test_everything_personal_is_destroyed_and_certified(populated: Path) -> None:
    # Transactional tests elsewhere in the suite flush the tables, migration-loaded reference data
    # included; put the forename table back so that "reference data stays" is a real check here.
    if not Forename.objects.exists():
        fill_forenames = import_module("contactpoint.directory.migrations.0006_search_functions").fill_forenames
        fill_forenames(django_apps, None)
    assert Forename.objects.exists()
    certificate_file = populated / "certificate.json"
    text = decommission("--confirm", "--by", "Chief Information Officer", "--out", str(certificate_file))

    assert not Child.objects.exists() and not SourceRecord.objects.exists() and not User.objects.exists()
    assert datakeys.count_data_keys() == 0 and not core_keys.master_key_path().exists()
    assert SourceSystem.objects.exists() and Forename.objects.exists()  # reference data stays
    assert AuditEvent.objects.filter(action=AuditAction.RETENTION_DECOMMISSION).exists()
    assert verify_log().ok
    document = json.loads(certificate_file.read_text())
    payload = document["certificate"]
    assert payload["by"] == "Chief Information Officer"
    assert payload["destroyed_rows"]["directory_child"] == 2
    assert payload["destroyed_rows"]["keystore_datakey"] == 2  # in the key store's database
    assert payload["destroyed_rows"]["keystore_recordkey"] == 2  # one per source record
    assert payload["key_store_database"] == connections["keys"].settings_dict["NAME"]
    assert payload["compaction"]["key_store"]["table_rewritten"]
    assert payload["destroyed_rows"]["access_user"] >= 1
    assert {c["check"]: c["passed"] for c in payload["checks"]} == {
        "every destroyed table is empty": True, "key store empty": True, "audit trail verified": True,
    }
    assert verify_certificate(document, load_signing_key().public_key_raw)
    assert payload["compaction"]["checkpoint"] or payload["compaction"]["skipped"]
    assert "destroyed" in text and "signed certificate written" in text


def test_a_tampered_certificate_does_not_verify(populated: Path) -> None:
    certificate_file = populated / "certificate.json"
    decommission("--confirm", "--by", "CIO", "--out", str(certificate_file))
    document = json.loads(certificate_file.read_text())
    document["certificate"]["destroyed_rows"]["directory_child"] = 1
    assert not verify_certificate(document)
    document = json.loads(certificate_file.read_text())
    document["signature"] = base64.b64encode(b"\0" * 64).decode()
    assert not verify_certificate(document)


def test_the_audit_trail_is_never_among_the_destroyed_tables() -> None:
    tables = tables_to_destroy()
    assert not any(t.startswith("audit_") for t in tables)
    assert {"directory_child", "feeds_sourcerecord", "access_user", "otp_totp_totpdevice",
            "retention_archival"} <= set(tables)
    assert "keystore_datakey" not in tables  # it is not in the main database: emptied in the key store's


def test_a_key_left_in_the_key_store_fails_the_check_and_no_certificate_is_issued(
        populated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from contactpoint.retention import decommission as decommissioning
    from contactpoint.retention.errors import DecommissionRefused

    monkeypatch.setattr(decommissioning.datakeys, "destroy_all_data_keys", lambda: {})  # as if it failed silently
    with pytest.raises(DecommissionRefused, match="key store empty"):
        decommissioning.decommission(by="CIO", confirm=True)
    assert datakeys.count_data_keys() == 2
