"""Record the VK cassettes (fixtures/vk/*.json) from the emulator, through the real connector:
`python -m sandbox.vk.record [--out DIR] [scenario ...]`.

The emulator runs on a clock that ticks a fixed step per reading and is seeded, so recording again
gives the same files unless the emulator or the connector changed. Tokens and the Callback secret
are scrubbed to `{token}`, `{service_token}`, `{user_token}`, `{callback_secret}`; the local
address to `https://api.vk.test`; citizens' names to fake ones.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

from connectors.base import SourceConfig
from connectors.errors import ConnectorError
from connectors.vk.connector import VkConnector
from otklik.models import Reply, Thread
from sandbox.cassette import FIXTURES_DIR
from sandbox.recorder import Recorder
from sandbox.runner import ThreadedServer, serving
from sandbox.vk.emulator import CALLBACK_SECRET, COMMUNITY_TOKEN, SERVICE_TOKEN, USER_TOKEN, VkEmulator
from sandbox.vk.media import KEYS as MEDIA_KEYS
from sandbox.vk.world import GROUP, GROUP_ID

START = 1_767_250_800  # 2026-01-01 10:00 Moscow time
REPLAY_BASE = "https://api.vk.test"
SOURCE = "vk:main"
SECRETS = {
    "token": COMMUNITY_TOKEN,
    "service_token": SERVICE_TOKEN,
    "user_token": USER_TOKEN,
    "callback_secret": CALLBACK_SECRET,
}
KEEP_NAMES = {GROUP["name"], GROUP["screen_name"], "Ольга", "Админова"}


class TickingClock:
    """The emulator's time: a small fixed step per reading, so rate windows slide and dates
    differ, the same way on every run."""

    def __init__(self, start: float, step: float = 0.4) -> None:
        self.now = start
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


class Receiver:
    """Our /webhooks/<source> as the daemon serves it, for the Callback API to deliver to."""

    name = "vk-callback-receiver"

    def __init__(self, conn: VkConnector, fail_first: int = 0) -> None:
        self.conn = conn
        self.fail_first = fail_first
        self.received: list[dict[str, Any]] = []

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(f"/webhooks/{SOURCE}", self._receive)
        return app

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        status, text = await self.handle(body, request.headers)
        self.received.append(
            {
                "headers": {
                    k: v
                    for k, v in request.headers.items()
                    if k.lower() in ("content-type", "x-retry-counter")
                },
                "json": json.loads(body),
                "status": status,
                "text": text,
            }
        )
        return web.Response(status=status, text=text)

    async def handle(self, body: bytes, headers: Mapping[str, str]) -> tuple[int, str]:
        if self.fail_first > 0 and json.loads(body).get("type") != "confirmation":
            self.fail_first -= 1
            return 500, "database is down"
        try:
            result = await self.conn.handle_webhook(body, headers)
        except ConnectorError as exc:
            return (403 if exc.kind == "auth_failed" else 400), exc.kind
        return result.status, result.body


class Session:
    def __init__(
        self, server: ThreadedServer, recorder: Recorder, options: dict[str, Any], secrets: dict[str, str]
    ) -> None:
        self.server = server
        self.emulator: VkEmulator = server.emulator  # type: ignore[assignment]
        self.recorder = recorder
        recorder.replace(server.url, REPLAY_BASE)
        self.http = httpx.AsyncClient(event_hooks=recorder.hooks(), timeout=10)
        self.conn = self.connector(options, secrets)

    def connector(
        self, options: dict[str, Any] | None = None, secrets: dict[str, str] | None = None
    ) -> VkConnector:
        config = SourceConfig(
            name=SOURCE,
            platform="vk",
            base_url=self.server.url,
            secrets=secrets or SECRETS,
            options={"group_id": GROUP_ID, "wait": 0, "read_backoff": 0.01, **(options or {})},
        )
        conn = VkConnector(config, client=self.http)
        conn.clock = self.emulator.clock
        return conn

    def inject(self, **payload: Any) -> dict[str, Any]:
        self.emulator.clock.now += 7  # citizens write a few seconds apart
        if payload.get("kind", "new") == "new" and "author_id" in payload:
            payload.setdefault("author_name", f"Житель {payload['author_id']}")  # scrubbed to a fake name
        return self.server.call(self.emulator.inject, payload)

    def call(self, fn: Callable, *args: Any) -> Any:
        return self.server.call(fn, *args)

    async def attempt(self, coro: Awaitable[Any]) -> Any:
        try:
            return await coro
        except ConnectorError as exc:
            return exc

    async def drain(self, cursor: str | None, conn: VkConnector | None = None) -> str | None:
        """Fetch until the connector has nothing more at once; returns the last cursor."""
        for _ in range(100):
            batch = await (conn or self.conn).fetch(cursor)
            cursor = batch.next_cursor or cursor
            if not batch.has_more:
                break
        return cursor


def reply(created: dict[str, Any], text: str) -> Reply:
    if "peer_id" in created:
        thread = Thread(
            kind="message",
            ids={
                "peer_id": created["peer_id"],
                "conversation_message_id": created["conversation_message_id"],
            },
        )
    elif created.get("where") in MEDIA_KEYS:
        id_key = MEDIA_KEYS[created["where"]][0]
        thread = Thread(
            kind=created["where"],
            ids={"owner_id": created["owner_id"], id_key: created[id_key], "comment_id": created["comment_id"]},
        )
    elif "topic_id" in created:
        thread = Thread(
            kind="board",
            ids={"group_id": GROUP_ID, "topic_id": created["topic_id"], "comment_id": created["comment_id"]},
        )
    else:
        ids = {"owner_id": created["owner_id"], "post_id": created["post_id"]}
        if "comment_id" in created:
            ids["comment_id"] = created["comment_id"]
        thread = Thread(kind="wall", ids=ids)
    return Reply(id=f"reply-{created['id']}", source=SOURCE, platform="vk", thread=thread, text=text)


async def first_sync(s: Session) -> None:
    s.inject(
        text="Добрый день! Во дворе дома 5 по улице Садовой не горит фонарь.", where="comment", author_id=501
    )
    s.inject(text="Когда отремонтируют дорогу на улице Лесной?", where="post", author_id=502)
    s.inject(text="Прошу вывезти мусор с площадки у дома 9.", where="message", author_id=503)
    s.inject(text="Будет ли автобус до села Каменка зимой?", where="board", author_id=504)
    await s.drain(None)  # the stream's position, then the backfill over REST, then the long poll


async def incremental_sync(s: Session) -> None:
    cursor = await s.drain(None)
    first = s.inject(text="Нет горячей воды с понедельника.", where="comment", author_id=511)
    s.inject(
        text="Подтверждаю, в доме 3 тоже нет.", where="reply", comment_id=first["comment_id"], author_id=512
    )
    s.inject(text="Фото ямы у остановки", where="message", author_id=513, attachments=[{"type": "photo"}])
    batch = await s.conn.fetch(cursor)
    await s.conn.send(reply(first, "Здравствуйте! Подачу воды восстановят к вечеру."))
    s.inject(kind="edit", text="Нет горячей воды с понедельника, улица Мира, 3.", **_ids(first))
    gone = s.inject(text="Ошибся адресом", where="comment", author_id=514)
    s.inject(kind="delete", **_ids(gone))
    batch = await s.conn.fetch(batch.next_cursor)  # the edit, our own comment (skipped), the deletion
    await s.conn.fetch(batch.next_cursor)  # nothing new


def _ids(created: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v
        for k, v in created.items()
        if k
        in ("where", "owner_id", "post_id", "comment_id", "peer_id", "conversation_message_id", "topic_id",
            "photo_id", "video_id", "item_id")
    }


async def pagination(s: Session) -> None:
    """A reconciliation in pages of 2: posts, comments with a long thread, a topic, conversations."""
    first = s.inject(text="Обращение 1: не работает светофор.", where="comment", author_id=520)
    for i in range(2, 5):
        s.inject(text=f"Обращение {i}: разбита дорога.", where="comment", author_id=520 + i)
    for i in range(3):
        s.inject(
            text=f"Ответ в ветке {i + 1}: поддерживаю.",
            where="reply",
            comment_id=first["comment_id"],
            author_id=530 + i,
        )
    s.inject(text="Пост жителя о парковке.", where="post", author_id=540)
    for i in range(3):
        s.inject(text=f"В обсуждении {i + 1}: когда уберут снег?", where="board", author_id=550 + i)
        s.inject(text=f"Личное сообщение {i + 1}: нет отопления.", where="message", author_id=560 + i)
    await s.drain(None)


async def long_poll_failed_1(s: Session) -> None:
    cursor = await s.drain(None)
    s.call(s.emulator.drop_history)
    s.inject(text="Сообщение, потерянное в разрыве.", where="comment", author_id=570)
    s.call(s.emulator.drop_history)
    await s.drain(cursor)  # failed 1 -> new ts and a reconciliation that finds it


async def long_poll_failed_2(s: Session) -> None:
    cursor = await s.drain(None)
    s.call(s.emulator.expire_keys)
    s.inject(text="Ничего не потеряно при смене ключа.", where="message", author_id=571)
    await s.drain(cursor)  # failed 2 -> a new key, the same ts


async def long_poll_failed_3(s: Session) -> None:
    cursor = await s.drain(None)
    s.inject(text="Сообщение перед потерей информации.", where="comment", author_id=572)
    s.call(s.emulator.lose_info)
    await s.drain(cursor)  # failed 3 -> a new key and ts, and a reconciliation


async def reply_posting(s: Session) -> None:
    cursor = await s.drain(None)
    comment = s.inject(text="Когда уберут мусор у дома 7?", where="comment", author_id=580)
    thread = s.inject(text="И у дома 9 тоже.", where="reply", comment_id=comment["comment_id"], author_id=581)
    post = s.inject(text="Предлагаю поставить скамейки в сквере.", where="post", author_id=582)
    message = s.inject(text="Где получить справку о составе семьи?", where="message", author_id=583)
    board = s.inject(text="Когда откроют каток?", where="board", author_id=584)
    await s.conn.fetch(cursor)
    for created, text in (
        (comment, "Здравствуйте! Мусор вывезут сегодня."),
        (thread, "Здравствуйте! И там тоже."),
        (post, "Спасибо! Рассмотрим."),
        (message, "Здравствуйте! В МФЦ."),
        (board, "Каток откроют 15 декабря."),
    ):
        await s.conn.send(reply(created, text))
    await s.conn.send(
        reply(comment, "Здравствуйте! Мусор вывезут сегодня.")
    )  # a retry: VK returns the same id


async def media_comments(s: Session) -> None:
    """Comments under the community's photo, video and market item: new, a reply in a photo
    comment's thread, edit, delete, restore; our answers through photos/video/market.createComment
    come back in the stream (and are skipped); a retried answer keeps its guid."""
    cursor = await s.drain(None)
    photo = s.inject(text="На фото видно, что площадку так и не убрали.", where="photo", author_id=640)
    thread = s.inject(text="Да, и урны переполнены.", where="photo", comment_id=photo["comment_id"], author_id=641)
    video = s.inject(text="Когда покажут запись публичных слушаний целиком?", where="video", author_id=642)
    market = s.inject(text="Можно ли оплатить вывоз мусора на месте?", where="market", author_id=643)
    batch = await s.conn.fetch(cursor)
    s.inject(kind="edit", text="На фото видно, что площадку у дома 4 так и не убрали.", **_ids(photo))
    s.inject(kind="delete", **_ids(thread))
    s.inject(kind="restore", **_ids(thread))
    batch = await s.conn.fetch(batch.next_cursor)  # the edit, the deletion, the restore
    for created, text in (
        (photo, "Здравствуйте! Площадку уберут до пятницы."),
        (video, "Запись опубликуем на этой неделе."),
        (market, "Да, оплатить можно на месте."),
    ):
        await s.conn.send(reply(created, text))
    await s.conn.send(reply(photo, "Здравствуйте! Площадку уберут до пятницы."))  # a retry: the same comment
    await s.conn.fetch(batch.next_cursor)  # our three answers come back: none is a citizen's


async def error_7_permission(s: Session) -> None:
    photo = s.inject(text="Вопрос под фотографией.", where="photo", author_id=650)
    s.call(s.emulator.force_error, 7, "photos.createComment", 1)
    await s.attempt(s.conn.send(reply(photo, "Здравствуйте!")))


async def error_15_access(s: Session) -> None:
    video = s.inject(text="Вопрос под видео.", where="video", author_id=651)
    s.call(s.emulator.force_error, 15, "video.createComment", 1)
    await s.attempt(s.conn.send(reply(video, "Здравствуйте!")))


async def error_17_validation(s: Session) -> None:
    s.call(s.emulator.force_error, 17, "groups.getLongPollServer", 1)
    await s.attempt(s.conn.fetch(None))


async def find_posted(s: Session) -> None:
    comment = s.inject(text="Не горит фонарь на Садовой.", where="comment", author_id=590)
    message = s.inject(text="Когда будет вода?", where="message", author_id=591)
    for created, text in ((comment, "Фонарь починят завтра."), (message, "Воду дадут к 18:00.")):
        r = reply(created, text)
        await s.conn.find_posted(r)  # not there yet
        await s.conn.send(r)
        await s.conn.find_posted(r)  # found by text (wall) and by random_id (messages)


async def error_5_auth(s: Session) -> None:
    s.call(s.emulator.revoke)
    await s.attempt(s.conn.fetch(None))


async def error_6_rate(s: Session) -> None:
    s.call(s.emulator.faults.add, {"kind": "429", "match": "/method/", "count": 1})
    await s.attempt(s.conn.fetch(None))


async def error_9_flood(s: Session) -> None:
    s.emulator.flood_per_minute = 1
    first = s.inject(text="Яма на дороге.", where="comment", author_id=600)
    second = s.inject(text="Ещё одна яма.", where="comment", author_id=601)
    await s.conn.send(reply(first, "Засыплем."))
    await s.attempt(s.conn.send(reply(second, "И эту засыплем.")))


async def error_10_internal(s: Session) -> None:
    s.call(s.emulator.force_error, 10, "groups.getLongPollServer", 3)
    await s.attempt(s.conn.fetch(None))  # three tries, then Transient


async def error_10_recovered(s: Session) -> None:
    s.call(s.emulator.force_error, 10, "groups.getLongPollServer", 1)
    await s.conn.fetch(None)  # the read is retried and succeeds


async def error_14_captcha(s: Session) -> None:
    message = s.inject(text="Вопрос про парковку.", where="message", author_id=610)
    s.call(s.emulator.force_error, 14, "messages.send", 1)
    await s.attempt(s.conn.send(reply(message, "Здравствуйте!")))


async def error_27_token_type(s: Session) -> None:
    """A community token configured where a service token belongs."""
    wrong = s.connector({"backfill_days": 1}, {"token": COMMUNITY_TOKEN, "service_token": COMMUNITY_TOKEN})
    await s.attempt(s.drain(None, wrong))


async def error_29_quota(s: Session) -> None:
    s.emulator.daily_quota = {"wall.get": 1}
    await s.attempt(s.conn.check())  # wall.get once: fine
    await s.attempt(s.conn.check())  # twice: the day's quota is spent


async def error_901_messages_denied(s: Session) -> None:
    message = s.inject(text="Спасибо за ответ.", where="message", author_id=620)
    s.call(s.emulator.deny_messages, message["peer_id"])
    await s.attempt(s.conn.send(reply(message, "Обращайтесь!")))


async def error_5xx(s: Session) -> None:
    s.call(s.emulator.faults.add, {"kind": "5xx", "match": "/method/", "count": 3})
    await s.attempt(s.conn.fetch(None))


async def error_malformed(s: Session) -> None:
    s.call(s.emulator.faults.add, {"kind": "malformed", "match": "/whp/", "count": 3})
    cursor = (await s.conn.fetch(None)).next_cursor
    await s.attempt(s.conn.fetch(cursor))


async def check_ok(s: Session) -> None:
    await s.conn.check()


async def webhook_deliveries(s: Session) -> None:
    """VK POSTs to us: the confirmation, then events; the first event is answered 500 (our store is
    down) and repeated with X-Retry-Counter; a duplicated event keeps its event_id."""
    receiver = Receiver(s.conn, fail_first=1)
    with serving(receiver) as hook:  # type: ignore[arg-type]
        url = f"{hook.url}/webhooks/{SOURCE}"
        s.recorder.replace(hook.url, "https://otklik.example")
        async with httpx.AsyncClient() as admin:  # as an admin adds the server in the community settings
            confirmed = (await admin.post(f"{s.server.url}/_sandbox/vk/callback", json={"url": url})).json()
        assert confirmed["confirmed"], confirmed
        s.inject(text="Прорвало трубу на улице Южной.", where="comment", author_id=630)
        s.call(s.emulator.faults.add, {"kind": "duplicate", "match": "inject", "count": 1})
        s.inject(text="Когда откроют поликлинику после ремонта?", where="message", author_id=631)
        for _ in range(200):
            if hook.call(lambda: sum(1 for r in receiver.received if r["status"] == 200)) >= 4:
                break  # the confirmation, the comment, the message twice
            await asyncio.sleep(0.05)
        for delivery in hook.call(lambda: list(receiver.received)):
            s.recorder.add(
                {
                    "method": "POST",
                    "path": f"/webhooks/{SOURCE}",
                    "headers": delivery["headers"],
                    "json": delivery["json"],
                },
                {"status": delivery["status"], "text": delivery["text"]},
            )


Scenario = tuple[Callable[[Session], Awaitable[None]], dict[str, Any], str]
SCENARIOS: dict[str, Scenario] = {
    "first_sync": (
        first_sync,
        {"backfill_days": 1},
        "groups.getLongPollServer takes the position; backfill_days=1 re-reads the last day over REST "
        "(service token): a citizen's post, a comment, a board post, a private message; then a_check",
    ),
    "incremental_sync": (
        incremental_sync,
        {},
        "a_check from the stored ts: a comment, a reply in its thread, a message with a photo; then "
        "an edit, our own comment coming back (skipped), a deletion; then an empty answer",
    ),
    "pagination": (
        pagination,
        {"backfill_days": 1, "page_size": 2},
        "a reconciliation in pages of 2: wall.get (others, owner), wall.getComments with offsets and a "
        "thread read by comment_id, board.getTopics/getComments, messages.getConversations/getHistory",
    ),
    "long_poll_failed_1": (
        long_poll_failed_1,
        {},
        "failed=1: a new ts, then a REST reconciliation finds what was lost",
    ),
    "long_poll_failed_2": (
        long_poll_failed_2,
        {},
        "failed=2: a new key from groups.getLongPollServer, the same ts",
    ),
    "long_poll_failed_3": (long_poll_failed_3, {}, "failed=3: a new key and ts, and a REST reconciliation"),
    "reply_posting": (
        reply_posting,
        {},
        "wall.createComment (reply_to_comment, from_group, guid) under a comment, in a thread and under "
        "a citizen's post; messages.send with random_id and forward.is_reply; board.createComment with a "
        "user token; a repeated guid returns the same comment",
    ),
    "find_posted": (
        find_posted,
        {},
        "read-back before a resumed send: wall.getComments by text, messages.getHistory by random_id",
    ),
    "media_comments": (
        media_comments,
        {},
        "photo_comment_new/edit/delete/restore, video_comment_new, market_comment_new in the long poll; "
        "answers with photos.createComment, video.createComment, market.createComment (user token, "
        "from_group=1, guid, reply_to_comment); a repeated guid returns the same comment",
    ),
    "error_7_permission": (
        error_7_permission, {}, "error 7 on photos.createComment (the token lacks the right) -> AuthFailed(alert=True)",
    ),
    "error_15_access": (error_15_access, {}, "error 15 on video.createComment (no access to the object) -> Fatal"),
    "error_17_validation": (
        error_17_validation, {}, "error 17 validation required on a read -> AuthFailed(alert=True), not retried",
    ),
    "error_5_auth": (error_5_auth, {}, "a revoked community token: error 5 -> AuthFailed"),
    "error_6_rate": (error_6_rate, {}, "error 6 too many requests per second -> RateLimited(retry_after=1)"),
    "error_9_flood": (error_9_flood, {}, "error 9 flood control on a write -> RateLimited(retry_after=60)"),
    "error_10_internal": (
        error_10_internal,
        {},
        "error 10 three times on a read -> Transient after the retries",
    ),
    "error_10_recovered": (error_10_recovered, {}, "error 10 once: the read is retried and succeeds"),
    "error_14_captcha": (
        error_14_captcha,
        {},
        "error 14 with captcha_sid/captcha_img -> AuthFailed(alert=True)",
    ),
    "error_27_token_type": (
        error_27_token_type,
        {},
        "a community token where a service token belongs: wall.get -> error 27 -> AuthFailed(alert=True)",
    ),
    "error_29_quota": (
        error_29_quota,
        {},
        "daily quota of wall.get spent: error 29 -> RateLimited until tomorrow",
    ),
    "error_901_messages_denied": (error_901_messages_denied, {}, "error 901 on messages.send -> Fatal"),
    "error_5xx": (error_5xx, {}, "HTTP 502 three times -> Transient after the read retries"),
    "error_malformed": (error_malformed, {}, "a long poll answer that is not JSON three times -> Transient"),
    "check_ok": (check_ok, {}, "groups.getById, groups.getLongPollSettings, wall.get with the service token"),
    "webhook_deliveries": (
        webhook_deliveries,
        {"mode": "callback"},
        "Callback API: confirmation answered with the code; events with secret and event_id; the "
        "first answered 500 and repeated with X-Retry-Counter; a duplicate keeps its event_id",
    ),
}


async def record(name: str, out: Path) -> Path:
    drive, options, description = SCENARIOS[name]
    emulator = VkEmulator(
        clock=TickingClock(START),
        long_poll_cap=0.2,
        callback_delays=(0.1, 0.2, 0.4),
        seed=sum(map(ord, name)),
    )
    recorder = Recorder("vk", name, secrets=SECRETS, keep_names=KEEP_NAMES, description=description)
    with serving(emulator) as server:
        session = Session(server, recorder, options, SECRETS)
        try:
            await drive(session)
        finally:
            await session.http.aclose()
    return recorder.save(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=FIXTURES_DIR, help="fixtures root (default: %(default)s)")
    parser.add_argument("scenarios", nargs="*", help=f"default: all ({', '.join(SCENARIOS)})")
    args = parser.parse_args(argv)
    for name in args.scenarios or SCENARIOS:
        print(asyncio.run(record(name, args.out)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
