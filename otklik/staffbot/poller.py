"""The staff bot's poller: reads what people wrote to the bot (Telegram getUpdates, MAX GET
/updates), links and unlinks chats, answers in Russian. One per enabled platform, run by the daemon
under the lease `staffbot:<platform>` like the sources' pollers.

The position (Telegram's offset, MAX's marker) is stored in `cursors` under `#staffbot:<platform>`
('#' is never in a source's name) in the same transaction as the links the batch made, so a
restart neither loses a `/start` nor applies one twice (a used code answers "already used").
Answers go after that commit: a crash in between leaves one person without the «Готово», never
with a half-made link. Nothing a person writes here is stored: the bot is no citizens' source.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from html import escape

import httpx
from sqlalchemy.orm import Session

from connectors.errors import AuthFailed, ConnectorError, RateLimited
from otklik.services import staff_links
from otklik.staffbot import commands
from otklik.staffbot.bots import StaffBot, bot_for, http_client
from otklik.staffbot.commands import Command
from otklik.staffbot.config import StaffBotSettings
from storage.db import Database
from storage.messages import get_cursor, set_cursor

log = logging.getLogger("otklik.staffbot")
AUTH_RETRY = 600.0  # a refused token is asked about every 10 minutes, not hammered
MAX_BACKOFF = 300.0


def cursor_key(platform: str) -> str:
    return f"#staffbot:{platform}"


class Attempts:
    """Wrong codes per chat in a sliding window: after `limit` of them the chat's `/start` is not
    even looked at until the window has passed (guessing a 40-bit code by the bot is hopeless
    anyway; this keeps someone from trying). Kept in memory: one poller per platform holds the lease."""

    def __init__(self, limit: int = 5, window: float = 15 * 60, clock=time.monotonic) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._failed: dict[str, list[float]] = {}

    def blocked(self, chat_id: str) -> bool:
        horizon = self.clock() - self.window
        recent = [t for t in self._failed.get(chat_id, []) if t > horizon]
        if recent:
            self._failed[chat_id] = recent
        else:
            self._failed.pop(chat_id, None)
        return len(recent) >= self.limit

    def failed(self, chat_id: str) -> None:
        self._failed.setdefault(chat_id, []).append(self.clock())


def decide(session: Session, platform: str, command: Command, attempts: Attempts | None = None) -> str | None:
    """Apply one command in the open transaction; the answer to send, or None."""
    if command.kind == "start":
        if not command.code:
            return commands.NO_CODE
        if attempts is not None and attempts.blocked(command.chat_id):
            return commands.TOO_MANY
        bound = staff_links.bind(session, platform, command.chat_id, command.code)
        if bound.outcome != "linked" and attempts is not None:
            attempts.failed(command.chat_id)
        return commands.answer_to_start(bound.outcome, True)
    if command.kind in ("stop", "stopped"):
        login = staff_links.unlink_chat(session, platform, command.chat_id)
        if command.kind == "stopped":
            return None  # the person stopped the bot: a message would be refused anyway
        return commands.STOPPED if login else commands.NOT_LINKED
    if command.kind == "group":
        return commands.PRIVATE_ONLY
    if staff_links.is_linked(session, platform, command.chat_id):
        return commands.LINKED_INFO
    return commands.NO_CODE


class StaffBotPoller:
    def __init__(self, db: Database, platform: str, bot: StaffBot, *, wait: int = 25,
                 http: httpx.AsyncClient | None = None) -> None:
        self.db = db
        self.platform = platform
        self.bot = bot
        self.wait = wait
        self.http = http  # closed by aclose (the daemon's poller owns its client)
        self.failures = 0
        self.linked = 0  # links made since start (tests, logs)
        self.attempts = Attempts()

    def _apply(self, found: list[Command], next_cursor: str | None) -> list[tuple[str, str]]:
        answers: list[tuple[str, str]] = []
        with self.db.session() as s:
            for command in found:
                text = decide(s, self.platform, command, self.attempts)
                if text == commands.LINKED:
                    self.linked += 1
                if text is not None:
                    answers.append((command.chat_id, text))
            if next_cursor is not None:
                set_cursor(s, cursor_key(self.platform), next_cursor)
        return answers

    def _cursor(self) -> str | None:
        with self.db.session() as s:
            return get_cursor(s, cursor_key(self.platform))

    def _backoff(self) -> float:
        return min(MAX_BACKOFF, 2 ** min(self.failures, 8)) * random.uniform(0.5, 1.0)

    async def step(self) -> float:
        """One read of the bot's updates; returns how long to wait before the next."""
        cursor = await asyncio.to_thread(self._cursor)
        try:
            found, next_cursor = await self.bot.updates(cursor, self.wait)
        except AuthFailed as exc:
            log.warning("staff bot token refused", extra={"platform": self.platform, "code": exc.code})
            return AUTH_RETRY
        except RateLimited as exc:
            return max(exc.retry_after, 0.1)
        except ConnectorError as exc:
            self.failures += 1
            log.warning("staff bot poll failed", extra={"platform": self.platform, "error": exc.kind})
            return self._backoff()
        self.failures = 0
        answers = await asyncio.to_thread(self._apply, found, next_cursor)
        for chat_id, text in answers:
            try:
                await self.bot.send(chat_id, commands_html(text))
            except ConnectorError as exc:  # a person who blocked the bot meanwhile: nothing to do
                log.warning("staff bot answer not sent", extra={"platform": self.platform, "error": exc.kind})
        if found:
            log.info("staff bot commands handled", extra={"platform": self.platform, "count": len(found)})
        return 0.0

    async def aclose(self) -> None:
        if self.http is not None:
            await self.http.aclose()


def commands_html(text: str) -> str:
    """The bot's own answers go out in the same parse mode as notes: escaped."""
    return escape(text, quote=False)


def pollers(db: Database, settings: StaffBotSettings) -> list[StaffBotPoller]:
    """One poller per platform whose staff bot is on and whose token is found."""
    out = []
    for platform in settings.enabled():
        if settings.token(platform) is None:
            log.warning("staff bot token not found; not polling", extra={"platform": platform})
            continue
        http = http_client(settings, platform, timeout=settings.poll_timeout + 20.0)
        bot = bot_for(settings, platform, http)
        assert bot is not None  # the token was just found
        out.append(StaffBotPoller(db, platform, bot, wait=settings.poll_timeout, http=http))
    return out
