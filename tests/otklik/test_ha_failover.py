"""Two daemons and three workers on one PostgreSQL, citizens writing and staff answering, while
the active daemon is SIGKILLed again and again (and restarted, to stand by): nothing stored is
lost or stored twice, no message is handled twice, no case opened twice, no reply posted twice
(as the emulated platforms saw it), and intake resumes within 10 s of each kill."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from types import SimpleNamespace

import httpx
import pytest
import sqlalchemy as sa

from otklik.demo.humans import Humans
from otklik.demo.run import free_port
from otklik.demo.summary import collect
from otklik.demo.traffic import TrafficFeeder
from sandbox.registry import emulator_class
from sandbox.runner import ThreadedServer
from storage.db import Database
from storage.tables import AuditRow, CaseRow, LeaseRow, MessageRow
from tests.otklik import stack
from tests.otklik.waiting import wait_for

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not os.environ.get("DATABASE_URL"), reason="several daemons need PostgreSQL")]

PLATFORMS = ("telegram", "vk")
TRAFFIC_SECONDS = 60
KILLS = 3
INTAKE_BOUND = 10.0  # seconds from a kill to the next message stored, from every source


def poll_holders(db: Database) -> dict[str, str]:
    with db.session() as s:
        rows = s.execute(sa.select(LeaseRow.name, LeaseRow.holder, LeaseRow.expires_at)).all()
    t = time.time()
    return {name: holder for name, holder, exp in rows if name.startswith("poll:") and exp.timestamp() > t}


def pid_of(holder: str) -> int:
    return int(holder.split(":")[-2])


def stored_since(db: Database, at: float) -> set[str]:
    """Sources that stored a message after `at` (epoch seconds)."""
    with db.session() as s:
        rows = s.execute(sa.select(MessageRow.source, sa.func.max(MessageRow.stored_at))
                         .group_by(MessageRow.source)).all()
    return {src for src, last in rows if last is not None and last.timestamp() > at}


def test_active_daemon_killed_repeatedly_loses_and_repeats_nothing(tmp_path, database_url, redis_url):
    servers = {name: ThreadedServer(emulator_class(name)(seed=11)).__enter__() for name in PLATFORMS}
    children = []
    stop = threading.Event()
    db = Database.connect(database_url)  # migrates before anyone starts
    try:
        totp = stack.create_users(database_url)
        config = tmp_path / "otklik.toml"
        stack.write_config(config, servers)
        ports = {"daemon_a": free_port(), "daemon_b": free_port()}
        daemons = {}
        for name, port in ports.items():
            var = tmp_path / name
            var.mkdir()
            env = stack.environment(config, var, database_url, redis_url, servers)
            daemons[name] = stack.daemon(name, env, port, tmp_path)
        wenv = stack.environment(config, tmp_path / "workers", database_url, redis_url, servers)
        (tmp_path / "workers").mkdir()
        workers = [stack.worker(f"worker_{i}", wenv, tmp_path) for i in range(3)]
        children = list(daemons.values()) + workers
        for child in children:
            child.start()
        for port in ports.values():
            wait_for(lambda p=port: httpx.get(f"http://127.0.0.1:{p}/healthz", timeout=2).status_code == 200, 90)
        wait_for(lambda: len(poll_holders(db)) == len(PLATFORMS), 30)

        humans = Humans(f"http://127.0.0.1:{ports['daemon_a']}", totp)
        feeder = TrafficFeeder({n: s.url for n, s in servers.items()}, seed=11, rate=2.0)
        traffic = threading.Thread(target=feeder.run, args=(stop, TRAFFIC_SECONDS), daemon=True)
        traffic.start()

        def staff_round() -> None:
            for name, port in ports.items():  # whichever daemon answers: sessions live in the database
                if daemons[name].alive():
                    humans.api = f"http://127.0.0.1:{port}"
                    try:
                        humans.work_once()
                        return
                    except httpx.HTTPError:
                        continue

        resumed_after: list[float] = []
        by_pid = {}
        started = time.monotonic()
        next_kill = started + 8
        while traffic.is_alive():
            staff_round()
            # A kill only while citizens keep writing long enough to see intake resume.
            traffic_left = TRAFFIC_SECONDS - (time.monotonic() - started)
            if len(resumed_after) < KILLS and time.monotonic() >= next_kill and traffic_left > 15:
                by_pid = {c.proc.pid: c for c in daemons.values() if c.alive()}
                holders = poll_holders(db)
                victim = by_pid.get(pid_of(next(iter(holders.values())))) if holders else None
                if victim is not None:
                    killed_at = time.time()
                    victim.kill()
                    victim.start()  # comes back as the standby
                    wait_for(lambda k=killed_at: stored_since(db, k) >= set(PLATFORMS), 30, step=0.1)
                    resumed_after.append(time.time() - killed_at)
                next_kill = time.monotonic() + 4
            time.sleep(0.3)

        # Drained: everything stored is processed, every approved reply delivered.
        def settled():
            staff_round()
            summary = collect(db, SimpleNamespace(servers=servers), feeder)
            return summary if summary["settled"] else None

        summary = wait_for(settled, 180, step=1.0)
        print(f"intake resumed after kills (s): {[round(x, 2) for x in resumed_after]}; "
              f"received {summary['received']}, deliveries {summary['deliveries']}")
        assert len(resumed_after) == KILLS and max(resumed_after) < INTAKE_BOUND, resumed_after
        assert summary["received"] > 40
        assert summary["lost"] == 0 and summary["stored_twice"] == 0 and summary["stored"] == summary["received"]
        assert summary["duplicates_posted"] == 0
        deliveries = summary["deliveries"]
        posted = deliveries.get("posted", 0)
        assert posted > 0
        assert deliveries.get("failed", 0) == summary["failed_target_deleted"]
        assert posted + deliveries.get("uncertain", 0) + summary["failed_target_deleted"] == summary["approved"]
        assert posted <= summary["replies_on_platforms"] <= posted + deliveries.get("uncertain", 0)
        with db.session() as s:
            # One case per message, opened once: the "identified" audit entry commits with the case.
            per_message = Counter(s.execute(sa.select(CaseRow.message_id)).scalars())
            opened = Counter(s.execute(sa.select(AuditRow.entity_id).where(AuditRow.action == "identified")).scalars())
            dropped = Counter(s.execute(sa.select(AuditRow.entity_id).where(AuditRow.action == "dropped")).scalars())
            revisions = dict(s.execute(sa.select(MessageRow.id, MessageRow.revision)).all())
        assert per_message and max(per_message.values()) == 1
        assert len(opened) == len(per_message) and max(opened.values()) == 1
        assert all(n <= revisions[int(mid)] for mid, n in dropped.items()), dropped  # once per text at most
        # Both daemons took turns: each held the poll leases at some point.
        logs = {name: stack.log_lines(tmp_path / f"{name}.log") for name in daemons}
        for name, lines in logs.items():
            assert any(e.get("msg") == "lease acquired" for e in lines), name
    finally:
        stop.set()
        for child in children:
            child.stop(timeout=15)
        for server in servers.values():
            server.__exit__(None, None, None)
        db.dispose()
