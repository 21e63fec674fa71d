"""What the technical operator sees without reading the code: one log line per stage of a
message, keyed by ids and never by text or author; log levels per component; /healthz with the
workers, the queue and the pipeline's backlog; Prometheus metrics after real traffic; and a Grafana
dashboard that uses only metric names the daemon exports."""

from __future__ import annotations

import io
import json
import logging
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from otklik import logs, metrics, observe
from otklik.demo.humans import Humans
from otklik.demo.run import free_port
from otklik.settings import Settings
from sandbox.registry import emulator_class
from sandbox.runner import serving
from storage.db import Database
from storage.tables import CaseRow, MessageRow, OutboxRow
from tests.otklik import stack
from tests.otklik.waiting import wait_for

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana" / "otklik.json"
AUTHOR = "Евлампия Секретная"
TEXT = "Добрый день! На улице Подснежников не горят фонари уже неделю, темно и опасно."


def exported_names() -> set[str]:
    """Every series name /metrics can show, labelled ones included before their first sample."""
    names = set()
    for family in metrics.REGISTRY.collect():
        if family.type == "counter":
            names |= {family.name + "_total", family.name + "_created"}
        elif family.type == "histogram":
            names |= {family.name + s for s in ("_bucket", "_sum", "_count", "_created")}
        else:
            names.add(family.name)
    return names


def test_dashboard_uses_only_exported_metrics():
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert exprs
    used = set()
    for expr in exprs:
        names = set(re.findall(r"\botklik_[a-z_]+\b", expr))
        assert names, expr
        assert names <= exported_names(), (expr, names - exported_names())
        used |= names
    # The figures the operator asked for are all on it.
    for name in ("otklik_messages_stored_total", "otklik_pipeline_lag_seconds", "otklik_pipeline_backlog",
                 "otklik_cases_open", "otklik_cases_overdue", "otklik_deliveries",
                 "otklik_http_request_duration_seconds_bucket", "otklik_workers_alive"):
        assert name in used, name


def test_log_levels_per_component():
    assert logs.parse_levels("pipeline=DEBUG, poller=warning,rq.worker=ERROR") == {
        "otklik.pipeline": "DEBUG", "otklik.poller": "WARNING", "rq.worker": "ERROR"}
    for bad in ("pipeline", "pipeline=LOUD", "=DEBUG"):
        with pytest.raises(ValueError, match="pipeline|level|component"):
            logs.parse_levels(bad)
    with pytest.raises(ValueError, match="LOUD"):
        Settings(log_levels="pipeline=LOUD")
    stream = io.StringIO()
    try:
        logs.setup("INFO", stream=stream, levels="pipeline=DEBUG,poller=WARNING")
        logging.getLogger("otklik.pipeline").debug("pipeline detail")
        logging.getLogger("otklik.poller").info("poller chatter")
        logging.getLogger("otklik.relay").info("relay news")
        logging.getLogger("otklik.relay").debug("relay detail")
    finally:
        for name in ("otklik.pipeline", "otklik.poller"):
            logging.getLogger(name).setLevel(logging.NOTSET)
    said = [json.loads(line)["msg"] for line in stream.getvalue().splitlines()]
    assert said == ["pipeline detail", "relay news"]


def test_sla_counts_open_and_overdue_cases_per_department(db):
    from otklik.services import cases
    from router.classifier import Router

    with db.session() as s:
        for i, text in enumerate(["На улице Садовой огромные ямы на дороге", "Не вывозят мусор во дворе"]):
            msg = MessageRow(source="tg", platform="telegram", external_id=f"1:{i}", author_id="9", author_name="А",
                             thread={"kind": "chat"}, text=text, created_at=datetime.now(UTC), attachments=[], raw={},
                             processed=True)
            s.add(msg)
            s.flush()
            cases.open_or_update(s, msg, Router.load().route(text), channel="social", profile_name="severny")
    with db.session() as s:
        rows = s.execute(sa.select(CaseRow.executors, CaseRow.answer_by)).all()
        now_sla = observe.sla_by_department(s)
        later = observe.sla_by_department(s, at=max(a for _, a in rows) + timedelta(seconds=1))
    depts = [d for executors, _ in rows for d in (executors or [observe.UNASSIGNED])]
    assert sum(n for n, _ in now_sla.values()) == len(depts) and all(o == 0 for _, o in now_sla.values())
    assert {d: o for d, (_, o) in later.items()} == {d: depts.count(d) for d in set(depts)}


