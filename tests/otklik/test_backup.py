"""`otklik backup` while the daemon takes in traffic, `otklik restore` refused while it runs and
accepted after `otklik stop`; the daemon started on the restored database resumes from the backup's
cursors: every message the platform has is stored, none twice."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from sandbox.incident_management.emulator import IncidentManagementEmulator
from sandbox.runner import serving

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
TOTAL = 40


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stored(db: Path) -> tuple[int, int]:
    """(rows, distinct platform ids) of the source's messages."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)) as conn:
        return conn.execute("SELECT count(*), count(DISTINCT external_id) FROM messages "
                            "WHERE source = 'im'").fetchone()


def test_backup_mid_traffic_restore_resume_without_duplicates(tmp_path):
    emulator = IncidentManagementEmulator()
    var = tmp_path / "var"
    db = var / "otklik.db"
    with serving(emulator) as server:
        config = tmp_path / "otklik.toml"
        config.write_text(f'[[sources]]\nname = "im"\nplatform = "incident_management"\nbase_url = "{server.url}"\n'
                          "poll_interval = 0.3\n", encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env.update(OTKLIK_CONFIG=str(config), OTKLIK_VAR_DIR=str(var), OTKLIK_HTTP_PORT=str(free_port()),
                   **{f"OTKLIK_SECRET_IM_{k.upper()}": v for k, v in emulator.demo_secrets().items()})

        def otklik(*args: str) -> subprocess.CompletedProcess:
            r = subprocess.run([sys.executable, "-m", "otklik", *args], env=env, capture_output=True, text=True,
                               timeout=90)
            assert "Traceback" not in r.stderr, r.stderr
            return r

        def daemon() -> subprocess.Popen:
            return subprocess.Popen([sys.executable, "-m", "otklik", "run"], env=env, stdout=subprocess.DEVNULL,
                                    stderr=open(tmp_path / "daemon.log", "a"),  # noqa: SIM115
                                    start_new_session=True)

        def citizens(first: int = 0, last: int = TOTAL) -> None:
            for i in range(first, last):
                httpx.post(f"{server.url}/_sandbox/inject", json={"text": f"Обращение номер {i}: яма во дворе"},
                           timeout=5).raise_for_status()
                time.sleep(0.3)  # about 12 s of traffic: the backup lands in the middle

        def wait_stored(n: int, timeout: float = 90) -> None:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                with contextlib.suppress(sqlite3.Error):
                    if db.exists() and stored(db)[1] >= n:
                        return
                time.sleep(0.3)
            raise AssertionError(f"{n} messages not stored in time; see {tmp_path / 'daemon.log'}")

        proc = daemon()
        try:
            citizens(0, 1)
            wait_stored(1)  # the daemon is up and polling (its start takes a while on a busy machine)
            writer = threading.Thread(target=citizens, args=(1, TOTAL))
            writer.start()
            wait_stored(5)
            backup = tmp_path / "backup.db"
            r = otklik("backup", str(backup))  # mid-traffic: the daemon keeps writing
            assert r.returncode == 0, r.stderr
            at_backup = stored(backup)
            assert at_backup[0] == at_backup[1] and 5 <= at_backup[0] < TOTAL, at_backup
            r = otklik("restore", str(backup))
            assert r.returncode == 2 and "still running" in r.stderr and "otklik stop" in r.stderr
            writer.join()
            wait_stored(TOTAL)
        finally:
            assert otklik("stop").returncode == 0
            proc.wait(30)
        assert stored(db) == (TOTAL, TOTAL)

        r = otklik("restore", str(backup))
        assert r.returncode == 0, r.stderr
        assert stored(db) == at_backup  # the database of the backup's moment, cursors included
        proc = daemon()
        try:
            wait_stored(TOTAL)  # what came after the backup is read again from the cursor ...
            time.sleep(2)  # ... and a few more polls add nothing twice
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)
        assert stored(db) == (TOTAL, TOTAL)


def test_backup_and_restore_refuse_clearly(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "OTKLIK_CONFIG")}
    env["OTKLIK_VAR_DIR"] = str(tmp_path / "var")

    def otklik(*args: str, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "otklik", *args], env={**env, **extra}, capture_output=True,
                              text=True, timeout=60)

    r = otklik("backup", str(tmp_path / "b.db"))
    assert r.returncode == 2 and "nothing to back up" in r.stderr
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database" * 100)
    r = otklik("restore", str(junk))
    assert r.returncode == 2 and "not a readable SQLite database" in r.stderr and "Traceback" not in r.stderr
    r = otklik("backup", str(tmp_path / "b.db"), DATABASE_URL="postgresql://u@127.0.0.1:1/x")
    assert r.returncode == 2 and "pg_dump" in r.stderr
