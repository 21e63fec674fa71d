"""Record the MAX cassettes (fixtures/max/*.json) from the emulator, through the real connector:
`python -m sandbox.max.record [--out DIR] [--only SCENARIO]`.

The emulator runs on a fixed clock with seeded ids, so recording again gives the same files unless
the emulator or the connector changed. The token never reaches a cassette (it travels in a header,
which is not recorded); citizens' names are scrubbed to fake ones; the emulator's local address is
shown as the real host.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from connectors.errors import ConnectorError
from connectors.max.connector import MaxConnector
from otklik.models import Attachment, Reply
from sandbox.cassette import FIXTURES_DIR
from sandbox.max.emulator import BOT, CHANNEL, GROUP, TOKEN, MaxEmulator
from sandbox.recorder import Recorder
from sandbox.recording import record_scenario

START = 1_767_250_800  # 2026-01-01 10:00 Moscow time
HOST = "https://platform-api2.max.ru"
KEEP_NAMES = {BOT["first_name"], BOT["name"], BOT["username"], GROUP["title"], CHANNEL["title"]}


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def inject(emulator: MaxEmulator, server, **payload: Any) -> dict:
    emulator.clock.now += 7  # citizens write a few seconds apart
    if payload.get("kind", "new") == "new" and "author_id" in payload:
        payload.setdefault("author_name", f"Житель {payload['author_id']}")
    return server.call(emulator.inject, payload)


def reply(message, text: str, rid: str, **kw: Any) -> Reply:
    return Reply(id=rid, source="max:main", platform="max", thread=message.thread,
                 in_reply_to=message.external_id, text=text, **kw)


async def attempt(coro) -> Any:
    try:
        return await coro
    except ConnectorError as exc:
        return exc


async def first_sync(em, server, connector, extra) -> None:
    inject(em, server, text="Добрый день! Во дворе дома 5 по улице Садовой не горит фонарь.", author_id=501)
    inject(em, server, text="Когда починят лифт в доме 12?", chat="chat", author_id=502)
    inject(em, server, chat="channel_post", text="График отключений воды на неделю")
    inject(em, server, text="А нашу улицу Лесную отремонтируют?", chat="channel_comment", author_id=503)
    inject(em, server, text="Фото ямы у остановки", photo=True, author_id=504)
    inject(em, server, text="", bodyless=True, author_id=505)  # a voice message without its message
    server.call(lambda: em.world.service("bot_started", chat_id=50_000_000_506, user={"user_id": 506}))
    batch = await connector().fetch(None)
    extra.update(next_cursor=batch.next_cursor)


async def incremental_sync(em, server, connector, extra) -> None:
    conn = connector()
    first = inject(em, server, text="Нет горячей воды с понедельника.", author_id=511)
    comment = inject(em, server, text="Спасибо за новости", chat="channel_comment", author_id=512)
    batch = await conn.fetch(None)
    inject(em, server, kind="edit", mid=first["mid"], text="Нет горячей воды с понедельника, дом 3 по улице Мира.")
    inject(em, server, kind="delete", mid=comment["mid"])
    inject(em, server, text="Спасибо, свет дали.", chat="chat", author_id=513)
    batch = await conn.fetch(batch.next_cursor)
    await conn.fetch(batch.next_cursor)  # confirms the second batch, finds nothing new


async def pagination(em, server, connector, extra) -> None:
    for i in range(5):
        inject(em, server, text=f"Обращение номер {i + 1}: не вывозят мусор.", author_id=520 + i)
    conn = connector(limit=2)
    cursor = None
    for _ in range(4):
        batch = await conn.fetch(cursor)
        cursor = batch.next_cursor
        if not batch.has_more and not batch.messages:
            break


def failing(kind: str, read_attempts: int = 1, **fault: Any):
    async def scenario(em, server, connector, extra) -> None:
        inject(em, server, text="Вопрос про отопление", author_id=530)
        server.call(em.faults.add, {"kind": kind, "match": "/updates", **fault})
        got = await attempt(connector(read_attempts=read_attempts).fetch(None))
        extra.update(error=got.kind if isinstance(got, ConnectorError) else None,
                     code=got.code if isinstance(got, ConnectorError) else None)
    return scenario


async def error_auth(em, server, connector, extra) -> None:
    server.call(setattr, em, "revoked", True)
    got = await attempt(connector().fetch(None))
    extra.update(error=got.kind, code=got.code)


async def duplicate_delivery(em, server, connector, extra) -> None:
    em.faults.add({"kind": "duplicate", "match": "inject", "count": 1})
    inject(em, server, text="Повторите, пожалуйста: когда дадут воду?", author_id=540)
    conn = connector()
    batch = await conn.fetch(None)
    server.call(em.faults.add, {"kind": "duplicate", "match": "/updates", "count": 1})
    inject(em, server, text="И ещё вопрос про свет", author_id=541)
    batch = await conn.fetch(batch.next_cursor)  # the previous answer again (a lost response)
    await conn.fetch(batch.next_cursor)


async def reply_posting(em, server, connector, extra) -> None:
    inject(em, server, text="Нет воды в доме 7", author_id=550)
    inject(em, server, text="Яма у школы", chat="chat", author_id=551)
    inject(em, server, text="А у нас когда?", chat="channel_comment", author_id=552)
    conn = connector(recording=False)
    messages = (await conn.fetch(None)).messages
    sender = connector()
    for i, m in enumerate(messages):
        await sender.send(reply(m, "Здравствуйте! Заявка передана в управление ЖКХ.", f"reply-{i + 1}"))
    server.call(em.world.blocked_users.add, 550)
    got = await attempt(sender.send(reply(messages[0], "Ещё раз здравствуйте.", "reply-blocked")))
    extra.update(error=got.kind, code=got.code)


async def attachment_upload(em, server, connector, extra) -> None:
    inject(em, server, text="Пришлите, пожалуйста, схему проезда", author_id=560)
    [m] = (await connector(recording=False).fetch(None)).messages
    em.not_ready = 1
    scheme = Path(extra.pop("tmp")) / "scheme.pdf"
    scheme.write_bytes(b"%PDF-1.4 sandbox scheme")
    await connector().send(reply(m, "Схема во вложении.", "reply-upload",
                                 attachments=[Attachment(type="file", url=str(scheme))]))


SCENARIOS = {
    "first_sync": (first_sync, "dialog, group chat, channel post + comment, photo, bodyless and service updates"),
    "incremental_sync": (incremental_sync, "marker passed on; an edit, a comment removal, a new message"),
    "pagination": (pagination, "limit=2: three pages, each marker passed on"),
    "error_429": (failing("429"), "429 too.many.requests on GET /updates"),
    "error_5xx": (failing("5xx", read_attempts=3, count=3), "500 internal.error three times: Transient"),
    "error_5xx_recovered": (failing("5xx", read_attempts=3, count=1), "one 500, then the updates"),
    "error_auth": (error_auth, "401 verify.token"),
    "error_malformed": (failing("malformed", read_attempts=1), "a body that is not JSON"),
    "duplicate_delivery": (duplicate_delivery, "the same update twice, and a repeated answer"),
    "reply_posting": (reply_posting, "replies in a dialog, a chat and a comment thread; a stopped dialog"),
    "attachment_upload": (attachment_upload, "POST /uploads, the bytes, attachment.not.ready once, then sent"),
}


async def record(name: str, root: Path) -> Path:
    import tempfile

    scenario, description = SCENARIOS[name]
    emulator = MaxEmulator(clock=Clock(START), long_poll_cap=0.0, seed=7)
    recorder = Recorder("max", name, keep_names=KEEP_NAMES, description=description,
                        match_keys={"marker", "limit", "types", "chat_id", "user_id", "type", "text", "link"})

    async def wrapped(em, server, connector, extra) -> None:
        recorder.replace(server.url, HOST)
        with tempfile.TemporaryDirectory() as tmp:
            extra["tmp"] = tmp
            await scenario(em, server, connector, extra)
            extra.pop("tmp", None)

    return await record_scenario(recorder, emulator, wrapped, root, connector_class=MaxConnector,
                                 source="max:main", secrets={"token": TOKEN},
                                 options={"poll_timeout": 0, "retry_backoff": 0.001})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=FIXTURES_DIR)
    parser.add_argument("--only")
    args = parser.parse_args()
    for name in [args.only] if args.only else SCENARIOS:
        print(asyncio.run(record(name, args.out)))


if __name__ == "__main__":
    main()
