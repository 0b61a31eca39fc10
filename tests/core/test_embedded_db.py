"""The embedded PostgreSQL server: shared between processes, recovered after a kill, stopped cleanly.

Each test uses its own CONTACTPOINT_HOME and real processes (the behaviour is about processes).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.slow

HOLD = """
import sys, time
from contactpoint.core.embedded_db import ensure_server
server = ensure_server()
import psycopg
with psycopg.connect(host=server.socket_dir, port=server.port, user=server.user, dbname="contactpoint") as c:
    pid = c.execute("SELECT pg_backend_pid()").fetchone()[0]
# The key store's database is created with the server too (fails, and the holder dies, if it is not).
psycopg.connect(host=server.socket_dir, port=server.port, user=server.user, dbname="contactpoint_keys").close()
print(open(server.pgdata / "postmaster.pid").read().split()[0], flush=True)
sys.stdin.readline()
"""


@pytest.fixture
def home():
    """A fresh CONTACTPOINT_HOME the server's own system user can reach.

    (pytest's tmp_path is private to root; as root the embedded server runs as another user.)
    """
    path = Path(tempfile.mkdtemp(prefix="cp-embedded-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def start_holder(home: Path) -> tuple[subprocess.Popen[str], int]:
    env = dict(os.environ, CONTACTPOINT_HOME=str(home))
    env.pop("DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        raise AssertionError(proc.stderr.read() if proc.stderr else "holder died")
    return proc, int(line)


def release(proc: subprocess.Popen[str]) -> str:
    out, err = proc.communicate("\n", timeout=60)
    return err


def wait_gone(pid: int, seconds: float = 60) -> bool:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return True
        time.sleep(0.2)
    return False


def test_two_processes_share_one_server_and_the_last_stops_it(home):
    first, server_pid = start_holder(home)
    second, second_server_pid = start_holder(home)
    assert second_server_pid == server_pid
    release(first)
    assert psutil.pid_exists(server_pid), "the server must outlive the first process while the second uses it"
    release(second)
    assert wait_gone(server_pid), "the last process to leave stops the server"


def test_a_killed_holder_is_recovered_from_with_a_message(home):
    first, server_pid = start_holder(home)
    first.send_signal(signal.SIGKILL)
    first.wait()
    second, same_pid = start_holder(home)
    assert same_pid == server_pid  # the running server is reused
    err = release(second)
    assert "did not stop cleanly" in err
    assert wait_gone(server_pid), "with the dead handle pruned, the last live process stops the server"


def test_a_killed_server_is_restarted_with_a_message(home):
    first, server_pid = start_holder(home)
    os.kill(server_pid, signal.SIGKILL)
    assert wait_gone(server_pid)
    first.send_signal(signal.SIGKILL)
    first.wait()
    second, new_pid = start_holder(home)
    assert new_pid != server_pid
    err = release(second)
    assert "stale postmaster.pid" in err
    assert wait_gone(new_pid)
