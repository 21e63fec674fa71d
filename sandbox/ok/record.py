"""Record the OK cassettes (fixtures/ok/*.json) from the emulator: `python -m sandbox.ok.record [DIR]`.

Each scenario drives the real connector against a fresh emulator through an httpx client whose
event hook captures every exchange; secrets become `{access_token}`-style placeholders and people's
names fake ones (sandbox/recorder.py). Scenarios that continue an earlier sync carry that sync's
cursor under the cassette's top-level "cursor" key.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

from connectors.base import SourceConfig
from connectors.errors import ConnectorError
from connectors.ok.connector import OkConnector
from otklik.models import Reply, Thread
from sandbox.cassette import FIXTURES_DIR
from sandbox.ok.emulator import OkEmulator
from sandbox.ok.world import GROUP_NAME
from sandbox.recorder import Recorder
from sandbox.runner import ThreadedServer

MATCH_KEYS = (
    "method",
    "gid",
    "discussionId",
    "discussionType",
    "anchor",
    "direction",
    "count",
    "entityId",
    "entityType",
    "reply_to_comment_id",
    "as_admin",
    "uids",
    "marker",
)
Scenario = Callable[
    [OkEmulator, ThreadedServer, Callable[..., OkConnector], Recorder, dict[str, Any]], Awaitable[None]
]


def _config(emulator: OkEmulator, url: str, **options: Any) -> SourceConfig:
    return SourceConfig(
        name="ok",
        platform="ok",
        base_url=url,
        secrets=emulator.demo_secrets(),
        options={**emulator.demo_options(), "retry_wait": 0, "read_attempts": 1, **options},
    )


async def _record(name: str, description: str, scenario: Scenario, root: Path) -> Path:
    emulator = OkEmulator()
    with ThreadedServer(emulator) as server:
        recorder = Recorder(
            "ok",
            name,
            secrets=emulator.demo_secrets(),
            match_keys=MATCH_KEYS,
            keep_names=[GROUP_NAME],
            description=description,
        )
        clients: list[httpx.AsyncClient] = []

        def connector(recording: bool = True, **options: Any) -> OkConnector:
            http = httpx.AsyncClient(event_hooks=recorder.hooks() if recording else {})
            clients.append(http)
            return OkConnector(_config(emulator, server.url, **options), client=http)

        extra: dict[str, Any] = {}  # what a replaying test needs besides the exchanges (a cursor, ids)
        await scenario(emulator, server, connector, recorder, extra)
        for http in clients:
            await http.aclose()
    return recorder.save(root, extra)


def _seed(server: ThreadedServer, emulator: OkEmulator) -> dict[str, Any]:
    first = server.call(
        emulator.inject,
        {
            "text": "На улице Мира яма прямо у остановки, когда заделают?",
            "author_id": 571000000001,
            "author_name": "Мария Соколова",
        },
    )
    server.call(
        emulator.inject,
        {
            "text": "Поддерживаю, там уже две машины пробили колёса.",
            "author_id": 571000000002,
            "author_name": "Пётр Лебедев",
            "reply_to": first["id"],
        },
    )
    server.call(
        emulator.inject,
        {
            "text": "Когда включат уличное освещение на Садовой?",
            "target": "topic",
            "author_id": 571000000003,
            "author_name": "Игорь Волков",
        },
    )
    server.call(
        emulator.inject,
        {
            "text": "Подскажите, где получить справку о составе семьи?",
            "target": "chat",
            "author_id": 571000000004,
            "author_name": "Елена Орлова",
        },
    )
    return first


async def first_sync(emulator, server, connector, recorder, extra) -> None:
    _seed(server, emulator)
    await connector().fetch(None)


async def incremental_sync(emulator, server, connector, recorder, extra) -> None:
    _seed(server, emulator)
    cursor = (await connector(recording=False).fetch(None)).next_cursor
    server.call(
        emulator.inject,
        {
            "text": "И на Школьной тоже ямы после зимы.",
            "author_id": 571000000005,
            "author_name": "Ольга Никитина",
        },
    )
    server.call(
        emulator.inject,
        {
            "text": "В чате: когда отремонтируют крышу?",
            "target": "chat",
            "author_id": 571000000004,
            "author_name": "Елена Орлова",
        },
    )
    extra.update({"cursor": cursor})
    await connector().fetch(cursor)


async def pagination(emulator, server, connector, recorder, extra) -> None:
    cursor = (await connector(recording=False).fetch(None)).next_cursor
    for i in range(120):
        server.call(
            emulator.inject,
            {
                "text": f"Комментарий номер {i + 1} о благоустройстве двора.",
                "author_id": 572000000000 + i % 7,
                "author_name": "Житель Двора",
            },
        )
    extra.update({"cursor": cursor})
    await connector(page_size=50, max_pages=5).fetch(cursor)


async def deletion(emulator, server, connector, recorder, extra) -> None:
    first = _seed(server, emulator)
    cursor = (await connector(recording=False).fetch(None)).next_cursor
    server.call(emulator.inject, {"kind": "delete", "id": first["id"]})
    extra.update({"cursor": cursor, "deleted": first["id"]})
    await connector().fetch(cursor)


async def reply_posting(emulator, server, connector, recorder, extra) -> None:
    first = _seed(server, emulator)
    chat = server.call(
        emulator.inject, {"text": "Есть вопрос по льготам.", "target": "chat", "author_id": 571000000006}
    )
    conn = connector()
    await conn.send(
        Reply(
            id="reply-comment-1",
            source="ok",
            platform="ok",
            text="Здравствуйте! Ремонт ямы на улице Мира запланирован на эту неделю.",
            thread=Thread(
                kind="discussion",
                ids={
                    "discussion_id": first["discussion_id"],
                    "discussion_type": "GROUP_TOPIC",
                    "comment_id": first["id"],
                },
            ),
        )
    )
    await conn.send(
        Reply(
            id="reply-chat-1",
            source="ok",
            platform="ok",
            text="Здравствуйте! Льготы оформляют в МФЦ.",
            thread=Thread(kind="chat", ids=chat),
        )
    )
    extra.update({"comment": first, "chat": chat})


async def find_posted(emulator, server, connector, recorder, extra) -> None:
    first = _seed(server, emulator)
    reply = Reply(
        id="reply-comment-1",
        source="ok",
        platform="ok",
        text="Здравствуйте! Яму заделаем до пятницы.",
        thread=Thread(
            kind="discussion",
            ids={
                "discussion_id": first["discussion_id"],
                "discussion_type": "GROUP_TOPIC",
                "comment_id": first["id"],
            },
        ),
    )
    await connector(recording=False).send(reply)
    extra.update({"reply": reply.model_dump(mode="json")})
    await connector().find_posted(reply)


def _error(kind: str, match: str, **options: Any) -> Scenario:
    async def scenario(emulator, server, connector, recorder, extra) -> None:
        emulator.faults.add({"kind": kind, "match": match, "count": 1, "retry_after": 7})
        try:
            await connector(**options).fetch(None)
        except ConnectorError as exc:
            extra.update({"raises": exc.kind, "code": exc.code})

    return scenario


async def bad_signature(emulator, server, connector, recorder, extra) -> None:
    emulator.app_secrets[emulator.demo_options()["application_key"]] = (
        "ANOTHER0SECRET0KEY"  # keys out of sync
    )
    try:
        await connector().fetch(None)
    except ConnectorError as exc:
        extra.update({"raises": exc.kind, "code": exc.code})


async def session_expired(emulator, server, connector, recorder, extra) -> None:
    server.call(emulator.revoke)
    try:
        await connector().fetch(None)
    except ConnectorError as exc:
        extra.update({"raises": exc.kind, "code": exc.code})


async def webhook_delivery(emulator, server, connector, recorder, extra) -> None:
    """The emulator delivers chat messages to our endpoint; the first answer fails, OK retries."""
    received: list[dict[str, Any]] = []

    async def hook(request: web.Request) -> web.Response:
        body = await request.json()
        status = 500 if not received else 200
        received.append(body)
        recorder.add(
            {
                "method": "POST",
                "path": "/webhooks/ok",
                "json": body,
                "headers": {"Content-Type": request.headers.get("Content-Type", "")},
            },
            {"status": status, "text": "ok" if status == 200 else "busy"},
        )
        return web.Response(status=status, text="ok" if status == 200 else "busy")

    app = web.Application()
    app.router.add_post("/webhooks/ok", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/webhooks/ok"
    conn = connector(webhook=True, webhook_url=url)
    await conn.subscribe_webhook(url)
    await conn.check()
    server.call(
        emulator.inject,
        {
            "text": "Прорвало трубу во дворе дома 3!",
            "target": "chat",
            "author_id": 571000000007,
            "author_name": "Денис Крылов",
        },
    )
    for _ in range(100):
        if len(received) >= 2:
            break
        await asyncio.sleep(0.05)
    await runner.cleanup()


SCENARIOS: dict[str, tuple[str, Scenario]] = {
    "first_sync": (
        "first poll: topics, comments of the changed topic, a citizen topic, the group chat",
        first_sync,
    ),
    "incremental_sync": ("second poll after one new comment and one chat message", incremental_sync),
    "pagination": ("120 new comments, pages of 50: FORWARD by anchor with has_more", pagination),
    "deletion": ("a comment disappears: the count drops, a rescan reports DELETE", deletion),
    "reply_posting": (
        "addDiscussionComment as_admin in reply to a comment, and a Bot API chat message",
        reply_posting,
    ),
    "find_posted": ("reading back our reply after a crash mid-send", find_posted),
    "error_2_service": ("injected 5xx on /fb.do: error_code 2 with HTTP 200", _error("5xx", "fb.do")),
    "error_8_flood": ("injected 429 on /fb.do: error_code 8 with HTTP 200", _error("429", "fb.do")),
    "error_102_session_expired": ("a revoked access_token", session_expired),
    "error_104_bad_signature": ("application_secret_key out of sync with the application", bad_signature),
    "error_malformed": ("a body that is not JSON", _error("malformed", "fb.do")),
    "error_graph_502": ("the Bot API's front answers 502", _error("5xx", "graph")),
    "error_graph_429": ("the Bot API answers 429 with Retry-After", _error("429", "graph")),
    "webhook_delivery": (
        "subscribe, then a chat message delivered to the webhook (first answer 500, retried)",
        webhook_delivery,
    ),
}


async def record_all(root: Path = FIXTURES_DIR, only: list[str] | None = None) -> list[Path]:
    return [
        await _record(name, description, scenario, root)
        for name, (description, scenario) in SCENARIOS.items()
        if not only or name in only
    ]


if __name__ == "__main__":
    for path in asyncio.run(record_all(Path(sys.argv[1]) if len(sys.argv) > 1 else FIXTURES_DIR)):
        print(path)
