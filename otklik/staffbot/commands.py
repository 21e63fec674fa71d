"""What a person wrote to the staff bot, read from one platform update, and what the bot answers.
Pure functions: no I/O, so every case is tested without a bot.

The staff bot understands `/start CODE` (link this chat), `/stop` (unlink it) and nothing else;
whatever else arrives (a stranger's message, a group, a sticker) is answered with the instruction
or ignored — never stored, never taken for a citizen's message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The bot's answers (Russian: the people reading them are the municipality's staff).
LINKED = "Готово: уведомления будут приходить сюда."
UNKNOWN = "Код не подошёл. Получите новый код в консоли (раздел «Бот уведомлений») и отправьте /start КОД."
EXPIRED = "Срок действия кода истёк (15 минут). Получите новый код в консоли и отправьте /start КОД."
USED = "Этот код уже использован. Получите новый код в консоли и отправьте /start КОД."
INACTIVE = "Учётная запись отключена: уведомления сюда приходить не будут."
NO_CODE = "Чтобы получать уведомления, получите код в консоли (раздел «Бот уведомлений») и отправьте /start КОД."
STOPPED = "Уведомления сюда больше не приходят. Чтобы снова их получать, отправьте /start КОД."
NOT_LINKED = "Этот чат не привязан. Получите код в консоли и отправьте /start КОД."
TOO_MANY = "Слишком много неверных кодов. Попробуйте снова через 15 минут с новым кодом из консоли."
PRIVATE_ONLY = "Бот уведомлений работает только в личном чате."
LINKED_INFO = "Это бот уведомлений: сообщения сюда не читаются. Чтобы отключить уведомления, отправьте /stop."
ANSWERS = {"linked": LINKED, "unknown": UNKNOWN, "expired": EXPIRED, "used": USED, "inactive": INACTIVE}


@dataclass(frozen=True)
class Command:
    kind: str  # start | stop | stopped (the person stopped the bot: nothing to answer) | other | group
    chat_id: str  # where to answer, and what is linked (Telegram: the private chat; MAX: the user)
    code: str = ""


def _command(text: str) -> tuple[str, str] | None:
    """("/start", "CODE") from "/start CODE" or "/start@bot_name CODE"; None for plain text."""
    text = text.strip()
    if not text.startswith("/"):
        return None
    head, _, rest = text.partition(" ")
    return head.split("@", 1)[0].lower(), rest.strip()


def _of_text(text: str, chat_id: str) -> Command:
    found = _command(text)
    if found is None:
        return Command("other", chat_id)
    name, arg = found
    if name == "/start":
        return Command("start", chat_id, arg)
    if name == "/stop":
        return Command("stop", chat_id)
    return Command("other", chat_id)


def telegram(update: Any) -> Command | None:
    """A Telegram update's command; None when there is nobody to answer (a channel post, an edit,
    a bot, anything without a sender). A person who blocks the bot in their private chat arrives
    as `my_chat_member` with the status `kicked`: the chat is unlinked, with no answer."""
    if not isinstance(update, dict):
        return None
    member = update.get("my_chat_member")
    if isinstance(member, dict):
        chat, new = member.get("chat"), member.get("new_chat_member")
        chat_id = chat.get("id") if isinstance(chat, dict) else None
        if (isinstance(chat_id, int) and not isinstance(chat_id, bool) and chat.get("type") == "private"
                and isinstance(new, dict) and new.get("status") == "kicked"):
            return Command("stopped", str(chat_id))
        return None
    msg = update.get("message")
    if not isinstance(msg, dict):
        return None
    chat, sender = msg.get("chat"), msg.get("from")
    if not isinstance(chat, dict) or not isinstance(sender, dict) or sender.get("is_bot"):
        return None
    chat_id = chat.get("id")
    if not isinstance(chat_id, int) or isinstance(chat_id, bool):
        return None
    if chat.get("type") != "private":
        text = msg.get("text") if isinstance(msg.get("text"), str) else ""
        return Command("group", str(chat_id)) if _command(text) else None  # only commands get an answer
    text = msg.get("text")
    return _of_text(text if isinstance(text, str) else "", str(chat_id))


def max_update(update: Any) -> Command | None:
    """A MAX update's command: `message_created` in a dialog, `bot_started` (a deep link's payload
    is the code), `bot_stopped` (the person stopped the bot: unlink). The chat id kept is the
    person's user id: POST /messages?user_id= reaches their dialog with the bot."""
    if not isinstance(update, dict):
        return None
    kind = update.get("update_type")
    if kind in ("bot_started", "bot_stopped"):
        user = update.get("user")
        uid = user.get("user_id") if isinstance(user, dict) else None
        if not isinstance(uid, int) or isinstance(uid, bool):
            return None
        if kind == "bot_stopped":
            return Command("stopped", str(uid))
        payload = update.get("payload")
        return Command("start", str(uid), payload.strip() if isinstance(payload, str) else "")
    if kind != "message_created":
        return None
    msg = update.get("message")
    if not isinstance(msg, dict):
        return None
    sender, recipient = msg.get("sender"), msg.get("recipient")
    if not isinstance(sender, dict) or sender.get("is_bot") or not isinstance(recipient, dict):
        return None
    uid = sender.get("user_id")
    if not isinstance(uid, int) or isinstance(uid, bool):
        return None
    body = msg.get("body") if isinstance(msg.get("body"), dict) else {}
    text = body.get("text") if isinstance(body.get("text"), str) else ""
    if recipient.get("chat_type") != "dialog":
        return None  # the staff bot is not meant for groups; MAX sends it nothing there unless admin
    return _of_text(text, str(uid))


def answer_to_start(outcome: str, has_code: bool) -> str:
    return ANSWERS.get(outcome, UNKNOWN) if has_code else NO_CODE
