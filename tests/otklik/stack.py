"""A real deployment for end-to-end tests: platform emulators, `otklik run` daemons and `otklik
worker` processes as child processes on one database and one Redis, and the staff users the
demo's simulated people log in as."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from otklik.demo import humans as people
from otklik.demo.run import Child
from sandbox.runner import ThreadedServer
from storage.db import Database
from storage.tables import DepartmentRow


def write_config(path: Path, servers: dict[str, ThreadedServer], *, poll_interval: float = 0.5) -> None:
    lines = ['profile = "severny"', "relay_interval = 0.2", "watch_interval = 5", ""]
    for name, server in servers.items():
        lines += ["[[sources]]", f'name = "{name}"', f'platform = "{name}"', f'base_url = "{server.url}"',
                  f"poll_interval = {poll_interval}"]
        opts = {**server.emulator.demo_options(), **({"poll_timeout": 1} if name == "telegram" else {})}
        if opts:
            lines += ["[sources.options]"] + [f"{k} = {json.dumps(v)}" for k, v in opts.items()]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


def environment(config: Path, var_dir: Path, database_url: str, redis_url: str,
                servers: dict[str, ThreadedServer], **extra: str) -> dict[str, str]:
    env = {**os.environ, "OTKLIK_CONFIG": str(config), "OTKLIK_VAR_DIR": str(var_dir),
           "DATABASE_URL": database_url, "REDIS_URL": redis_url, **extra}
    for name, server in servers.items():
        for key, value in server.emulator.demo_secrets().items():
            env[f"OTKLIK_SECRET_{name.upper()}_{key.upper()}"] = value
    return env


def daemon(name: str, env: dict[str, str], port: int, log_dir: Path) -> Child:
    return Child(name, [sys.executable, "-m", "otklik", "run"], {**env, "OTKLIK_HTTP_PORT": str(port)},
                 log_dir / f"{name}.log")


def worker(name: str, env: dict[str, str], log_dir: Path) -> Child:
    return Child(name, [sys.executable, "-m", "otklik", "worker"], env, log_dir / f"{name}.log")


def create_users(database_url: str) -> dict[str, str]:
    """The demo's staff (curator, approver, an executor per department); returns their TOTP secrets.
    The secret key comes from OTKLIK_SECRET_KEY, which the tests' conftest sets for children too."""
    from otklik.accounts.secretbox import SecretBox, resolve_key
    from otklik.api import auth

    db = Database.connect(database_url)
    box = SecretBox(resolve_key(env_key=os.environ.get("OTKLIK_SECRET_KEY"), secrets_dir=None, var_dir="/nonexistent"))
    totp: dict[str, str] = {}
    with db.session() as s:
        for login, role in (("curator", "curator"), ("approver", "approver")):
            _, _, secret = auth.create_user(s, login, role, password=people.DEMO_PASSWORD, box=box, by="test")
            if secret:
                totp[login] = secret
        for dept in s.execute(DepartmentRow.__table__.select().with_only_columns(DepartmentRow.id)).scalars():
            auth.create_user(s, people.executor_login(dept), "executor", password=people.DEMO_PASSWORD,
                             department=dept, box=box, by="test")
    db.dispose()
    return totp


def log_lines(path: Path) -> list[dict]:
    out = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            out.append({"raw": line})
    return out
