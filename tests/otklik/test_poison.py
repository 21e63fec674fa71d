"""Chaos: a running daemon gets poison between normal messages, on Telegram and «Камчатка в
порядке» — NUL bytes, lone surrogates, a 300 KB text, control characters only, fields of the wrong
type or size. The normal messages before and after are stored, moderated and routed; the poison is
stored sanitised or quarantined; /healthz shows the sources degraded with the count; the daemon's
log holds none of the injected names and texts. On SQLite, and on PostgreSQL with DATABASE_URL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from otklik.demo.run import free_port
from sandbox.registry import emulator_class
from sandbox.runner import serving
from sandbox.telegram.world import GROUP
from storage.db import Database
from storage.tables import CaseRow, MessageRow, QuarantineRow, VerdictRow
from tests.otklik.waiting import wait_for

pytestmark = pytest.mark.slow

# Everything a log line must never show: the names and texts of the poison.
NAMES = ["Отравитель Нулевой", "Суррогат Одинокий", "Громадина Текстовая", "Управляющий Символ",
         "Неверный Тип", "Камчадал Ядовитый", "Камчадал Длинный"]
TEXTS = ["ядовитая строка с нулём", "ядовитый суррогат", "ядовитая громадина", "ядовитый тип поля",
         "ядовитая камчатка", "ядовитая категория"]


def tg_poison(emulator) -> list[str]:
    """Runs on the emulator's loop. Returns the external ids of the poison messages."""
    world, ids = emulator.world, []

    def send(sender: dict, text: str) -> None:
        msg = world.new_message(GROUP, sender, text)
        world.queue.push("message", msg)
        ids.append(f"{GROUP['id']}:{msg['message_id']}")

    send({"id": 901, "is_bot": False, "first_name": "Отравитель\x00", "last_name": "Нулевой"},
         "Прорвало трубу, ядовитая строка с нулём \x00\x00 на Лесной")
    send({"id": 902, "is_bot": False, "first_name": "Суррогат", "last_name": "Одинокий\ud800"},
         "Не горит фонарь \ud800\udfff ядовитый суррогат \udc00")
    send({"id": 903, "is_bot": False, "first_name": "Громадина Текстовая"},
         "ядовитая громадина: яма на дороге " + "я" * 300_000)
    send({"id": 904, "is_bot": False, "first_name": "Управляющий Символ"}, "\x01\x02\x03\x1b\x7f\x85")
    # A field of the wrong type and size: a sender id that is a 150-character string. The parser
    # passes it on; no author_id column takes it, so the message is quarantined.
    send({"id": "неверный-" + "9" * 141, "is_bot": False, "first_name": "Неверный Тип",
          "username": "u" * 700}, "ядовитый тип поля: мусор не вывозят")
    emulator._updates_changed()
    return ids


def kam_poison(emulator) -> list[str]:
    """Created and spoilt in one step on the emulator's loop, before any poll can see it."""
    w, ids = emulator.world, []
    msg = w.create(text="Во дворе ядовитая камчатка\x00 не убран снег \ud83d", author_id=1, author_name="X")
    msg["author"]["display_name"] = "Камчадал\x00 Ядовитый\udfff"
    msg["category"] = {"group": "Благоустройство\x07", "topic": "ядовитая категория " + "т" * 1000}
    ids.append(str(msg["id"]))
    msg = w.create(text="Снег не убран, ядовитая камчатка", author_id=2, author_name="X")
    msg["author"] = {"esia_oid": "9" * 150, "display_name": "Камчадал Длинный"}  # no author_id column takes it
    ids.append(str(msg["id"]))
    return ids


def tg_broken(emulator) -> None:
    """An update whose fields have the wrong types: a date that is a word, a text that is a list."""
    msg = {"message_id": 9999, "chat": GROUP, "date": "вчера", "text": ["ядовитый", "список"],
           "from": {"id": 905, "is_bot": False, "first_name": "Неверный Тип"}}
    emulator.world.queue.push("message", msg)
    emulator._updates_changed()


