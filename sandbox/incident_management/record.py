"""Record the Incident Management cassettes (fixtures/incident_management/*.json) from the mock:
`python -m sandbox.incident_management.record [DIR]`.

Each scenario drives the real connector against a fresh emulator through an httpx client whose
event hook captures every exchange (sandbox/recorder.py: the token becomes `{token}`, people's
names fake ones). What a replaying test needs besides the exchanges (a cursor, ids) is stored
under the cassette's top-level keys.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any

from connectors.incident_management.connector import IncidentManagementConnector
from otklik.models import Platform, Reply, Thread
from sandbox.cassette import FIXTURES_DIR
from sandbox.incident_management.emulator import TOKEN, IncidentManagementEmulator
from sandbox.recorder import Recorder
from sandbox.recording import (
    Scenario,
    check_ok,
    expect_error,
    fault_on_fetch,
    fetch_after_revoke,
    record_all,
    record_scenario,
)
from sandbox.runner import ThreadedServer

FEED = "/incidents"  # where the recorded faults strike: the list the connector polls
PLATFORM = "incident_management"
MATCH_KEYS = ("since", "limit", "kind", "outcome", "client_reference", "url")
SEED = (
    {
        "text": "На улице Лесной в Таштаголе третий день не горят фонари, дети идут в школу в темноте.",
        "network": "vk",
        "author_id": 610001,
        "author_name": "Мария Соколова",
        "topic_group": "Электроснабжение",
        "topic": "Уличное освещение",
    },
    {
        "text": "Когда вывезут мусор с контейнерной площадки на Советской? Уже неделю стоит.",
        "network": "ok",
        "author_id": 610002,
        "author_name": "Пётр Лебедев",
        "topic_group": "Мусор/Свалки/ТКО",
        "topic": "Вывоз ТКО",
        "importance": "high",
    },
    {
        "text": "Во дворе дома 12 по Школьной прорвало трубу, вода течёт по улице.",
        "network": "telegram",
        "author_id": 610003,
        "author_name": "Игорь Волков",
        "topic_group": "ЖКХ",
        "topic": "Водоснабжение",
        "urgent": True,
    },
)


def answer(incident: int, rid: str, **kw: Any) -> Reply:
    return Reply(
        id=rid,
        source="im",
        platform=Platform.INCIDENT_MANAGEMENT,
        thread=Thread(kind="incident", ids={"incident_id": incident}),
        text=kw.pop(
            "text", "Здравствуйте! Заявка передана в МУП «Благоустройство», работы выполнят до конца недели."
        ),
        **kw,
    )


def seed(server: ThreadedServer, emulator: IncidentManagementEmulator) -> list[int]:
    return [server.call(emulator.inject, dict(item))["id"] for item in SEED]


async def first_sync(emulator, server, connector, extra) -> None:
    seed(server, emulator)
    await connector().fetch(None)


async def incremental_sync(emulator, server, connector, extra) -> None:
    ids = seed(server, emulator)
    cursor = (await connector(recording=False).fetch(None)).next_cursor
    server.call(
        emulator.inject,
        {
            "text": "И на Садовой тоже нет света по вечерам.",
            "network": "vk",
            "author_id": 610004,
            "author_name": "Ольга Никитина",
        },
    )
    server.call(
        emulator.inject, {"kind": "edit", "id": ids[0], "text": SEED[0]["text"] + " Уже четвёртый день."}
    )
    server.call(emulator.inject, {"kind": "delete", "id": ids[2]})
    extra.update(cursor=cursor, edited=ids[0], deleted=ids[2])
    await connector().fetch(cursor)


async def pagination(emulator, server, connector, extra) -> None:
    for n in range(5):
        server.call(
            emulator.inject,
            {
                "text": f"Яма на дороге у дома {n + 1} по улице Мира.",
                "network": "vk",
                "author_id": 611000 + n,
                "author_name": "Житель Мира",
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
    for incident in ids:
        await quiet.send(answer(incident, f"reply-{incident}", outcome="solved"))
    server.call(emulator.approve, ids[0])
    server.call(emulator.return_answer, ids[1], "Укажите конкретный срок вывоза")
    server.call(emulator.approve, ids[2])
    for incident in (ids[0], ids[2]):
        delivery = await quiet.find_posted(answer(incident, f"reply-{incident}"))
        await quiet.mirror(
            str(incident),
            answer(incident, f"reply-{incident}"),
            delivery.model_copy(update={"url": f"https://vk.com/wall-200000001_50?reply={incident}"}),
        )
    server.call(emulator.world.comment, ids[0], "Фонари так и не горят")
    server.call(emulator.world.rate, ids[2], 5, "Спасибо, трубу заменили")
    extra.update(cursor=cursor, ids=ids)
    await connector().fetch(cursor)


async def reply_posting(emulator, server, connector, extra) -> None:
    ids = seed(server, emulator)
    conn = connector()
    extra.update(ids=ids)
    await conn.find_posted(answer(ids[0], "reply-first"))
    await conn.send(
        answer(
            ids[0],
            "reply-first",
            kind="first_response",
            text="Здравствуйте! Информация передана в энергосбыт, ответим до 18:00.",
        )
    )
    await conn.send(
        answer(
            ids[0],
            "reply-first",
            kind="first_response",
            text="Здравствуйте! Информация передана в энергосбыт, ответим до 18:00.",
        )
    )
    await conn.find_posted(answer(ids[0], "reply-first"))


async def publication(emulator, server, connector, extra) -> None:
    ids = seed(server, emulator)
    quiet = connector(recording=False)
    delivery = await quiet.send(answer(ids[0], "reply-final", outcome="solved"))
    server.call(emulator.approve, ids[0])
    extra.update(ids=ids, answer_id=int(delivery.external_id.split(":")[1]))
    await connector().mirror(
        str(ids[0]),
        answer(ids[0], "reply-final"),
        delivery.model_copy(update={"url": "https://vk.com/wall-200000001_50?reply=990"}),
    )


_expect_error = functools.partial(expect_error, seed)


async def _conflict(emulator, server, connector, ids):
    conn = connector()
    await conn.send(answer(ids[0], "reply-a", outcome="solved"))
    await conn.send(answer(ids[0], "reply-b", outcome="solved"))  # one on approval already


SCENARIOS: dict[str, tuple[str, Scenario]] = {
    "first_sync": ("three incidents found in VK, OK and Telegram", first_sync),
    "incremental_sync": (
        "after a stored cursor: a new incident, an edited and a deleted post",
        incremental_sync,
    ),
    "pagination": ("five incidents read two at a time", pagination),
    "status_changes": ("approved, returned, reopened by a comment, rated", status_changes),
    "reply_posting": ("a first answer submitted, replayed by Idempotency-Key, read back", reply_posting),
    "publication": (
        "the approved answer posted in VK: the incident is marked answered with the link",
        publication,
    ),
    "check_ok": ("GET /me with every scope", check_ok),
    "error_auth": ("a revoked token: 401 token_revoked", _expect_error(fetch_after_revoke)),
    "error_429": (
        "429 rate_limited with Retry-After",
        _expect_error(fault_on_fetch(FEED, "429", retry_after=3)),
    ),
    "error_5xx": (
        "503 unavailable on every attempt",
        _expect_error(fault_on_fetch(FEED, "5xx", count=None, read_attempts=2)),
    ),
    "error_5xx_recovered": (
        "503 once, then the page",
        _expect_error(fault_on_fetch(FEED, "5xx", read_attempts=2)),
    ),
    "error_malformed": (
        "a body that is not JSON, twice",
        _expect_error(fault_on_fetch(FEED, "malformed", count=None, read_attempts=2)),
    ),
    "error_conflict": ("a second answer while one is on approval: 409 conflict", _expect_error(_conflict)),
    "duplicate_delivery": (
        "the feed re-delivers an incident",
        _expect_error(fault_on_fetch(FEED, "duplicate")),
    ),
}


async def record(name: str, root: Path = FIXTURES_DIR) -> Path:
    description, scenario = SCENARIOS[name]
    emulator = IncidentManagementEmulator()
    recorder = Recorder(
        PLATFORM, name, secrets={"token": TOKEN}, match_keys=MATCH_KEYS, description=description
    )
    return await record_scenario(
        recorder,
        emulator,
        scenario,
        root,
        connector_class=IncidentManagementConnector,
        source="im",
        secrets={"token": TOKEN},
        options={"retry_wait": 0},
    )


if __name__ == "__main__":
    record_all(record, SCENARIOS, sys.argv)
