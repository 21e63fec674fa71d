"""The staff bot as a notification channel: `TELEGRAM` and `MAX` (the Channel contract of base.py).

A person's address is the chat they linked (otklik.services.staff_links); a note goes there as one
HTML message — the subject in bold on the first line, the text, the console link — with every
piece escaped, so nothing a citizen wrote can become markup. Errors come classified by the
connectors' clients (connectors/errors.py) and are mapped once, here: a blocked bot, a chat that
is gone or a refused message will not get better (permanent); rate limits, 5xx and network
failures will (retried with back-off). Never logged: the token, the chat id, the text.
"""

from __future__ import annotations

import logging
from html import escape
from typing import TYPE_CHECKING

from connectors.errors import AuthFailed, ConnectorError, Fatal
from otklik.notify.channels.base import Note, SendError
from otklik.staffbot import bots

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from otklik.settings import Settings
    from storage.tables import UserRow

log = logging.getLogger("otklik.notify.staffbot")
LINK_TITLE = "Открыть в консоли"


def note_html(note: Note, limit: int) -> str:
    """The note as the bot writes it: `<b>subject</b>`, the text, the link; escaped, and the text
    shortened so the whole stays within the platform's `limit` (counted on the raw HTML, which is
    never shorter than what the platform counts)."""
    subject = escape(" ".join(note.subject.split())[:256])
    link = f'\n\n<a href="{escape(note.link, quote=True)}">{LINK_TITLE}</a>' if note.link else ""
    head = f"<b>{subject}</b>\n"
    room = limit - len(head) - len(link)
    raw = note.text.strip()
    if len(escape(raw)) > room:
        # Cut the raw text (never inside an entity such as &amp;) and mark the cut.
        raw = raw[: max(0, room - 1)]
        while raw and len(escape(raw)) > room - 1:
            raw = raw[:-1]
        return head + escape(raw) + "…" + link
    text = escape(raw)
    return head + text + link


def send_error(exc: ConnectorError) -> SendError:
    """The channel's verdict on a platform's classified error."""
    if isinstance(exc, AuthFailed):
        # The bot's token is refused: the operator must fix the configuration; later tries may
        # then succeed, so the note is not given up on.
        return SendError(f"the staff bot's token is refused ({exc.platform})", permanent=False)
    if isinstance(exc, Fatal):  # 400/403: chat not found, bot blocked by the person, chat.denied
        return SendError(f"{exc.platform} refused the message ({exc.code})", permanent=True)
    return SendError(f"{exc.platform}: {exc.kind} ({exc.code})", permanent=False)  # 429, 5xx, network


class StaffBotChannel:
    def __init__(self, name: str) -> None:
        self.name = name

    def address(self, session: Session, user: UserRow) -> str | None:
        # Imported here: the notification core is imported by services that write notifications,
        # and this keeps the channel registry free of an import cycle through otklik.services.
        from otklik.services import staff_links

        if not user.active:  # a deactivated or dismissed person's phone is no longer the office's
            return None
        return staff_links.chat_of(session, user.id, self.name)

    async def send(self, settings: Settings, address: str, note: Note) -> None:
        config = settings.staff_bot
        async with bots.http_client(config, self.name) as http:
            bot = bots.bot_for(config, self.name, http)
            if bot is None:
                raise SendError(f"the staff bot in {self.name} is not configured ([staff_bot])", permanent=True)
            try:
                await bot.send(address, note_html(note, bots.MAX_TEXT[self.name]))
            except ConnectorError as exc:
                err = send_error(exc)
                log.warning("staff bot note not sent", extra={"platform": self.name, "error": exc.kind,
                                                              "code": exc.code, "permanent": err.permanent})
                raise err from None
        log.info("staff bot note sent", extra={"platform": self.name})


TELEGRAM = StaffBotChannel("telegram")
MAX = StaffBotChannel("max")