def kam_broken(emulator) -> None:
    msg = emulator.world.create(text="ядовитая камчатка: время числом", author_id=3, author_name="X")
    msg["posted_at"] = 1_700_000_000
    msg["author"]["display_name"] = {"имя": "Камчадал Ядовитый"}


def parser_is_total(platform: str, breaks) -> bool:
    """Whether this platform's parser sets an unreadable item aside (Batch.rejected) instead of
    failing the whole fetch: the parsers work of issue 15, merged separately. Asked of the
    connector itself against its own emulator, so the answer follows the code, not a flag."""
    import asyncio

    from connectors.base import SourceConfig
    from connectors.registry import connector_class

    emulator = emulator_class(platform)(seed=1)
    with serving(emulator) as server:
        server.call(breaks, emulator)
        cfg = SourceConfig(name="probe", platform=platform, base_url=server.url, secrets=emulator.demo_secrets(),
                           options={**emulator.demo_options(), "poll_timeout": 0})
        connector = connector_class(platform)(cfg)

        async def fetch():
            try:
                return await connector.fetch(None)
            finally:
                await connector.aclose()
        try:
            return bool(asyncio.run(fetch()).rejected)
        except Exception:
            return False


@pytest.fixture
def stack(tmp_path: Path, database_url: str, redis_url: str):
    tg_emu = emulator_class("telegram")(seed=5)
    kam_emu = emulator_class("kamchatka")(seed=5)
    with serving(tg_emu) as tg, serving(kam_emu) as kam:
        port = free_port()
        config = tmp_path / "otklik.toml"
        lines = ['profile = "sobolevo"', f"http_port = {port}", "relay_interval = 0.5", ""]
        for name, platform, server, channel in (("tg", "telegram", tg, "social"),
                                                ("kam", "kamchatka", kam, "kamchatka")):
            lines += ["[[sources]]", f'name = "{name}"', f'platform = "{platform}"', f'base_url = "{server.url}"',
                      f'profile_channel = "{channel}"', "poll_interval = 0.3"]
            opts = {**server.emulator.demo_options(), **({"poll_timeout": 1} if platform == "telegram" else {})}
            if opts:
                lines += ["[sources.options]"] + [f"{k} = {json.dumps(v)}" for k, v in opts.items()]
            lines.append("")
        config.write_text("\n".join(lines), encoding="utf-8")
        env = {**os.environ, "OTKLIK_CONFIG": str(config), "OTKLIK_VAR_DIR": str(tmp_path),
               "DATABASE_URL": database_url, "REDIS_URL": redis_url}
        for name, server in (("TG", tg), ("KAM", kam)):
            for key, value in server.emulator.demo_secrets().items():
                env[f"OTKLIK_SECRET_{name}_{key.upper()}"] = value
        log_path = tmp_path / "daemon.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen([sys.executable, "-m", "otklik", "run"], env=env, stdout=log, stderr=log)
            api = f"http://127.0.0.1:{port}"
            db = Database.connect(database_url)
            try:
                wait_for(lambda: httpx.get(f"{api}/healthz", timeout=2).status_code == 200, 60)
                yield {"tg": tg, "kam": kam, "api": api, "db": db, "proc": proc, "log": log_path}
            finally:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                    try:
                        proc.wait(30)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                db.dispose()


def normal(server, text: str, **extra) -> str:
    created = server.call(server.emulator.inject, {"text": text, **extra})
    if "chat_id" in created:
        return f"{created['chat_id']}:{created['message_id']}"
    return str(created["id"])


