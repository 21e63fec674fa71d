"""`otklik backup PATH` and `otklik restore PATH` for the embedded SQLite database.

The backup uses SQLite's online backup API: it may run while the daemon and the workers write, and
gives one consistent snapshot (with the cursors, the outbox and the deliveries of one moment).
Restoring replaces the live database, so it refuses while a daemon or worker of this var dir runs.
PostgreSQL is backed up with its own tools (`pg_dump -Fc`, `pg_restore`; see README)."""

from __future__ import annotations

import argparse
import contextlib
import os
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

from otklik.exceptions import OtklikError
from otklik.settings import Settings, load_settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("backup", help="copy the embedded SQLite database to PATH, safely while it runs")
    p.add_argument("path", type=Path)
    p.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    p.set_defaults(func=cmd_backup)
    p = sub.add_parser("restore", help="replace the embedded SQLite database with the backup at PATH")
    p.add_argument("path", type=Path)
    p.set_defaults(func=cmd_restore)


def sqlite_file(settings: Settings) -> Path:
    url = make_url(settings.database_url or "")
    if not url.drivername.startswith("sqlite"):
        raise OtklikError("the database is not the embedded SQLite: back up PostgreSQL with "
                          "pg_dump -Fc and restore with pg_restore (see README, Backups)")
    if not url.database or url.database == ":memory:":
        raise OtklikError("the SQLite database is in memory: nothing to back up")
    return Path(url.database)


def _copy(source: sqlite3.Connection, target: sqlite3.Connection) -> None:
    # One step, under one read transaction: a consistent snapshot. In WAL mode (the daemon's) writers
    # go on meanwhile; copying in several steps would restart whenever another process wrote.
    source.backup(target, pages=-1)


def _check(path: Path) -> None:
    """PATH is a readable SQLite database of otklik (has the migrations' table), or say why not."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            ok = conn.execute("PRAGMA quick_check").fetchone()[0]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise OtklikError(f"{path} is not a readable SQLite database ({exc})") from None
    if ok != "ok":
        raise OtklikError(f"{path} is damaged: {ok}")
    if "alembic_version" not in tables:
        raise OtklikError(f"{path} is not an otklik database (no alembic_version table)")


def backup(settings: Settings, path: Path, *, force: bool = False) -> Path:
    live = sqlite_file(settings)
    if not live.exists():
        raise OtklikError(f"no database at {live} yet: nothing to back up")
    if path.exists() and not force:
        raise OtklikError(f"{path} exists; --force overwrites it")
    tmp = path.with_name(path.name + ".part")
    tmp.unlink(missing_ok=True)
    with contextlib.closing(sqlite3.connect(live, timeout=30)) as src, contextlib.closing(sqlite3.connect(tmp)) as dst:
        _copy(src, dst)
    _check(tmp)
    os.replace(tmp, path)  # a half-written backup never has the final name
    return path


def restore(settings: Settings, path: Path) -> Path:
    from otklik.cli.stop import running

    if not path.is_file():
        raise OtklikError(f"{path}: no such backup file")
    live = sqlite_file(settings)
    alive = running(settings.var_dir)
    if alive:
        who = ", ".join(f"{p.role} (pid {p.pid})" for p in alive)
        raise OtklikError(f"{who} of {settings.var_dir} still running: `otklik stop` first, then restore")
    _check(path)
    live.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(path)) as src, contextlib.closing(sqlite3.connect(live, timeout=30)) as dst:
        _copy(src, dst)
    return live


def cmd_backup(args: argparse.Namespace) -> int:
    path = backup(load_settings(), args.path, force=args.force)
    print(f"backed up to {path} ({path.stat().st_size} bytes)")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    live = restore(load_settings(), args.path)
    print(f"restored {args.path} into {live}; the daemon resumes from the backup's cursors")
    return 0
