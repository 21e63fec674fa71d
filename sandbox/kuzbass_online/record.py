"""Record the «Кузбасс Онлайн» cassettes (fixtures/kuzbass_online/*.json) from the mock:
`python -m sandbox.kuzbass_online.record [DIR]`.

Each scenario drives the real connector against a fresh emulator through an httpx client whose
event hook captures every exchange: the token becomes `{token}`, authors' display names fake ones.
What a replaying test needs besides the exchanges is stored at the top level.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any

from connectors.kuzbass_online.connector import KuzbassOnlineConnector
from otklik.models import Attachment, Platform, Reply, Thread
from sandbox.cassette import FIXTURES_DIR
from sandbox.kuzbass_online.emulator import ORGANISATION, KuzbassOnlineEmulator
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

FEED = "/web/v1/appeals"  # where the recorded faults strike: the list the connector polls
PLATFORM = "kuzbass_online"
MATCH_KEYS = ("cursor", "limit", "result", "category", "subcategory", "client_reference")
PHOTO = [Attachment(type="photo", url="https://tashtagol.kuzbass-online.example/files/answer-1.jpg")]
SEED = (
    {
        "text": "На улице Ленина в Таштаголе яма посреди дороги, объезжаем по встречке.",
        "author_id": 420001,
        "author_name": "Ольга Миронова",
        "category": "Дороги",
        "attachments": 2,
    },
    {
        "text": "В доме на Поспелова нет горячей воды третий день.",
        "author_id": 420002,
        "author_name": "Сергей Ковалёв",
        "category": "ЖКХ",
    },
    {
        "text": "Когда поменяют расписание автобуса до Шерегеша на зимнее?",
        "author_id": 420003,
        "author_name": "Нина Белова",
        "category": "Транспорт",
    },
)


class KuzbassOnlineRecorder(Recorder):
    """Authors' display names are personal; every other `name` in this API is a category, a
    subcategory, a file or an organisation, and stays as it is."""

    def scrub(self, value: Any, key: str | None = None) -> Any:
        if isinstance(value, str) and key == "display_name":
            return super().scrub(value, "name")
        if isinstance(value, str) and key in ("name", "executor"):
            return value
        return super().scrub(value, key)


def answer(appeal: int, rid: str, **kw: Any) -> Reply:
    return Reply(
        id=rid,
        source="ko",
        platform=Platform.KUZBASS_ONLINE,
        thread=Thread(kind="appeal", ids={"appeal_id": appeal}),
        text=kw.pop("text", "Здравствуйте! Яму на Ленина заделали сегодня, фото прилагаем."),
        outcome=kw.pop("outcome", "решено"),
        **kw,
    )


def seed(server: ThreadedServer, emulator: KuzbassOnlineEmulator) -> list[int]:
    return [server.call(emulator.inject, dict(item))["id"] for item in SEED]


async def first_sync(emulator, server, connector, extra) -> None:
    """The page, then each new appeal taken into work (004 §2.3), then the page of the takes."""
    extra.update(ids=seed(server, emulator))
    conn = connector()
    batch = await conn.fetch(None)
    await conn.fetch(batch.next_cursor)


async def incremental_sync(emulator, server, connector, extra) -> None:
    ids = seed(server, emulator)
    quiet = connector(recording=False)
    cursor = (await quiet.fetch(None)).next_cursor
    cursor = (await quiet.fetch(cursor)).next_cursor  # the takes
    new = server.call(
        emulator.inject,
        {"text": "Во дворе на Садовой не убирают снег.", "author_id": 420004, "author_name": "Пётр Орлов",
         "category": "Благоустройство"},
    )
    server.call(emulator.inject, {"kind": "delete", "id": ids[2]})
    extra.update(cursor=cursor, ids=ids, new=new["id"])
    await connector(take_into_work=False).fetch(cursor)


async def pagination(emulator, server, connector, extra) -> None:
    for n in range(5):
        server.call(
            emulator.inject,
            {"text": f"Не горит фонарь у дома {n + 1} по Советской.", "author_id": 421000 + n,
             "author_name": "Житель Советской", "category": "Дороги"},
        )
    conn = connector(limit=2, take_into_work=False)
    cursor = None
    while True:
        batch = await conn.fetch(cursor)
        cursor = batch.next_cursor or cursor
        if not batch.has_more:
            break


async def take_into_work(emulator, server, connector, extra) -> None:
    """A curator's choice after the automatic take: another subcategory and the department as the
    executor; the same call again changes nothing (200, no new history event)."""
    ids = seed(server, emulator)
    extra.update(ids=ids)
    await connector(recording=False).fetch(None)
    conn = connector()
    for _ in range(2):
        await conn.take_into_work(str(ids[1]), category="ЖКХ", subcategory="Водоснабжение",
                                  executor="Управление ЖКХ")


async def status_changes(emulator, server, connector, extra) -> None:
    ids = seed(server, emulator)
    quiet = connector(recording=False)
    cursor = (await quiet.fetch(None)).next_cursor
    cursor = (await quiet.fetch(cursor)).next_cursor
    await quiet.send(answer(ids[0], "reply-0", attachments=PHOTO))
    await quiet.send(answer(ids[1], "reply-1", text="Здравствуйте! Горячую воду дали.", outcome="решено"))
    await quiet.send(answer(ids[2], "reply-2", outcome="разъяснено",
                            text="Здравствуйте! Зимнее расписание действует с 1 декабря."))
    server.call(emulator.world.rate, ids[0], 5, "Спасибо, быстро")
    server.call(emulator.world.reopen, ids[1], "Вода снова пропала")
    server.call(emulator.world.return_answer, ids[2], "Укажите номер маршрута")
    extra.update(cursor=cursor, ids=ids)
    await connector().fetch(cursor)


async def reply_posting(emulator, server, connector, extra) -> None:
    ids = seed(server, emulator)
    extra.update(ids=ids)
    await connector(recording=False).fetch(None)
    conn = connector()
    r = answer(ids[0], "reply-road", attachments=PHOTO)
    await conn.find_posted(r)
    await conn.send(r)
    await conn.send(r)
    await conn.find_posted(r)


_expect_error = functools.partial(expect_error, seed)


async def _not_taken(emulator, server, connector, ids):
    await connector().send(answer(ids[0], "reply-too-early"))


SCENARIOS: dict[str, tuple[str, Scenario]] = {
    "first_sync": ("three appeals, each taken into work, then the page of the takes", first_sync),
    "incremental_sync": ("after a stored cursor: a new appeal and a withdrawal", incremental_sync),
    "pagination": ("five appeals read two at a time", pagination),
    "take_into_work": ("a curator's category, subcategory and executor; the same again", take_into_work),
    "status_changes": ("решено and разъяснено, rated, reopened by the author, returned by the moderator",
                       status_changes),
    "reply_posting": (
        "read back (absent), an answer with an attachment, replayed by Idempotency-Key, read back",
        reply_posting,
    ),
    "check_ok": ("the token has every permission", check_ok),
    "error_auth": ("an expired token: 401 TOKEN_EXPIRED", _expect_error(fetch_after_revoke)),
    "error_429": (
        "429 TOO_MANY_REQUESTS with Retry-After",
        _expect_error(fault_on_fetch(FEED, "429", retry_after=3)),
    ),
    "error_5xx": ("500 INTERNAL on every attempt",
                  _expect_error(fault_on_fetch(FEED, "5xx", count=None, read_attempts=2))),
    "error_5xx_recovered": ("500 once, then the page", _expect_error(fault_on_fetch(FEED, "5xx", read_attempts=2))),
    "error_malformed": (
        "a body that is not JSON, twice",
        _expect_error(fault_on_fetch(FEED, "malformed", count=None, read_attempts=2)),
    ),
    "error_not_taken": ("an answer to an appeal not in work: 409 WRONG_STATUS", _expect_error(_not_taken)),
    "error_cursor": ("a cursor the platform did not issue: 400 BAD_CURSOR", _expect_error(fetch_with_a_foreign_cursor)),
    "duplicate_delivery": (
        "the feed re-delivers the appeals",
        _expect_error(fault_on_fetch(FEED, "duplicate")),
    ),
}


async def record(name: str, root: Path = FIXTURES_DIR) -> Path:
    description, scenario = SCENARIOS[name]
    emulator = KuzbassOnlineEmulator(rps_limit=1000)  # the recordings show behaviour, not our pacing
    recorder = KuzbassOnlineRecorder(
        PLATFORM, name, secrets=emulator.demo_secrets(), match_keys=MATCH_KEYS, description=description
    )
    return await record_scenario(
        recorder,
        emulator,
        scenario,
        root,
        connector_class=KuzbassOnlineConnector,
        source="ko",
        secrets=emulator.demo_secrets(),
        options={"retry_wait": 0, "rps": 100, "executor": ORGANISATION},
    )


if __name__ == "__main__":
    record_all(record, SCENARIOS, sys.argv)
