"""Opening the database: SQLite (WAL) under ./var by default, PostgreSQL when DATABASE_URL is set.

Migrations run on every connect, so `otklik run`, `otklik demo` and a worker never see an old
schema. Every way of failing to open becomes one StorageUnavailable with a sentence a person can act on.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from otklik import metrics
from otklik.exceptions import StorageUnavailable
from otklik.models import Batch
from storage import messages as message_store

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
log = logging.getLogger("otklik.storage")


def normalize_url(url: str) -> str:
    """`postgresql://` means psycopg 3 here (the only PostgreSQL driver we install)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def in_schema(url: str, schema: str) -> str:
    """A PostgreSQL URL whose connections work in `schema` (a test's or a benchmark's own), and name
    it as their application, so that stragglers can be found before the schema is dropped."""
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}&application_name={schema}"


def default_url(var_dir: str | Path = "var") -> str:
    return f"sqlite:///{Path(var_dir) / 'otklik.db'}"


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets the daemon write while workers and the API read; synchronous=NORMAL in WAL mode
    # survives a process crash (SIGKILL) without losing committed transactions.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=15000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def make_engine(url: str, schema: str | None = None) -> Engine:
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # hide_parameters: a failing statement's message never carries the row (names, texts).
        engine = create_engine(url, connect_args={"timeout": 15}, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; take write locks at BEGIN instead so
        # two processes never deadlock upgrading a read lock.
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))

        @event.listens_for(engine, "connect")
        def _no_autobegin(dbapi_conn, _record):
            dbapi_conn.isolation_level = None

        return engine
    connect_args = {"connect_timeout": 5}
    if schema:
        connect_args["options"] = f"-csearch_path={schema}"
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args, hide_parameters=True)


def _explain(url: str, exc: Exception) -> StorageUnavailable:
    safe = make_url(normalize_url(url)).render_as_string(hide_password=True)
    detail = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc) else type(exc).__name__
    if "file is not a database" in detail or "malformed" in detail:
        return StorageUnavailable(
            f"the database file in {safe} is corrupt ({detail}); move it aside and start again, "
            "or restore it from a backup")
    return StorageUnavailable(f"cannot open the database {safe}: {detail}")


class Database:
    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def connect(cls, url: str | None = None, *, migrate: bool = True, schema: str | None = None) -> Database:
        if url is None:
            from otklik.settings import get_settings

            url = get_settings().database_url
        try:
            engine = make_engine(url, schema)
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            db = cls(engine, url)
            if migrate:
                db.upgrade()
            return db
        except (OperationalError, DatabaseError) as exc:
            raise _explain(url, exc) from None

    def upgrade(self) -> None:
        from storage.migrate import upgrade

        try:
            upgrade(self.engine)
        except (OperationalError, DatabaseError) as exc:
            raise _explain(self.url, exc) from None

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed on success, rolled back on any error."""
        with self._sessions() as session, session.begin():
            yield session

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def dispose(self) -> None:
        self.engine.dispose()

    # Convenience entry points used by connectors' tests and the poller.
    def ingest(self, source: str, batch: Batch, platform: str | None = None) -> message_store.IngestResult:
        with self.session() as s:
            result = message_store.ingest(s, source, batch, platform)
        metrics.note_store(source)
        if result.new:
            metrics.messages_stored.labels(source).inc(result.new)
        for message_id in result.stored_ids:  # new and edited ones: what the pipeline will take up
            log.info("message stored", extra={"stage": "stored", "message_id": message_id, "source": source})
        return result

    def get_cursor(self, source: str) -> str | None:
        with self.session() as s:
            return message_store.get_cursor(s, source)

    def count_messages(self, source: str | None = None) -> int:
        with self.session() as s:
            return message_store.count(s, source)
