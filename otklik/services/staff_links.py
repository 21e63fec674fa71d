"""Linking a person's chat with the staff bot (Telegram, MAX), so that notifications reach them there.

A person asks for a one-time code (API, CLI, console), writes `/start CODE` to the bot, and the bot
poller (otklik.staffbot.poller) binds that chat to them. Codes are random, kept only as SHA-256,
good once and for 15 minutes; asking again replaces the previous code. `/stop` in the chat, or
unlinking from the console, the API or the CLI, ends it. Every link and unlink is audited (the
platform only: chat ids stay out of the audit log, as out of the logs).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from otklik.actor import Actor
from otklik.exceptions import InvalidTransition
from otklik.services import access
from otklik.staffbot import PLATFORMS
from storage import audit
from storage.tables import StaffChatRow, StaffLinkCodeRow, UserRow, now

CODE_TTL = timedelta(minutes=15)
# No 0/O, 1/I/L: a code read off a screen and typed on a phone. 8 characters of 31: ~40 bits, against
# guesses sent to the bot within 15 minutes.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
PLATFORM_NAMES = {"telegram": "Telegram", "max": "MAX"}
INSTRUCTION = "Откройте бота и отправьте /start {code}"


@dataclass(frozen=True)
class Bound:
    """What a `/start CODE` came to: `outcome` is linked | unknown | expired | used | inactive."""

    outcome: str
    login: str | None = None


def _hash(code: str) -> str:
    return hashlib.sha256(normalize(code).encode()).hexdigest()


def normalize(code: str) -> str:
    """A code as typed: case and stray spaces or dashes do not matter."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def _check_platform(platform: str, enabled: Collection[str] | None) -> None:
    if platform not in PLATFORMS:
        raise InvalidTransition(f"платформа бота — {' или '.join(PLATFORMS)}, а не {platform!r}")
    if enabled is not None and platform not in enabled:
        raise InvalidTransition(f"бот для сотрудников в {PLATFORM_NAMES[platform]} не настроен")


def _own_user(session: Session, actor: Actor) -> UserRow:
    access.require(session, actor, "link_staff_bot", entity="staff_bot")
    user = session.get(UserRow, actor.user_id) if actor.user_id is not None else None
    if user is None or not user.active:
        raise access.Refused("only a person's own session links a staff bot chat", actor=actor,
                             action="link_staff_bot", entity="staff_bot", reason="no_user")
    return user


def request_code(session: Session, actor: Actor, platform: str, *, enabled: Collection[str] | None = None,
                 at: datetime | None = None) -> dict[str, Any]:
    """A new one-time code for the actor's own chat on `platform` (`enabled`: the platforms whose
    bot is configured; None skips that check). The code is returned once and stored only hashed."""
    _check_platform(platform, enabled)
    user = _own_user(session, actor)
    t = at or now()
    # One code at a time: a new one replaces the ones not yet used.
    session.execute(delete(StaffLinkCodeRow).where(StaffLinkCodeRow.user_id == user.id,
                                                   StaffLinkCodeRow.platform == platform,
                                                   StaffLinkCodeRow.used_at.is_(None)))
    code = new_code()
    session.add(StaffLinkCodeRow(user_id=user.id, platform=platform, code_hash=_hash(code), created_at=t,
                                 expires_at=t + CODE_TTL))
    audit.append(session, actor=actor.login, action="staff_bot_code", entity="user", entity_id=user.login,
                 data={"platform": platform, "via": actor.via})
    return {"platform": platform, "code": code, "expires_at": (t + CODE_TTL).isoformat(),
            "instruction": INSTRUCTION.format(code=code)}


def bind(session: Session, platform: str, chat_id: str, code: str, *, at: datetime | None = None) -> Bound:
    """`/start CODE` written from `chat_id`: link it to the code's owner. A wrong, expired or used
    code binds nothing. The chat moves from whoever had it; the person's previous chat is replaced."""
    t = at or now()
    if not normalize(code):
        return Bound("unknown")
    row = session.execute(select(StaffLinkCodeRow).where(StaffLinkCodeRow.code_hash == _hash(code),
                                                         StaffLinkCodeRow.platform == platform)).scalar_one_or_none()
    if row is None:
        return Bound("unknown")
    user = session.get(UserRow, row.user_id)
    if row.used_at is not None:
        # The same chat sending its code again (a second tap on the deep link) is told it is linked.
        mine = user is not None and chat_of(session, user.id, platform) == chat_id
        return Bound("linked", user.login) if mine else Bound("used")
    if row.expires_at <= t:
        return Bound("expired")
    if user is None or not user.active:
        return Bound("inactive")
    row.used_at = t
    session.execute(delete(StaffChatRow).where(
        StaffChatRow.platform == platform,
        or_(StaffChatRow.user_id == user.id, StaffChatRow.chat_id == chat_id)))
    session.flush()  # the old rows gone before the new one meets the unique constraints
    session.add(StaffChatRow(user_id=user.id, platform=platform, chat_id=chat_id, linked_at=t))
    audit.append(session, actor=user.login, action="staff_bot_linked", entity="user", entity_id=user.login,
                 data={"platform": platform, "via": "bot"})
    return Bound("linked", user.login)


def unlink_chat(session: Session, platform: str, chat_id: str) -> str | None:
    """`/stop` written from `chat_id`: unlink it; the login it belonged to, or None."""
    row = session.execute(select(StaffChatRow).where(StaffChatRow.platform == platform,
                                                     StaffChatRow.chat_id == chat_id)).scalar_one_or_none()
    if row is None:
        return None
    user = session.get(UserRow, row.user_id)
    login = user.login if user else str(row.user_id)
    session.delete(row)
    audit.append(session, actor=login, action="staff_bot_unlinked", entity="user", entity_id=login,
                 data={"platform": platform, "via": "bot"})
    return login


def unlink(session: Session, actor: Actor, platform: str) -> bool:
    """The actor unlinks their own chat on `platform`; False when none was linked."""
    _check_platform(platform, None)
    user = _own_user(session, actor)
    gone = session.execute(delete(StaffChatRow).where(StaffChatRow.user_id == user.id,
                                                      StaffChatRow.platform == platform)).rowcount or 0
    if gone:
        audit.append(session, actor=actor.login, action="staff_bot_unlinked", entity="user",
                     entity_id=user.login, data={"platform": platform, "via": actor.via})
    return bool(gone)


def status(session: Session, actor: Actor, *, enabled: Collection[str] = PLATFORMS) -> list[dict[str, Any]]:
    """The actor's own links, one entry per enabled platform (never the chat id)."""
    user = _own_user(session, actor)
    rows = {r.platform: r for r in session.execute(
        select(StaffChatRow).where(StaffChatRow.user_id == user.id)).scalars()}
    return [{"platform": p, "name": PLATFORM_NAMES[p], "linked": p in rows,
             "linked_at": rows[p].linked_at.isoformat() if p in rows else None}
            for p in PLATFORMS if p in enabled]


def chat_of(session: Session, user_id: int, platform: str) -> str | None:
    """Where `user_id` receives the staff bot on `platform` (for the notification channel)."""
    return session.execute(select(StaffChatRow.chat_id).where(StaffChatRow.user_id == user_id,
                                                              StaffChatRow.platform == platform)).scalar_one_or_none()


def is_linked(session: Session, platform: str, chat_id: str) -> bool:
    return session.execute(select(StaffChatRow.id).where(StaffChatRow.platform == platform,
                                                         StaffChatRow.chat_id == chat_id)).first() is not None
