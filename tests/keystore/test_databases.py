"""Where the key store's database is (settings), and that ``contactpoint migrate`` creates and migrates it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.conf import settings


def keys_settings(tmp_path: Path, **environment: str) -> str:
    """The ``keys`` alias as a fresh settings module sees it under ``environment`` (no database is opened)."""
    env = {k: v for k, v in os.environ.items() if k not in {"CONTACTPOINT_KEYSTORE_URL", "CONTACTPOINT_TEST_DATABASE"}}
    env.update(CONTACTPOINT_MODE="test", CONTACTPOINT_HOME=str(tmp_path), **environment)
    code = ("import contactpoint.settings as s; k = s.DATABASES['keys']; "
            "print(k['HOST'], k['PORT'], k['USER'], k['NAME'], k['TEST']['NAME'], s.DATABASES['default']['NAME'])")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return result.stdout.strip()


def test_the_key_store_is_on_the_main_server_under_its_own_name_unless_configured(tmp_path: Path) -> None:
    main = "postgresql://app@db.example:5433/directory"
    elsewhere = "postgresql://kms@keys.example:5432/ks"
    assert keys_settings(tmp_path, DATABASE_URL=main) == (
        "db.example 5433 app directory_keys test_contactpoint_keys directory"
    )
    assert keys_settings(tmp_path, DATABASE_URL=main, CONTACTPOINT_TEST_DATABASE="cp_run_7") == (
        "db.example 5433 app directory_keys cp_run_7_keys directory"  # parallel runs never share a key store
    )
    assert keys_settings(tmp_path, DATABASE_URL=main, CONTACTPOINT_KEYSTORE_URL=elsewhere) == (
        "keys.example 5432 kms ks test_contactpoint_keys directory"
    )


def _server() -> dict[str, str]:
    db = settings.DATABASES["default"]
    return {"host": str(db["HOST"] or "localhost"), "port": str(db["PORT"] or 5432), "user": str(db["USER"]),
            "password": str(db.get("PASSWORD") or "")}


def _run_sql(sql: str, database: str = "postgres") -> list[tuple[object, ...]]:
    with psycopg.connect(dbname=database, autocommit=True, **_server()) as conn:
        cursor = conn.execute(sql)
        return cursor.fetchall() if cursor.description else []


@pytest.mark.slow
def test_migrate_creates_the_missing_key_store_database_and_migrates_both(tmp_path: Path) -> None:
    name = f"{settings.DATABASES['default']['TEST']['NAME']}_mig{os.getpid()}"
    server = _server()
    url = (f"postgresql://{quote(server['user'])}:{quote(server['password'])}@{quote(server['host'], safe='')}"
           f":{server['port']}/{name}")
    _run_sql(f'DROP DATABASE IF EXISTS "{name}_keys"')
    _run_sql(f'DROP DATABASE IF EXISTS "{name}"')
    _run_sql(f'CREATE DATABASE "{name}"')  # the main database exists (an operator made it); the key store does not
    try:
        env = {k: v for k, v in os.environ.items() if k != "CONTACTPOINT_KEYSTORE_URL"}
        env.update(DATABASE_URL=url, CONTACTPOINT_MODE="test", CONTACTPOINT_HOME=str(tmp_path))
        result = subprocess.run([sys.executable, "-m", "contactpoint.cli", "migrate"], env=env, capture_output=True,
                                text=True, check=False, timeout=600)
        assert result.returncode == 0, result.stderr
        assert "Database 'keys' (created)" in result.stdout
        tables = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        assert {row[0] for row in _run_sql(tables, f"{name}_keys")} == {
                "django_migrations", "keystore_datakey", "keystore_recordkey"}
        main = {row[0] for row in _run_sql(tables, name)}
        assert "retention_archival" in main and "keystore_datakey" not in main and "retention_childkey" not in main
    finally:
        _run_sql(f'DROP DATABASE IF EXISTS "{name}_keys" WITH (FORCE)')
        _run_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
