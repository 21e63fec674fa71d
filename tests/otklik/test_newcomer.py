"""A newcomer's path, as the README gives it: `otklik init --sandbox`, then `otklik sandbox`, `otklik
worker` and `otklik run` as separate processes; a citizen writes to the emulator, staff draft and
approve through the CLI, and the reply appears on the emulator — exactly once."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pyotp
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Shell:
    """The commands a newcomer types, in one directory with one environment."""

    def __init__(self, cwd: Path, **env: str) -> None:
        self.cwd = cwd
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("DATABASE_URL", "REDIS_URL", "OTKLIK_CONFIG", "OTKLIK_VAR_DIR", "OTKLIK_TOKEN")}
        self.env.update(env)
        self.procs: list[subprocess.Popen] = []

    def run(self, *args: str, stdin: str | None = None, token: str | None = None) -> subprocess.CompletedProcess:
        env = {**self.env, **({"OTKLIK_TOKEN": token} if token else {})}
        r = subprocess.run([sys.executable, "-m", "otklik", *args], cwd=self.cwd, env=env, input=stdin,
                           capture_output=True, text=True, timeout=60)
        assert "Traceback" not in r.stderr, r.stderr
        return r

    def start(self, *args: str) -> subprocess.Popen:
        log = open(self.cwd / f"{args[0]}.log", "w")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen([sys.executable, "-m", "otklik", *args], cwd=self.cwd, env=self.env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


def wait_for(what: str, check, timeout: float = 90.0, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def user(sh: Shell, login: str, role: str, *extra: str) -> tuple[str, str | None]:
    r = sh.run("users", "add", login, "--role", role, *extra)
    assert r.returncode == 0, r.stderr
    password = re.search(r"пароль: (\S+)", r.stdout).group(1)
    secret = re.search(r"secret=([A-Z2-7]+)", r.stdout)
    return password, secret.group(1) if secret else None


def login(sh: Shell, name: str, password: str, secret: str | None) -> str:
    args = ["login", "--login", name, "--password-stdin", "--print-token"]
    if secret:
        args += ["--otp", pyotp.TOTP(secret).now()]
    r = sh.run(*args, stdin=password + "\n")
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_init_sandbox_run_worker_reply_reaches_the_emulator(tmp_path):
    emulator_port, http_port = free_port(), free_port()
    sh = Shell(tmp_path, OTKLIK_VAR_DIR=str(tmp_path / "var"), OTKLIK_HTTP_PORT=str(http_port))
    r = sh.run("init", "--sandbox", "--platforms", "telegram", "--port-base", str(emulator_port))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "otklik.toml").exists()
    assert sh.run("config", "check").returncode == 0
    emulator = f"http://127.0.0.1:{emulator_port}"
    try:
        sandbox = sh.start("sandbox", "--only", "telegram", "--port-base", str(emulator_port))
        wait_for("the emulator", lambda: _answers(f"{emulator}/_sandbox/state"), timeout=60)
        sh.start("worker")
        sh.start("run")
        wait_for("the daemon", lambda: _answers(f"http://127.0.0.1:{http_port}/healthz"), timeout=90)
        # What `otklik sandbox` printed is the same configuration, to paste.
        printed = (tmp_path / "sandbox.log").read_text(encoding="utf-8")
        assert f'base_url = "{emulator}"' in printed and "OTKLIK_SECRET_SANDBOX_TELEGRAM_TOKEN" in printed

        text = "На улице Ленина у дома 5 третий день не горят фонари, прошу починить освещение"
        httpx.post(f"{emulator}/_sandbox/inject", json={"text": text}, timeout=5).raise_for_status()

        approver_pw, approver_totp = user(sh, "boss", "approver")
        assert sh.run("users", "roles", "boss", "curator").returncode == 0
        boss = login(sh, "boss", approver_pw, approver_totp)

        def a_case():
            out = sh.run("cases", "list", token=boss).stdout
            return re.search(r"#(\d+)\s+(\w+)", out)

        found = wait_for("the case", a_case)
        case_id, state = found.group(1), found.group(2)
        if state == "identified":  # the router was unsure: the curator routes it
            assert sh.run("cases", "route", case_id, "zhkh", token=boss).returncode == 0
        shown = sh.run("cases", "show", case_id, token=boss).stdout
        department = re.search(r'"executors": \[\s*"([^"]+)"', shown).group(1)
        executor_pw, _ = user(sh, "worker1", "executor", "--department", department)
        executor = login(sh, "worker1", executor_pw, None)
        reply = "Здравствуйте! Заявка передана в службу освещения, фонари починят в течение двух дней."
        r = sh.run("cases", "draft", case_id, reply, token=executor)
        assert r.returncode == 0, r.stderr
        r = sh.run("cases", "approve", case_id, token=boss)
        assert r.returncode == 0, r.stderr

        def posted():
            replies = httpx.get(f"{emulator}/_sandbox/replies", timeout=5).json()["replies"]
            return [x for x in replies if x.get("text") == reply]

        assert len(wait_for("the reply on the emulator", posted)) == 1
        time.sleep(2)  # and it stays posted once
        assert len(posted()) == 1
        assert sandbox.poll() is None
    finally:
        sh.stop_all()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code in (200, 503)
    except httpx.HTTPError:
        return False
