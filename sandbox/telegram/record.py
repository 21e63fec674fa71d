"""Record the Telegram cassettes (fixtures/telegram/*.json) from the emulator, through the real
connector: `python -m sandbox.telegram.record [--out DIR]`.

The emulator runs on a fixed clock and starts from the same state each time, so recording again
gives the same files unless the emulator or the connector changed. Tokens and the webhook secret
are scrubbed to `{token}` / `{webhook_secret}`, citizens' names to fake ones.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from connectors.base import SourceConfig
from connectors.errors import ConnectorError
from connectors.telegram.connector import SECRET_HEADER, TelegramConnector
from otklik.models import Reply, Thread
from sandbox.cassette import FIXTURES_DIR
from sandbox.recorder import Recorder
from sandbox.runner import ThreadedServer, serving
from sandbox.telegram.emulator import BOT, CHANNEL, GROUP, TOKEN, TelegramEmulator
from sandbox.telegram.receiver import WebhookReceiver

START = 1_767_250_800  # 2026-01-01 10:00 Moscow time
WEBHOOK_SECRET = "recording-webhook-secret"
KEEP_NAMES = {BOT["first_name"], BOT["username"], GROUP["username"], CHANNEL["username"], "Telegram"}
PUBLIC_WEBHOOK_URL = "https://otklik.example/webhooks/telegram:main"  # shown instead of the local one


class Clock:
    """The emulator's time, moved only by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Session:
    """One scenario: a fresh emulator, a connector whose HTTP client records, helpers to drive them."""

    def __init__(self, server: ThreadedServer, recorder: Recorder, options: dict[str, Any]) -> None:
        self.server = server
        self.emulator: TelegramEmulator = server.emulator  # type: ignore[assignment]
        self.recorder = recorder
        self.http = httpx.AsyncClient(event_hooks=recorder.hooks(), timeout=10)
        self.conn = self.connector(options)

    def connector(self, options: dict[str, Any] | None = None) -> TelegramConnector:
        config = SourceConfig(
            name="telegram:main",
            platform="telegram",
            base_url=self.server.url,
            secrets={"token": TOKEN, "webhook_secret": WEBHOOK_SECRET},
            options={"poll_timeout": 0, "retry_backoff": 0.01, **(options or {})},
        )
        return TelegramConnector(config, client=self.http)

    def inject(self, **payload: Any) -> dict[str, Any]:
        self.emulator.clock.now += 7  # citizens write a few seconds apart
        if payload.get("kind", "new") == "new" and "author_id" in payload:
            payload.setdefault("author_name", f"Житель {payload['author_id']}")  # scrubbed to a fake name
        return self.server.call(self.emulator.inject, payload)

    def fault(self, **rule: Any) -> None:
        self.server.call(self.emulator.faults.add, rule)

    def reply(self, created: dict[str, Any], text: str, **ids: Any) -> Reply:
        thread = {"chat_id": created["chat_id"], "message_id": created["message_id"], **ids}
        return Reply(
            id=f"reply-{created['chat_id']}-{created['message_id']}",
            source="telegram:main",
            platform="telegram",
            thread=Thread(kind="chat", ids=thread),
            text=text,
        )

    async def attempt(self, coro: Awaitable[Any]) -> Any:
        """Run a call expected to fail; the failure is what the cassette is for."""
        try:
            return await coro
        except ConnectorError as exc:
            return exc


async def first_sync(s: Session) -> None:
    s.inject(
        text="Добрый день! Во дворе дома 5 по улице Садовой не горит фонарь.",
        author_id=501,
        author_last_name="Садовая",
        author_username="sadovaya_resident",
    )
    s.inject(text="Когда починят лифт в доме 12?", chat="group", author_id=502)
    s.inject(text="А нашу улицу Лесную отремонтируют?", chat="channel_comment", author_id=503)
    s.inject(text="Фото ямы у остановки", photo=True, author_id=504)
    await s.conn.fetch(None)


async def incremental_sync(s: Session) -> None:
    first = s.inject(text="Нет горячей воды с понедельника.", author_id=511)
    batch = await s.conn.fetch(None)
    s.inject(
        kind="edit",
        chat_id=first["chat_id"],
        message_id=first["message_id"],
        text="Нет горячей воды с понедельника, дом 3 по улице Мира.",
    )
    s.inject(text="Спасибо, свет дали.", chat="group", author_id=512)
    batch = await s.conn.fetch(batch.next_cursor)
    await s.conn.fetch(batch.next_cursor)  # confirms the second batch, finds nothing new


