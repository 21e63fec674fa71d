"""The staff bot's calls on each platform, over the connectors' own clients (their error
classification, their retries for reads): read the bot's updates from a stored position, and send
one HTML text to a person's chat. Nothing here logs: the token, chat ids and texts never leave it
except to the platform."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any, Protocol

import httpx

from connectors.errors import Malformed
from connectors.max.client import MaxClient
from connectors.parsing import integer
from connectors.telegram.client import TelegramClient
from otklik.staffbot import commands
from otklik.staffbot.commands import Command
from otklik.staffbot.config import StaffBotSettings

# The limits a text must keep (characters): Telegram's sendMessage 4096, MAX's 4000.
MAX_TEXT = {"telegram": 4096, "max": 4000}
MAX_UPDATE_TYPES = "message_created,bot_started,bot_stopped"


class StaffBot(Protocol):
    platform: str

    async def updates(self, cursor: str | None, wait: int) -> tuple[list[Command], str | None]:
        """The commands written since `cursor` and the cursor that confirms them."""
        ...

    async def send(self, chat_id: str, html: str) -> None:
        """One message in HTML (already escaped); raises the connectors' classified errors."""
        ...


class TelegramStaffBot:
    platform = "telegram"

    def __init__(self, http: httpx.AsyncClient, token: str, base_url: str | None = None) -> None:
        self.client = TelegramClient(http, token, base_url)

    async def updates(self, cursor: str | None, wait: int) -> tuple[list[Command], str | None]:
        offset = int(cursor) if cursor else None
        got = await self.client.long_poll(wait=wait, offset=offset, limit=100, allowed_updates=["message", "my_chat_member"])
        if not isinstance(got, list):
            raise Malformed("getUpdates returned something that is not a list", platform=self.platform)
        ids = [u["update_id"] for u in got
               if isinstance(u, dict) and isinstance(u.get("update_id"), int) and not isinstance(u["update_id"], bool)]
        found = [c for c in map(commands.telegram, got) if c is not None]
        if not ids:
            return found, cursor
        return found, str(max(max(ids) + 1, offset or 0))  # never back: a re-delivered old update

    async def send(self, chat_id: str, html: str) -> None:
        await self.client.call("sendMessage", chat_id=int(chat_id), text=html, parse_mode="HTML",
                               link_preview_options={"is_disabled": True})


class MaxStaffBot:
    platform = "max"

    def __init__(self, http: httpx.AsyncClient, token: str, base_url: str | None = None) -> None:
        self.client = MaxClient(http, token, base_url)

    async def updates(self, cursor: str | None, wait: int) -> tuple[list[Command], str | None]:
        marker = int(cursor) if cursor else None
        body = await self.client.read("/updates", http_timeout=wait + self.client.request_timeout, limit=100,
                                      timeout=wait, marker=marker, types=MAX_UPDATE_TYPES)
        if not isinstance(body, dict) or not isinstance(body.get("updates"), list):
            raise Malformed("GET /updates answered without an `updates` list", platform=self.platform)
        found = [c for c in map(commands.max_update, body["updates"]) if c is not None]
        got: Any = body.get("marker")
        try:
            next_marker = integer(got, lo=0) if got is not None else marker
        except ValueError:
            raise Malformed("GET /updates answered a marker that is not a number", platform=self.platform) from None
        if marker is not None and next_marker is not None:
            next_marker = max(next_marker, marker)
        return found, str(next_marker) if next_marker is not None else cursor

    async def send(self, chat_id: str, html: str) -> None:
        await self.client.request("POST", "/messages", params={"user_id": int(chat_id)},
                                  json_body={"text": html, "format": "html", "notify": True})


def http_client(settings: StaffBotSettings, platform: str, timeout: float = 35.0) -> httpx.AsyncClient:
    """The HTTP client for a platform's bot: MAX's host is signed by the Минцифры root, which a
    bundle given in `max_ca_bundle` adds (connectors/max does the same for citizens' bot)."""
    verify: Any = True
    if platform == "max" and settings.max_ca_bundle:
        verify = ssl.create_default_context(cafile=str(Path(settings.max_ca_bundle).expanduser()))
    return httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=5.0), verify=verify)


def bot_for(settings: StaffBotSettings, platform: str, http: httpx.AsyncClient) -> StaffBot | None:
    """The platform's staff bot, or None when it is off or its token is not found."""
    token = settings.token(platform)
    if token is None:
        return None
    cls = TelegramStaffBot if platform == "telegram" else MaxStaffBot
    return cls(http, token, settings.base_url(platform))