def sample(text: str, name: str, **labels) -> float | None:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return None


def test_a_message_full_path_in_logs_health_and_metrics(tmp_path, database_url, redis_url):
    emulator = emulator_class("telegram")(seed=3)
    with serving(emulator) as tg:
        servers = {"telegram": tg}
        config = tmp_path / "otklik.toml"
        stack.write_config(config, servers, poll_interval=0.3)
        env = stack.environment(config, tmp_path, database_url, redis_url, servers)
        db = Database.connect(database_url)
        totp = stack.create_users(database_url)
        port = free_port()
        daemon, worker = stack.daemon("daemon", env, port, tmp_path), stack.worker("worker", env, tmp_path)
        api = f"http://127.0.0.1:{port}"
        try:
            daemon.start()
            worker.start()
            wait_for(lambda: httpx.get(f"{api}/healthz", timeout=2).json()["workers_alive"] >= 1, 90)
            created = tg.call(emulator.inject, {"text": TEXT, "chat": "group", "author_name": AUTHOR})
            external = f"{created['chat_id']}:{created['message_id']}"

            def case_of():
                with db.session() as s:
                    return s.execute(sa.select(MessageRow.id, CaseRow.id)
                                     .join(CaseRow, CaseRow.message_id == MessageRow.id)
                                     .where(MessageRow.external_id == external)).first()

            message_id, case_id = wait_for(case_of, 60)
            humans = Humans(api, totp)

            def posted():
                humans.work_once()
                with db.session() as s:
                    return s.execute(sa.select(OutboxRow.id).where(
                        OutboxRow.case_id == case_id, OutboxRow.status == "posted")).scalar_one_or_none()

            outbox_id = wait_for(posted, 90, step=0.5)
            humans.close()
            health = httpx.get(f"{api}/healthz").json()
            body = httpx.get(f"{api}/metrics").text
        finally:
            worker.stop()
            daemon.stop()
            db.dispose()
        lines = stack.log_lines(tmp_path / "daemon.log") + stack.log_lines(tmp_path / "worker.log")
        mine = [e for e in lines if e.get("message_id") == message_id or e.get("case_id") == case_id
                or e.get("outbox_id") == outbox_id]
        stages = {e.get("stage"): e for e in mine if e.get("stage")}
        for stage in ("stored", "moderated", "routed", "case_opened", "draft", "approval", "enqueued", "posted"):
            assert stage in stages, (stage, sorted(stages))
        assert stages["moderated"]["decision"] == "accept"
        assert stages["routed"]["case_id"] == case_id and "topic_group" in stages["routed"]
        assert isinstance(stages["routed"]["executors"], list)
        assert stages["posted"]["case_id"] == case_id and stages["posted"]["outbox_id"] == outbox_id
        for e in mine:  # keyed by ids
            assert "message_id" in e or "case_id" in e or "outbox_id" in e
        raw = (tmp_path / "daemon.log").read_text(encoding="utf-8") + (tmp_path / "worker.log").read_text(encoding="utf-8")
        for secret in (AUTHOR, AUTHOR.split()[0], "Подснежников", TEXT[:30]):
            assert secret not in raw, secret
        assert any(e.get("msg") == "worker started" for e in lines)
        assert any(e.get("msg") == "job done" and e.get("outcome") == "posted" for e in lines)

        assert health["workers_alive"] >= 1 and health["workers"]
        assert health["pipeline"]["unprocessed"] == 0 and health["pipeline"]["oldest_age_seconds"] is None
        assert health["ha"]["role"] == "active" and "poll:telegram" in health["ha"]["runs"]
        if database_url.startswith("postgresql"):  # leases are written where standbys may contend
            assert health["ha"]["leases"]["poll:telegram"]["holder"] == health["ha"]["holder"]
        assert "queue_lag_seconds" in health
        assert sample(body, "otklik_messages_stored_total", source="telegram") >= 1
        assert sample(body, "otklik_pipeline_backlog") == 0 and sample(body, "otklik_pipeline_lag_seconds") == 0
        assert sample(body, "otklik_deliveries", status="posted", platform="telegram") == 1
        assert sample(body, "otklik_http_request_duration_seconds_count", route="/healthz", method="GET",
                      status="200") >= 1
        assert sample(body, "otklik_http_request_duration_seconds_count", route="/api/cases/{id}/approve",
                      method="POST", status="200") == 1
        assert sample(body, "otklik_leases_held") >= 1
