"""Record the ПОС cassettes (fixtures/pos/*.json) from the mock: `python -m sandbox.pos.record [DIR]`.

Each scenario drives the real connector against a fresh emulator through an httpx client whose
event hook captures every exchange. Credentials become `{username}`-style placeholders; issued
tokens `{access_token}` / `{refresh_token}`; applicants' names, e-mails and phones fake values.
What a replaying test needs besides the exchanges (a cursor, ids) is stored at the top level.
"""

from __future__ import annotations

import functools
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from connectors.pos.connector import PosConnector
from otklik.models import Platform, Reply, Thread
from sandbox.cassette import FIXTURES_DIR
from sandbox.pos.emulator import PosEmulator
from sandbox.recorder import Recorder
from sandbox.recording import Scenario, check_ok, expect_error, fault_on_fetch, record_all, record_scenario
from sandbox.runner import ThreadedServer

FEED = "/edms"  # where the recorded faults strike: the list the connector polls
PLATFORM = "pos"
MATCH_KEYS = (
    "grant_type",
    "username",
    "password",
    "refresh_token",
    "page",
    "size",
    "version",
    "appealAnswerType",
    "outgoingNumber",
    "status",
)
SEED = (
    {
        "text": "Добрый день! На улице Ленина в Северном не горят фонари от школы до почты.",
        "author_id": 620001,
        "author_name": "Мария Соколова",
        "subject": "Благоустройство",
        "subsubject": "Освещение",
        "attachments": 1,
    },
    {
        "text": "Прошу отремонтировать дорогу на Кооперативной, ямы глубиной по колено.",
        "author_id": 620002,
        "author_name": "Пётр Лебедев",
        "subject": "Дороги",
        "subsubject": "Ямы на дорогах",
        "fast_track": "FEDERAL",
    },
    {
        "text": "В доме 7 по Набережной нет отопления вторые сутки.",
        "author_id": 620003,
        "author_name": "Игорь Волков",
        "subject": "ЖКХ",
        "subsubject": "Отопление",
        "fast_track": "REGIONAL",
    },
)


class PosRecorder(Recorder):
    """Also scrubs what ПОС adds to the shared recorder's list: issued tokens, the account's login
    (a placeholder, not a fake handle) and the applicant's surname, patronymic, e-mail and phone."""

    TOKENS = frozenset({"access_token", "refresh_token", "jti", "username"})
    PERSONAL = {
        "surname": "Фамилиева",
        "patronymic": "Отчествовна",
        "email": "person@example.org",
        "phone": "+70000000000",
    }

    def scrub(self, value: Any, key: str | None = None) -> Any:
        if isinstance(value, str) and key in self.TOKENS:
            return "{" + key + "}"
        if isinstance(value, str) and key in self.PERSONAL:
            return self.PERSONAL[key]
        return super().scrub(value, key)


def answer(appeal: int, rid: str, **kw: Any) -> Reply:
    return Reply(
        id=rid,
        source="pos",
        platform=Platform.POS,
        thread=Thread(kind="appeal", ids={"appeal_id": appeal}),
        text=kw.pop("text", "Здравствуйте! Ваше обращение рассмотрено, работы включены в план на июнь."),
        **kw,
    )


def seed(server: ThreadedServer, emulator: PosEmulator) -> list[int]:
    return [server.call(emulator.inject, dict(item))["id"] for item in SEED]


async def first_sync(emulator, server, connector, extra) -> None:
    extra.update(ids=seed(server, emulator))
    await connector().fetch(None)


async def incremental_sync(emulator, server, connector, extra) -> None:
    ids = seed(server, emulator)
    cursor = (await connector(recording=False).fetch(None)).next_cursor
    server.call(
        emulator.inject,
        {"text": "И на Школьной фонари не горят.", "author_id": 620004, "author_name": "Ольга Никитина"},
    )
    server.call(emulator.inject, {"kind": "edit", "id": ids[0], "text": SEED[0]["text"] + " Уже неделю."})
    extra.update(cursor=cursor, ids=ids)
    conn = connector()
    batch = await conn.fetch(cursor)  # acknowledges the first batch, lists the news
    extra.update(next_cursor=batch.next_cursor)
    await conn.fetch(batch.next_cursor)  # acknowledges those; the inbox is empty