async def pagination(s: Session) -> None:
    for i in range(5):
        s.inject(text=f"Обращение номер {i + 1} о вывозе мусора.", author_id=520 + i)
    cursor = None
    while True:
        batch = await s.conn.fetch(cursor)
        cursor = batch.next_cursor or cursor
        if not batch.has_more:
            break
    await s.conn.fetch(cursor)


async def duplicate_delivery(s: Session) -> None:
    s.inject(text="Сломана скамейка в сквере.", author_id=530)
    batch = await s.conn.fetch(None)
    s.fault(kind="duplicate", match="getUpdates", count=1)
    s.inject(text="И урна тоже сломана.", author_id=530)
    await s.conn.fetch(batch.next_cursor)  # the first update again, beside the new one


async def error_5xx_recovered(s: Session) -> None:
    s.inject(text="Не убран снег у школы.", author_id=540)
    s.fault(kind="5xx", match="getUpdates", count=1)
    await s.conn.fetch(None)  # a 502, then the retry succeeds


async def error_5xx(s: Session) -> None:
    s.fault(kind="5xx", match="getUpdates", count=3)
    await s.attempt(s.conn.fetch(None))


async def error_malformed(s: Session) -> None:
    s.fault(kind="malformed", match="getUpdates", count=3)
    await s.attempt(s.conn.fetch(None))


async def error_429(s: Session) -> None:
    s.fault(kind="429", match="getUpdates", count=1, retry_after=5)
    await s.attempt(s.conn.fetch(None))


async def error_auth(s: Session) -> None:
    s.server.call(s.emulator.revoke)
    await s.attempt(s.conn.fetch(None))


async def error_conflict(s: Session) -> None:
    await s.conn.register_webhook("http://127.0.0.1:9/webhooks/telegram:main")
    await s.attempt(s.conn.fetch(None))


async def reply_posting(s: Session) -> None:
    created = s.inject(text="Добрый день! Когда уберут мусор у дома 7?", author_id=550)
    await s.conn.fetch(None)
    await s.conn.send(s.reply(created, "Здравствуйте! Мусор вывезут сегодня до 18:00."))


async def reply_in_discussion(s: Session) -> None:
    created = s.inject(
        text="Почему не чистят тротуары на улице Лесной?", chat="channel_comment", author_id=560
    )
    [comment] = (await s.conn.fetch(None)).messages
    await s.conn.send(
        s.reply(
            created,
            "Здравствуйте! Тротуары очистят до конца недели.",
            message_thread_id=comment.thread.ids["message_thread_id"],
        )
    )


async def send_errors(s: Session) -> None:
    blocked = s.inject(text="Вопрос про парковку.", author_id=570)
    s.server.call(s.emulator.blocked_chats.add, blocked["chat_id"])
    await s.attempt(s.conn.send(s.reply(blocked, "Здравствуйте!")))
    gone = s.inject(text="Вопрос про детскую площадку.", chat="group", author_id=571)
    s.inject(kind="delete", chat_id=gone["chat_id"], message_id=gone["message_id"])
    await s.attempt(s.conn.send(s.reply(gone, "Здравствуйте! Площадку отремонтируют.")))


async def send_rate_limited(s: Session) -> None:
    created = s.inject(text="Где оплатить квитанцию?", author_id=580)
    await s.conn.send(s.reply(created, "Здравствуйте! В любом отделении банка."))
    other = s.connector()  # a second process without a shared limiter: the platform says 429
    await s.attempt(other.send(s.reply(created, "И через приложение банка.")))


async def check_ok(s: Session) -> None:
    await s.conn.check()


async def check_webhook_conflict(s: Session) -> None:
    await s.conn.register_webhook("http://127.0.0.1:9/webhooks/telegram:main")
    await s.conn.check()


