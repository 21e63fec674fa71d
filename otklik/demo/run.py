"""`otklik demo`: the whole pipeline on one machine, against the platform emulators.

Emulators and simulated people run inside this process; the daemon and the worker run as real
child processes (`otklik run`, `otklik worker`), exactly as in production, on an embedded SQLite
database and an embedded Redis under ./var/demo. With `--chaos` both children are SIGKILLed at
random moments and restarted; the summary then shows whether anything was lost or posted twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import select

from otklik.demo import humans as people
from otklik.demo.traffic import TrafficFeeder
from sandbox.registry import emulator_class
from sandbox.runner import ThreadedServer
from storage.db import Database
from storage.tables import DepartmentRow

DEMO_PLATFORMS = ("telegram", "vk", "ok", "max")  # social networks; the regional platforms run in `otklik sandbox`
# With --faults: every platform misbehaves now and then, on every kind of request.
FAULTS = [{"kind": "5xx", "probability": 0.05, "count": None},
          {"kind": "429", "probability": 0.03, "count": None, "retry_after": 1},
          {"kind": "timeout", "probability": 0.01, "count": None, "delay": 3.0},
          {"kind": "malformed", "probability": 0.01, "count": None}]  # the platforms whose emulator and connector take part


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kill_tree(pid: int) -> None:
    """SIGKILL a process and every descendant: RQ's work-horses run in sessions of their own."""
    import psutil

    try:
        procs = psutil.Process(pid).children(recursive=True) + [psutil.Process(pid)]
    except psutil.NoSuchProcess:
        return
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.send_signal(signal.SIGKILL)


