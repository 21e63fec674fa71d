"""Record the «Камчатка в порядке» cassettes (fixtures/kamchatka/*.json) from the mock:
`python -m sandbox.kamchatka.record [DIR]`.

Each scenario drives the real connector against a fresh emulator through an httpx client whose
event hook captures every exchange: the API key becomes `{api_key}`, users' display names and ESIA
ids fake ones. What a replaying test needs besides the exchanges is stored at the top level.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any

from connectors.kamchatka.connector import KamchatkaConnector
from otklik.models import Attachment, Platform, Reply, Thread
from sandbox.cassette import FIXTURES_DIR
from sandbox.kamchatka.emulator import KamchatkaEmulator
from sandbox.recorder import Recorder
from sandbox.recording import (
    Scenario,
    check_ok,
    expect_error,
    fault_on_fetch,
    fetch_after_revoke,
    fetch_with_a_foreign_cursor,
    record_all,
    record_scenario,
)
from sandbox.runner import ThreadedServer

FEED = "/messages"  # where the recorded faults strike: the list the connector polls
PLATFORM = "kamchatka"
MATCH_KEYS = ("cursor", "limit", "kind", "days", "client_reference")
PHOTO = [Attachment(type="photo", url="https://kamchatka.example/files/answer-1.jpg")]
SEED = (
    {
        "text": "В Соболево на улице Набережной провалился асфальт у моста, опасно ездить.",
        "author_id": 630001,
        "author_name": "Мария Соколова",
        "group": "Дороги",
        "topic": "Ямы",
        "photos": 2,
    },
    {
        "text": "Не вывозят мусор с площадки на Центральной вторую неделю.",
        "author_id": 630002,
        "author_name": "Пётр Лебедев",
        "group": "Мусор/Свалки/ТКО",
        "topic": "Вывоз ТКО",
    },
    {
        "text": "Упало дерево на линию электропередачи на Лесной, света нет.",
        "author_id": 630003,
        "author_name": "Игорь Волков",
        "group": "Электроснабжение",
        "topic": "Аварии",
        "fast_track_days": 1,
    },
)


class KamchatkaRecorder(Recorder):
    """Also scrubs the ESIA user's display name and ESIA id."""

    def scrub(self, value: Any, key: str | None = None) -> Any:
        if isinstance(value, str) and key == "display_name":
            return super().scrub(value, "name")
        if isinstance(value, str) and key == "esia_oid":
            return "100000" + str(sum(map(ord, value)) % 10_000).zfill(4)
        return super().scrub(value, key)


def answer(message: int, rid: str, **kw: Any) -> Reply:
    return Reply(
        id=rid,
        source="kvp",
        platform=Platform.KAMCHATKA,
        thread=Thread(kind="message", ids={"message_id": message}),
        text=kw.pop("text", "Здравствуйте! Провал засыпан и заасфальтирован, фото прилагаем."),
        **kw,
    )


def seed(server: ThreadedServer, emulator: KamchatkaEmulator) -> list[int]:
    return [server.call(emulator.inject, dict(item))["id"] for item in SEED]


async def first_sync(emulator, server, connector, extra) -> None:
    extra.update(ids=seed(server, emulator))
    await connector().fetch(None)


async def incremental_sync(emulator, server, connector, extra) -> None:
    ids = seed(server, emulator)
    cursor = (await connector(recording=False).fetch(None)).next_cursor
    new = server.call(
        emulator.inject,
        {
            "text": "Повторно: асфальт у моста так и не починили.",
            "author_id": 630001,
            "author_name": "Мария Соколова",
            "repeat_of": ids[0],
        },
    )
    server.call(emulator.inject, {"kind": "edit", "id": ids[1], "text": SEED[1]["text"] + " Уже крысы."})
    server.call(emulator.inject, {"kind": "delete", "id": ids[2]})
    extra.update(cursor=cursor, ids=ids, new=new["id"])
    await connector().fetch(cursor)


async def pagination(emulator, server, connector, extra) -> None:
    for n in range(5):
        server.call(
            emulator.inject,
            {
                "text": f"Не горит фонарь у дома {n + 1} по Советской.",
                "author_id": 631000 + n,
                "author_name": "Житель Советской",
            },
        )
    conn = connector(limit=2)
    cursor = None
    while True:
        batch = await conn.fetch(cursor)
        cursor = batch.next_cursor or cursor
        if not batch.has_more:
            break