def test_poison_never_blocks_intake(stack):
    tg, kam, api, db = stack["tg"], stack["kam"], stack["api"], stack["db"]
    before = {("tg", normal(tg, "Добрый день! На улице Ленина не горят фонари уже неделю.", chat="group")),
              ("kam", normal(kam, "Во дворе дома 3 по улице Мира не вывозят мусор"))}
    tg_bad = [("tg", ext) for ext in tg.call(tg_poison, tg.emulator)]
    kam_bad = [("kam", ext) for ext in kam.call(kam_poison, kam.emulator)]
    poison = set(tg_bad + kam_bad)
    # Items no parser can read go in only where the parser sets them aside; a parser that fails
    # the whole fetch on them would stall the source (that is the parsers' half of issue 15).
    total = {name: parser_is_total(platform, breaks) for name, platform, breaks in
             (("tg", "telegram", tg_broken), ("kam", "kamchatka", kam_broken))}
    if total["tg"]:
        tg.call(tg_broken, tg.emulator)
    if total["kam"]:
        kam.call(kam_broken, kam.emulator)
    after = {("tg", normal(tg, "Здравствуйте, на Садовой яма на дороге, машины бьют колёса.", chat="group")),
             ("kam", normal(kam, "На детской площадке сломаны качели, дети могут пораниться"))}
    good = before | after

    def routed() -> bool:
        with db.session() as s:
            rows = s.execute(sa.select(MessageRow.source, MessageRow.external_id, CaseRow.id)
                             .join(CaseRow, CaseRow.message_id == MessageRow.id)).all()
        return good <= {(src, ext) for src, ext, _ in rows}

    wait_for(routed, 90)
    with db.session() as s:
        stored = {(m.source, m.external_id): m for m in s.execute(sa.select(MessageRow)).scalars()}
        quarantined = {(q.source, q.external_id): q for q in s.execute(sa.select(QuarantineRow)).scalars()}
        verdicts = {v.message_id for v in s.execute(sa.select(VerdictRow)).scalars()}
    for key in good:
        assert stored[key].id in verdicts and stored[key].processed  # moderated, routed (case above)
    for key in poison:  # stored sanitised, or quarantined
        q = quarantined.get(key)
        assert (key in stored) != (key in quarantined), (key, q and (q.stage, q.reason))
    for key in poison & stored.keys():
        m = stored[key]
        for text in (m.text, m.author_name or "", json.dumps(m.raw, ensure_ascii=False)):
            assert "\x00" not in text and not any("\ud800" <= ch <= "\udfff" for ch in text)
        assert m.pipeline_error is None  # the pipeline took it like any other
    assert stored[tg_bad[0]].text == "Прорвало трубу, ядовитая строка с нулём \ufffd\ufffd на Лесной"
    assert stored[tg_bad[0]].author_name == "Отравитель\ufffd Нулевой"
    assert len(stored[tg_bad[2]].text) == 64_000  # the 300 KB text, cut; its payload is in raw
    assert stored[tg_bad[3]].text == ""  # control characters only
    assert {tg_bad[4], kam_bad[1]} <= set(quarantined)
    for key in (tg_bad[4], kam_bad[1]):
        assert quarantined[key].stage == "ingest" and quarantined[key].reason.startswith("Unstorable: author_id")
    rejected = [q for q in quarantined.values() if q.reason.startswith("rejected by the parser")]
    assert sorted(q.source for q in rejected) == sorted(name for name, yes in total.items() if yes)
    health = wait_for(lambda: (h := httpx.get(f"{api}/healthz").json())["sources"]["kam"]["status"] == "degraded"
                      and h["sources"]["tg"]["status"] == "degraded" and h, 20)
    assert health["status"] == "degraded"
    for name in ("tg", "kam"):
        assert health["sources"][name]["quarantined"] == 1 + total[name]
        assert health["sources"][name]["last_reason"].startswith(("Unstorable: author_id", "rejected by the parser"))
    assert httpx.get(f"{api}/healthz").status_code == 200
    metrics = httpx.get(f"{api}/metrics").text
    assert f'otklik_quarantined_total{{source="tg",stage="ingest"}} {1 + total["tg"]:.1f}' in metrics
    assert 'otklik_seconds_since_last_store{source="kam"}' in metrics
    # Still taking messages afterwards, and the log is clean.
    last = ("tg", normal(tg, "Спасибо, но фонарь на Ленина опять не горит", chat="group"))
    good.add(last)
    wait_for(routed, 30)
    stack["proc"].send_signal(signal.SIGTERM)
    assert stack["proc"].wait(30) == 0
    logs = stack["log"].read_text(encoding="utf-8", errors="replace")
    assert "otklik daemon started" in logs and "item quarantined" in logs
    for secret in NAMES + TEXTS:
        assert secret not in logs, secret
        assert secret.split()[0] not in logs, secret
    assert "Traceback" not in logs