@dataclass
class DemoOptions:
    duration: float = 60.0
    rate: float = 1.0  # citizen messages per second
    seed: int = 1
    chaos: bool = False
    var_dir: Path = Path("var/demo")
    platforms: tuple[str, ...] = DEMO_PLATFORMS
    workers: int = 1
    drain: float = 30.0  # after the traffic stops, how long to let the pipeline finish
    faults: bool = False  # platforms answer 5xx, 429 and time out now and then


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen | None = None
    kills: int = 0

    def start(self) -> None:
        out = self.log.open("ab")
        self.proc = subprocess.Popen(self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        if self.alive():
            kill_tree(self.proc.pid)
            self.proc.wait()
            self.kills += 1

    def stop(self, timeout: float = 20.0, hurry: threading.Event | None = None) -> None:
        """SIGTERM the child's process group and wait; SIGKILL it after `timeout` or as soon as
        `hurry` is set (a second Ctrl-C). Whatever of its group outlives it is killed too."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while self.alive() and time.monotonic() < deadline and not (hurry and hurry.is_set()):
                time.sleep(0.05)
            if self.alive():
                self.kill()
        if self.proc is not None:
            # The child ran in a session of its own (pgid = its pid): an orphan left in that group
            # (RQ's scheduler, a work-horse) goes with it.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)


@dataclass
class Demo:
    opts: DemoOptions
    servers: dict[str, ThreadedServer] = field(default_factory=dict)
    children: list[Child] = field(default_factory=list)
    api_url: str = ""
    hurry: threading.Event = field(default_factory=threading.Event)  # set by a second Ctrl-C

    def prepare(self) -> dict[str, str]:
        var = self.opts.var_dir
        if var.exists():
            from workers import embedded_redis

            embedded_redis.stop(var)
            shutil.rmtree(var)
        var.mkdir(parents=True)
        for name in self.opts.platforms:
            emulator = emulator_class(name)(seed=self.opts.seed)
            if self.opts.faults:
                for rule in FAULTS:
                    emulator.faults.add(rule)
            self.servers[name] = ThreadedServer(emulator).__enter__()
        port = free_port()
        self.api_url = f"http://127.0.0.1:{port}"
        config = var / "otklik.toml"
        config.write_text(self._config(port), encoding="utf-8")
        env = {**os.environ, "OTKLIK_CONFIG": str(config.resolve()), "OTKLIK_VAR_DIR": str(var.resolve())}
        for key in ("DATABASE_URL", "REDIS_URL", "OTKLIK_DATABASE_URL", "OTKLIK_REDIS_URL"):
            env.pop(key, None)  # the demo always runs on its own embedded stores
        for name in self.opts.platforms:
            for key, value in self.servers[name].emulator.demo_secrets().items():
                env[f"OTKLIK_SECRET_DEMO_{name.upper()}_{key.upper()}"] = value
        return env

    def _config(self, port: int) -> str:
        lines = ['profile = "severny"', f"http_port = {port}", "relay_interval = 0.2", "watch_interval = 5", ""]
        for name, server in self.servers.items():
            lines += ["[[sources]]", f'name = "demo_{name}"', f'platform = "{name}"', f'base_url = "{server.url}"',
                      "poll_interval = 0.5", ""]
            opts = server.emulator.demo_options()
            if opts:
                lines.append("[sources.options]\n" + "\n".join(f"{k} = {json.dumps(v)}" for k, v in opts.items()))
                lines.append("")
        return "\n".join(lines)

    def create_users(self, env: dict[str, str]) -> dict[str, str]:
        from otklik.accounts.secretbox import SecretBox, resolve_key
        from otklik.api import auth

        # The demo's own embedded database, whatever DATABASE_URL the calling shell has, and the key
        # its daemon will find (the configured one, else one generated under the demo's var dir).
        db = Database.connect(f"sqlite:///{Path(env['OTKLIK_VAR_DIR']) / 'otklik.db'}")
        box = SecretBox(resolve_key(env_key=env.get("OTKLIK_SECRET_KEY"), secrets_dir=env.get("OTKLIK_SECRETS_DIR"),
                                    var_dir=env["OTKLIK_VAR_DIR"]))
        totp: dict[str, str] = {}
        with db.session() as s:
            for login, role in (("curator", "curator"), ("approver", "approver")):
                user, _, secret = auth.create_user(s, login, role, password=people.DEMO_PASSWORD, box=box,
                                                   by="demo")
                if secret:
                    totp[login] = secret
            # One executor per department: each sees and answers only its department's cases.
            for dept in s.execute(select(DepartmentRow.id)).scalars():
                auth.create_user(s, people.executor_login(dept), "executor", password=people.DEMO_PASSWORD,
                                 department=dept, box=box, by="demo")
        db.dispose()
        return totp

    def create_console_users(self, env: dict[str, str]) -> dict:
        """People's own accounts for the console, beside the simulated staff (whose one-time codes
        they would otherwise use up): a curator, an executor of the roads department (the first
        department when there is none) and an approver."""
        from otklik.accounts.secretbox import SecretBox, resolve_key
        from otklik.api import auth

        db = Database.connect(f"sqlite:///{Path(env['OTKLIK_VAR_DIR']) / 'otklik.db'}")
        box = SecretBox(resolve_key(env_key=env.get("OTKLIK_SECRET_KEY"), secrets_dir=env.get("OTKLIK_SECRETS_DIR"),
                                    var_dir=env["OTKLIK_VAR_DIR"]))
        users = []
        with db.session() as s:
            departments = list(s.execute(select(DepartmentRow.id).order_by(DepartmentRow.id)).scalars())
            dept = "dorogi" if "dorogi" in departments else (departments[0] if departments else None)
            for login, role, department in (("console_curator", "curator", None),
                                            ("console_executor", "executor", dept),
                                            ("console_approver", "approver", None)):
                _, password, secret = auth.create_user(s, login, role, password=people.DEMO_PASSWORD, box=box,
                                                       department=department, by="demo")
                users.append({"login": login, "password": password, "totp_secret": secret, "role": role,
                              "department": department})
        db.dispose()
        return {"url": f"{self.api_url}/console/", "users": users}

    def start_children(self, env: dict[str, str]) -> None:
        py = [sys.executable, "-m", "otklik"]
        var = self.opts.var_dir
        self.children = [Child("daemon", py + ["run"], env, var / "daemon.log"),
                         Child("worker", py + ["worker", "--concurrency", str(self.opts.workers)], env,
                               var / "worker.log")]
        for child in self.children:
            child.start()

    def wait_api(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.api_url}/healthz", timeout=1).status_code in (200, 503):
                    return
            time.sleep(0.2)
        raise RuntimeError(f"the daemon did not answer on {self.api_url}; see {self.opts.var_dir}/daemon.log")

    def close(self) -> None:
        """Stop the children, the emulators and the embedded Redis, whatever else fails."""
        from workers import embedded_redis

        for child in self.children:
            with contextlib.suppress(Exception):
                child.stop(hurry=self.hurry)
        for server in self.servers.values():
            with contextlib.suppress(Exception):
                server.__exit__(None, None, None)
        embedded_redis.stop(self.opts.var_dir, timeout=2.0 if self.hurry.is_set() else 10.0)

    def on_interrupt(self, signum, frame) -> None:
        """First Ctrl-C (or SIGTERM): leave the main loop and shut down cleanly. Any further one
        only hurries the shutdown (SIGKILL instead of waiting): it never cuts it short, so no
        child, emulator or Redis is left behind."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self.hurry.set())
        raise KeyboardInterrupt