async def webhook_deliveries(s: Session) -> None:
    """Telegram POSTs each update to us; the cassette holds those requests and our answers."""

    async def handle(body: bytes, headers) -> tuple[int, str]:
        try:
            await s.conn.handle_webhook(body, headers)
        except ConnectorError as exc:
            return (403 if exc.kind == "auth_failed" else 400), exc.kind
        return 200, "ok"

    receiver = WebhookReceiver(handle, fail_first=1, path="/webhooks/telegram:main")
    with serving(receiver) as hook:  # type: ignore[arg-type]
        s.recorder.replace(hook.url + receiver.path, PUBLIC_WEBHOOK_URL)
        await s.conn.register_webhook(hook.url + receiver.path)
        s.inject(text="Добрый день! Прорвало трубу на улице Южной.", author_id=590)
        s.inject(text="Когда откроют поликлинику после ремонта?", chat="group", author_id=591)
        s.inject(text="Спасибо за новость!", chat="channel_comment", author_id=592)
        for _ in range(200):
            if hook.call(lambda: sum(1 for r in receiver.received if r["status"] == 200)) >= 5:
                break  # two citizens, the channel post, its forward, one comment
            await asyncio.sleep(0.05)
        for delivery in hook.call(lambda: list(receiver.received)):
            headers = {
                k: v
                for k, v in delivery["headers"].items()
                if k.lower() in (SECRET_HEADER.lower(), "content-type")
            }
            s.recorder.add(
                {
                    "method": "POST",
                    "path": "/webhooks/telegram:main",
                    "headers": headers,
                    "json": delivery["json"],
                },
                {"status": delivery["status"], "text": delivery["text"]},
            )
        await s.conn.check()


SCENARIOS: dict[str, tuple[Callable[[Session], Awaitable[None]], dict[str, Any], str]] = {
    "first_sync": (
        first_sync,
        {},
        "getUpdates without an offset: a private message, a group message, a "
        "channel post with its automatic forward and one comment, a photo with a caption",
    ),
    "incremental_sync": (
        incremental_sync,
        {},
        "offset = last update_id + 1 confirms the stored batch; an edit "
        "arrives as edited_message; an empty answer keeps the cursor",
    ),
    "pagination": (pagination, {"limit": 2}, "limit=2: full pages mean has_more"),
    "duplicate_delivery": (duplicate_delivery, {}, "an already confirmed update delivered again"),
    "error_5xx_recovered": (error_5xx_recovered, {}, "one 502, then the read is retried and succeeds"),
    "error_5xx": (error_5xx, {}, "502 three times: Transient after the read retries"),
    "error_malformed": (error_malformed, {}, "a body that is not JSON three times: Transient"),
    "error_429": (error_429, {}, "429 with parameters.retry_after: RateLimited"),
    "error_auth": (error_auth, {}, "a revoked token: 401 Unauthorized, AuthFailed"),
    "error_conflict": (error_conflict, {}, "getUpdates while a webhook is set: 409 Conflict -> Fatal(alert=True), a configuration problem"),
    "reply_posting": (reply_posting, {}, "sendMessage with reply_parameters in a private chat"),
    "reply_in_discussion": (
        reply_in_discussion,
        {},
        "a reply to a comment under a channel post, in its thread",
    ),
    "send_errors": (send_errors, {}, "403 bot was blocked by the user; 400 message to be replied not found"),
    "send_rate_limited": (send_rate_limited, {}, "a second message to the same chat within a second: 429"),
    "check_ok": (check_ok, {}, "getMe and getWebhookInfo of a healthy polling bot"),
    "check_webhook_conflict": (check_webhook_conflict, {}, "a webhook is set while the source polls"),
    "webhook_deliveries": (
        webhook_deliveries,
        {"webhook": True},
        "setWebhook with secret_token; Telegram's "
        "deliveries (the first one answered 500 and retried) with the secret header",
    ),
}


async def record(name: str, out: Path) -> Path:
    drive, options, description = SCENARIOS[name]
    emulator = TelegramEmulator(clock=Clock(START), long_poll_cap=0.5)
    recorder = Recorder(
        "telegram",
        name,
        secrets={"token": TOKEN, "webhook_secret": WEBHOOK_SECRET},
        keep_names=KEEP_NAMES,
        description=description,
    )
    with serving(emulator) as server:
        session = Session(server, recorder, options)
        try:
            await drive(session)
        finally:
            await session.http.aclose()
    return recorder.save(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=FIXTURES_DIR, help="fixtures root (default: %(default)s)")
    parser.add_argument("scenarios", nargs="*", help=f"default: all ({', '.join(SCENARIOS)})")
    args = parser.parse_args(argv)
    for name in args.scenarios or SCENARIOS:
        print(asyncio.run(record(name, args.out)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