async def status_changes(emulator, server, connector, extra) -> None:
    ids = seed(server, emulator)
    quiet = connector(recording=False)
    cursor = (await quiet.fetch(None)).next_cursor
    await quiet.request_extension(str(ids[1]), 5, "Нужна техника из Петропавловска-Камчатского")
    await quiet.request_extension(str(ids[2]), 2, "Ждём энергетиков")
    server.call(emulator.decide_extension, ids[1], True, "Согласовано")
    server.call(emulator.decide_extension, ids[2], False, "Фаст-трек не продлевается")
    await quiet.send(answer(ids[0], "reply-0", attachments=PHOTO))
    await quiet.send(answer(ids[2], "reply-2", attachments=PHOTO, text="Здравствуйте! Линию восстановили."))
    server.call(emulator.world.confirm, ids[0])
    server.call(emulator.world.rate, ids[0], 4, "Сделали, но долго")
    server.call(emulator.world.rework, ids[2], "Света всё ещё нет")
    extra.update(cursor=cursor, ids=ids)
    await connector().fetch(cursor)


async def reply_posting(emulator, server, connector, extra) -> None:
    ids = seed(server, emulator)
    extra.update(ids=ids)
    conn = connector()
    r = answer(ids[0], "reply-road", attachments=PHOTO)
    await conn.find_posted(r)
    await conn.send(r)
    await conn.send(r)
    await conn.find_posted(r)


async def extension_request(emulator, server, connector, extra) -> None:
    ids = seed(server, emulator)
    extra.update(ids=ids)
    conn = connector()
    await conn.request_extension(str(ids[1]), 8, "Подрядчик приступит после схода снега")
    await conn.request_extension(str(ids[1]), 8, "Подрядчик приступит после схода снега")


_expect_error = functools.partial(expect_error, seed)


async def _photos_required(emulator, server, connector, ids):
    await connector().send(answer(ids[0], "reply-no-photo"))


SCENARIOS: dict[str, tuple[str, Scenario]] = {
    "first_sync": ("three messages: with photos, plain, fast-track", first_sync),
    "incremental_sync": (
        "after a stored cursor: a repeat message, an edit and a withdrawal",
        incremental_sync,
    ),
    "pagination": ("five messages read two at a time", pagination),
    "status_changes": (
        "extension granted and denied, confirmed and rated, sent back for rework",
        status_changes,
    ),
    "reply_posting": (
        "read back (absent), an answer with a photo, replayed by Idempotency-Key, read back",
        reply_posting,
    ),
    "extension_request": ("an 8-day extension request, replayed by Idempotency-Key", extension_request),
    "check_ok": ("the key has every permission", check_ok),
    "error_auth": ("a revoked key: 401 TOKEN_REVOKED", _expect_error(fetch_after_revoke)),
    "error_429": (
        "429 RATE_LIMIT with Retry-After",
        _expect_error(fault_on_fetch(FEED, "429", retry_after=3)),
    ),
    "error_5xx": (
        "500 INTERNAL_ERROR on every attempt",
        _expect_error(fault_on_fetch(FEED, "5xx", count=None, read_attempts=2)),
    ),
    "error_5xx_recovered": (
        "500 once, then the page",
        _expect_error(fault_on_fetch(FEED, "5xx", read_attempts=2)),
    ),
    "error_malformed": (
        "a body that is not JSON, twice",
        _expect_error(fault_on_fetch(FEED, "malformed", count=None, read_attempts=2)),
    ),
    "error_photos_required": (
        "an answer without photos or a reason: 422 PHOTOS_REQUIRED",
        _expect_error(_photos_required),
    ),
    "error_cursor": ("a cursor the platform did not issue: 400 CURSOR_INVALID", _expect_error(fetch_with_a_foreign_cursor)),
    "duplicate_delivery": (
        "the feed re-delivers the messages",
        _expect_error(fault_on_fetch(FEED, "duplicate")),
    ),
}


async def record(name: str, root: Path = FIXTURES_DIR) -> Path:
    description, scenario = SCENARIOS[name]
    emulator = KamchatkaEmulator(rps_limit=1000)  # the recordings show behaviour, not our pacing
    recorder = KamchatkaRecorder(
        PLATFORM, name, secrets=emulator.demo_secrets(), match_keys=MATCH_KEYS, description=description
    )
    return await record_scenario(
        recorder,
        emulator,
        scenario,
        root,
        connector_class=KamchatkaConnector,
        source="kvp",
        secrets=emulator.demo_secrets(),
        options={"retry_wait": 0, "rps": 100},
    )


if __name__ == "__main__":
    record_all(record, SCENARIOS, sys.argv)
