"""The daemon as a process: /healthz with per-source state, /metrics, SIGTERM exits cleanly, and a
revoked token shows in /healthz within one poll."""

import os
import signal
import subprocess
import sys
import time

import httpx

from otklik.demo.run import free_port
from sandbox.registry import emulator_class
from sandbox.runner import serving


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except httpx.HTTPError:
            value = None
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not reached in time")


def test_health_metrics_revoked_token_and_sigterm(tmp_path, database_url, redis_url):
    emulator = emulator_class("telegram")()
    with serving(emulator) as tg:
        port = free_port()
        config = tmp_path / "otklik.toml"
        config.write_text(f'http_port = {port}\n[[sources]]\nname = "tg"\nplatform = "telegram"\n'
                          f'base_url = "{tg.url}"\npoll_interval = 0.3\n[sources.options]\npoll_timeout = 0\n',
                          encoding="utf-8")
        env = {**os.environ, "OTKLIK_CONFIG": str(config), "OTKLIK_VAR_DIR": str(tmp_path),
               "DATABASE_URL": database_url, "REDIS_URL": redis_url,
               "OTKLIK_SECRET_TG_TOKEN": emulator.demo_secrets()["token"]}
        proc = subprocess.Popen([sys.executable, "-m", "otklik", "run"], env=env, stderr=subprocess.PIPE, text=True)
        try:
            api = f"http://127.0.0.1:{port}"
            health = wait_for(lambda: (h := httpx.get(f"{api}/healthz").json())["sources"]["tg"]["status"] == "ok"
                              and h)
            assert health["database"] == "ok" and health["redis"] == "ok"
            metrics = httpx.get(f"{api}/metrics").text
            assert "otklik_outbox_depth" in metrics
            tg.call(emulator.revoke)
            health = wait_for(lambda: (h := httpx.get(f"{api}/healthz").json())["sources"]["tg"]["status"]
                              == "auth_failed" and h, 10)
            assert health["status"] == "degraded"
            assert emulator.demo_secrets()["token"] not in str(health)  # no secret leaks into health
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
        logs = proc.stderr.read()
        assert "Traceback" not in logs
        assert emulator.demo_secrets()["token"] not in logs  # nor into logs


def test_a_second_daemon_on_a_busy_port_says_so_in_one_line(tmp_path, database_url, redis_url):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "otklik.toml"
        config.write_text(f"http_port = {port}\n", encoding="utf-8")
        env = {**os.environ, "OTKLIK_CONFIG": str(config), "OTKLIK_VAR_DIR": str(tmp_path),
               "DATABASE_URL": database_url, "REDIS_URL": redis_url}
        result = subprocess.run([sys.executable, "-m", "otklik", "run"], env=env, capture_output=True, text=True,
                                timeout=60)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"otklik: cannot listen on 127.0.0.1:{port}: address already in use (another otklik run?)"]
    assert list((tmp_path / "run").glob("*.pid")) == []  # it cleaned up after itself