def console_text(console: dict) -> str:
    """The console's address and the people's logins, printed when the demo starts (Russian: for staff)."""
    lines = [f"Консоль: {console['url']}  (пароль у всех: {people.DEMO_PASSWORD})"]
    for u in console["users"]:
        code = f", секрет TOTP {u['totp_secret']}" if u["totp_secret"] else ", без второго фактора"
        lines.append(f"  {u['role']:<10} {u['login']}{code}")
    return "\n".join(lines)


def run_demo(opts: DemoOptions, view=None) -> dict:
    from otklik.demo.summary import collect

    demo = Demo(opts)
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, demo.on_interrupt)
    env = demo.prepare()
    totp = demo.create_users(env)
    console = demo.create_console_users(env)
    rng = random.Random(opts.seed)
    feeder = TrafficFeeder({n: s.url for n, s in demo.servers.items()}, seed=opts.seed, rate=opts.rate)
    stop = threading.Event()
    try:
        demo.start_children(env)
        demo.wait_api()
        print(console_text(console), file=sys.stderr, flush=True)  # once the address answers
        humans = people.Humans(demo.api_url, totp)
        traffic = threading.Thread(target=feeder.run, args=(stop, opts.duration), daemon=True)
        traffic.start()
        started = time.monotonic()
        next_kill = started + rng.uniform(3, 8)
        db_url = f"sqlite:///{(opts.var_dir / 'otklik.db').resolve()}"
        db = Database.connect(db_url, migrate=False)
        while True:
            elapsed = time.monotonic() - started
            traffic_done = not traffic.is_alive()
            if opts.chaos and not traffic_done and time.monotonic() >= next_kill:
                victim = rng.choice(demo.children)
                victim.kill()
                time.sleep(rng.uniform(0.1, 1.0))
                victim.start()
                next_kill = time.monotonic() + rng.uniform(3, 8)
            for child in demo.children:  # a child that died on its own is restarted too
                if not child.alive():
                    child.start()
            try:
                humans.work_once()
                summary = collect(db, demo, feeder)
            except Exception as exc:  # noqa: BLE001 - a child being killed mid-request is the point of --chaos
                print(f"demo: {type(exc).__name__} while the children restart; going on", file=sys.stderr)
                if elapsed > opts.duration + opts.drain + 60:
                    raise
                time.sleep(0.5)
                continue
            if view:
                view(summary, elapsed)
            if traffic_done and (summary["settled"] or elapsed > opts.duration + opts.drain):
                break
            time.sleep(0.5)
        humans.close()
        db.dispose()
        final_db = Database.connect(db_url, migrate=False)
        final = collect(final_db, demo, feeder)
        final["kills"] = {c.name: c.kills for c in demo.children}
        from otklik.demo.summary import timeliness, timeliness_text

        final["console"] = console
        final["timeliness"] = timeliness(final_db)  # the report the head gets, for the demo's day
        final_db.dispose()
        print(timeliness_text(final["timeliness"]), file=sys.stderr)
        return final
    finally:
        stop.set()
        demo.close()