async def pagination(emulator, server, connector, extra) -> None:
    for n in range(5):
        server.call(
            emulator.inject,
            {
                "text": f"Не вывезен мусор у дома {n + 1} по Садовой.",
                "author_id": 621000 + n,
                "author_name": "Житель Садовой",
            },
        )
    conn = connector(page_size=2)
    cursor = None
    while True:
        batch = await conn.fetch(cursor)
        cursor = batch.next_cursor or cursor
        if not batch.has_more:
            break
    await conn.fetch(cursor)


async def status_changes(emulator, server, connector, extra) -> None:
    ids = seed(server, emulator)
    quiet = connector(recording=False)
    cursor = (await quiet.fetch(None)).next_cursor
    cursor = (await quiet.fetch(cursor)).next_cursor  # acknowledged: the inbox is empty
    await quiet.send(answer(ids[0], "reply-0", outcome="solved"))
    await quiet.send(
        answer(ids[1], "reply-1", kind="intermediate", postponed_until=datetime.now(UTC) + timedelta(days=9))
    )
    await quiet.send(answer(ids[2], "reply-2", outcome="solved"))
    server.call(emulator.approve, ids[0])
    server.call(emulator.approve, ids[1])
    server.call(emulator.return_answer, ids[2], "Добавьте срок подключения отопления")
    server.call(emulator.world.comment, ids[0], "Фонари не горят, ответ неправда")
    server.call(emulator.world.rate, ids[0], 1)
    extra.update(cursor=cursor, ids=ids)
    await connector().fetch(cursor)


async def reply_posting(emulator, server, connector, extra) -> None:
    ids = seed(server, emulator)
    extra.update(ids=ids)
    conn = connector()
    r = answer(ids[1], "reply-roads", kind="intermediate", postponed_until=datetime(2031, 6, 3, tzinfo=UTC))
    await conn.find_posted(r)
    await conn.send(r)
    await conn.find_posted(r)


async def token_refresh(emulator, server, connector, extra) -> None:
    extra.update(ids=seed(server, emulator))
    conn = connector()
    await conn.fetch(None)
    server.call(emulator.advance, 3600)  # the token expired on the platform: 401, refresh, retry
    await conn.fetch(None)


_expect_error = functools.partial(expect_error, seed)


async def _revoked(emulator, server, connector, ids):
    conn = connector()
    await conn.fetch(None)
    server.call(emulator.revoke)
    await conn.fetch(None)


async def _conflict(emulator, server, connector, ids):
    conn = connector()
    await conn.send(answer(ids[0], "reply-a", outcome="solved"))
    await conn.send(answer(ids[0], "reply-b", outcome="solved"))  # the first is still on approval


SCENARIOS: dict[str, tuple[str, Scenario]] = {
    "first_sync": ("password grant, then three appeals in the inbox", first_sync),
    "incremental_sync": (
        "acknowledge the stored batch, list a new and an edited appeal, acknowledge them",
        incremental_sync,
    ),
    "pagination": ("five appeals, two per page, each page acknowledged by the next fetch", pagination),
    "status_changes": (
        "approved, approved intermediate, returned, a negative comment and a rating",
        status_changes,
    ),
    "reply_posting": ("read back (absent), a POSTPONED answer, read back (present)", reply_posting),
    "token_refresh": ("an expired token: 401 invalid_token, refresh grant, the request again", token_refresh),
    "check_ok": ("the credentials work", check_ok),
    "error_auth": ("the password was changed: 401, then invalid_grant", _expect_error(_revoked)),
    "error_429": ("429 with Retry-After", _expect_error(fault_on_fetch(FEED, "429", retry_after=3))),
    "error_5xx": (
        "503 on every attempt",
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
    "error_conflict": ("a second answer while one is on approval: 409", _expect_error(_conflict)),
    "duplicate_delivery": (
        "the inbox lists an appeal twice",
        _expect_error(fault_on_fetch(FEED, "duplicate")),
    ),
}


async def record(name: str, root: Path = FIXTURES_DIR) -> Path:
    description, scenario = SCENARIOS[name]
    emulator = PosEmulator()
    recorder = PosRecorder(
        PLATFORM, name, secrets=emulator.demo_secrets(), match_keys=MATCH_KEYS, description=description
    )
    return await record_scenario(
        recorder,
        emulator,
        scenario,
        root,
        connector_class=PosConnector,
        source="pos",
        secrets=emulator.demo_secrets(),
        options={"retry_wait": 0},
    )


if __name__ == "__main__":
    record_all(record, SCENARIOS, sys.argv)
