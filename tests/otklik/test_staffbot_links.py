"""Linking a person's chat with the staff bot (issue 19, "a staff Telegram/MAX bot that writes to each
person who linked their account"): a one-time code from the service, `/start CODE` written to the
bot in the Telegram and MAX emulators, read by the bot poller, the chat bound and the Russian answer
sent; wrong, expired and reused codes bind nothing; `/stop` unlinks; strangers are never stored."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from otklik import services
from otklik.api import auth
from otklik.services import access, staff_links
from otklik.staffbot import commands
from otklik.staffbot.bots import MaxStaffBot, TelegramStaffBot
from otklik.staffbot.poller import Attempts, StaffBotPoller, cursor_key
from sandbox.max.emulator import MaxEmulator
from sandbox.max.staff import STAFF_TOKEN as MAX_STAFF_TOKEN
from sandbox.runner import serving
from sandbox.telegram.emulator import TelegramEmulator
from sandbox.telegram.staff import STAFF_TOKEN as TG_STAFF_TOKEN
from storage.messages import get_cursor
from storage.tables import AuditRow, MessageRow, StaffChatRow, StaffLinkCodeRow, UserRow, now


@pytest.fixture
def tg():
    emulator = TelegramEmulator(long_poll_cap=0.2)
    with serving(emulator) as server:
        yield server, emulator


@pytest.fixture
def mx():
    emulator = MaxEmulator(long_poll_cap=0.2)
    with serving(emulator) as server:
        yield server, emulator


@pytest.fixture
def people(db):
    """An executor and a curator, as Actors of their own sessions."""
    out = {}
    with db.session() as s:
        for login, role in (("ivanova", "executor"), ("petrov", "curator")):
            user, _, _ = auth.create_user(s, login, role, by="test")
            out[login] = access.actor_of(user, via="api")
    return out


def code_for(db, actor, platform: str = "telegram", **kw) -> str:
    return services.run(db, lambda s: staff_links.request_code(s, actor, platform, **kw))["code"]


def linked(db, login: str, platform: str = "telegram") -> str | None:
    with db.session() as s:
        uid = s.execute(select(UserRow.id).where(UserRow.login == login)).scalar_one()
        return staff_links.chat_of(s, uid, platform)


def audit_actions(db) -> list[tuple[str, str]]:
    with db.session() as s:
        return [(r.actor, r.action) for r in s.execute(select(AuditRow).order_by(AuditRow.id)).scalars()
                if r.action.startswith("staff_bot")]


async def tg_poller(db, server) -> tuple[StaffBotPoller, httpx.AsyncClient]:
    http = httpx.AsyncClient()
    return StaffBotPoller(db, "telegram", TelegramStaffBot(http, TG_STAFF_TOKEN, server.url), wait=0, http=http), http


async def test_start_with_a_good_code_links_the_chat_and_answers_in_russian(db, tg, people):
    server, emulator = tg
    code = code_for(db, people["ivanova"])
    assert len(code) == staff_links.CODE_LENGTH
    server.call(emulator.staff.write, 4242, f"/start {code}")
    poller, _ = await tg_poller(db, server)
    try:
        assert await poller.step() == 0.0
    finally:
        await poller.aclose()
    assert linked(db, "ivanova") == "4242"
    answers = server.call(emulator.staff.sent_to, 4242)
    assert [a["plain"] for a in answers] == [commands.LINKED]
    assert answers[0]["plain"] == "Готово: уведомления будут приходить сюда."
    assert ("ivanova", "staff_bot_code") in audit_actions(db) and ("ivanova", "staff_bot_linked") in audit_actions(db)
    # The same chat sending the same code again is told it is linked; nothing else changes.
    server.call(emulator.staff.write, 4242, f"/start {code}")
    poller, _ = await tg_poller(db, server)
    try:
        await poller.step()
    finally:
        await poller.aclose()
    assert [a["plain"] for a in server.call(emulator.staff.sent_to, 4242)] == [commands.LINKED] * 2
    assert audit_actions(db).count(("ivanova", "staff_bot_linked")) == 1
    # The offset is stored: the same update is not read (nor answered) again.
    with db.session() as s:
        assert get_cursor(s, cursor_key("telegram")) is not None
    poller, _ = await tg_poller(db, server)
    try:
        await poller.step()
    finally:
        await poller.aclose()
    assert len(server.call(emulator.staff.sent_to, 4242)) == 2
    # The citizens' bot saw nothing of it.
    assert emulator.replies == [] and emulator.world.queue.pending() == []


async def test_a_code_is_stored_only_hashed(db, people):
    code = code_for(db, people["ivanova"])
    with db.session() as s:
        rows = s.execute(select(StaffLinkCodeRow)).scalars().all()
        assert len(rows) == 1 and code not in rows[0].code_hash and len(rows[0].code_hash) == 64
        assert rows[0].expires_at - rows[0].created_at == timedelta(minutes=15)


@pytest.mark.parametrize("case", ["wrong", "expired", "reused", "replaced", "empty"])
async def test_a_bad_code_binds_nothing_and_says_why(db, tg, people, case):
    server, emulator = tg
    expected = {"wrong": commands.UNKNOWN, "expired": commands.EXPIRED, "reused": commands.USED,
                "replaced": commands.UNKNOWN, "empty": commands.NO_CODE}[case]
    if case == "expired":
        code = code_for(db, people["ivanova"], at=now() - timedelta(minutes=16))
    else:
        code = code_for(db, people["ivanova"])
    if case == "wrong":
        code = "ABCDEFGH" if code != "ABCDEFGH" else "HGFEDCBA"
    if case == "replaced":  # asking again makes the earlier code worthless
        code_for(db, people["ivanova"])
    if case == "reused":  # the code links one chat; someone else sending it again gets nothing
        server.call(emulator.staff.write, 1001, f"/start {code}")
        poller, _ = await tg_poller(db, server)
        try:
            await poller.step()
        finally:
            await poller.aclose()
        assert linked(db, "ivanova") == "1001"
    server.call(emulator.staff.write, 5555, "/start" if case == "empty" else f"/start {code.lower()}")
    poller, _ = await tg_poller(db, server)
    try:
        await poller.step()
    finally:
        await poller.aclose()
    assert [a["plain"] for a in server.call(emulator.staff.sent_to, 5555)] == [expected]
    assert linked(db, "ivanova") == ("1001" if case == "reused" else None)
    with db.session() as s:
        assert s.execute(select(func.count()).select_from(StaffChatRow)
                         .where(StaffChatRow.chat_id == "5555")).scalar_one() == 0


async def test_stop_unlinks_and_a_stranger_is_never_stored(db, tg, people):
    server, emulator = tg
    code = code_for(db, people["petrov"])
    server.call(emulator.staff.write, 777, f"/start {code}")
    server.call(emulator.staff.write, 888, "Здравствуйте, у нас во дворе яма!")  # a stranger
    server.call(lambda: emulator.staff.write(999, "/start", chat="group"))  # a group: private chats only
    poller, _ = await tg_poller(db, server)
    try:
        await poller.step()
        assert linked(db, "petrov") == "777"
        server.call(emulator.staff.write, 777, "а где мои уведомления?")
        server.call(emulator.staff.write, 777, "/stop")
        await poller.step()
    finally:
        await poller.aclose()
    assert linked(db, "petrov") is None
    assert [a["plain"] for a in server.call(emulator.staff.sent_to, 777)] == [
        commands.LINKED, commands.LINKED_INFO, commands.STOPPED]
    assert [a["plain"] for a in server.call(emulator.staff.sent_to, 888)] == [commands.NO_CODE]
    assert [a["plain"] for a in server.call(emulator.staff.sent_to, -1002000000001)] == [commands.PRIVATE_ONLY]
    with db.session() as s:
        assert s.execute(select(func.count()).select_from(MessageRow)).scalar_one() == 0
    assert ("petrov", "staff_bot_unlinked") in audit_actions(db)


async def test_max_links_by_message_and_by_deep_link_and_unlinks_when_the_bot_is_stopped(db, mx, people):
    server, emulator = mx
    http = httpx.AsyncClient()
    poller = StaffBotPoller(db, "max", MaxStaffBot(http, MAX_STAFF_TOKEN, server.url), wait=0, http=http)
    try:
        server.call(emulator.staff.write, 31, f"/start {code_for(db, people['ivanova'], 'max')}")
        server.call(emulator.staff.start, 32, code_for(db, people["petrov"], "max"))  # max.ru/<bot>?start=CODE
        await poller.step()
        assert linked(db, "ivanova", "max") == "31" and linked(db, "petrov", "max") == "32"
        assert [a["plain"] for a in server.call(emulator.staff.sent_to, 31)] == [commands.LINKED]
        assert [a["plain"] for a in server.call(emulator.staff.sent_to, 32)] == [commands.LINKED]
        server.call(emulator.staff.stop, 32)  # bot_stopped: unlinked, and no answer is attempted
        server.call(emulator.staff.write, 31, "/stop")
        await poller.step()
    finally:
        await poller.aclose()
    assert linked(db, "ivanova", "max") is None and linked(db, "petrov", "max") is None
    assert [a["plain"] for a in server.call(emulator.staff.sent_to, 31)] == [commands.LINKED, commands.STOPPED]
    assert len(server.call(emulator.staff.sent_to, 32)) == 1
    assert emulator.replies == []  # the citizens' bot posted nothing


async def test_a_chat_moves_and_a_person_keeps_one_chat_per_platform(db, tg, people):
    server, emulator = tg
    poller, _ = await tg_poller(db, server)
    try:
        server.call(emulator.staff.write, 1, f"/start {code_for(db, people['ivanova'])}")
        await poller.step()
        server.call(emulator.staff.write, 2, f"/start {code_for(db, people['ivanova'])}")  # a new phone
        await poller.step()
        assert linked(db, "ivanova") == "2"
        server.call(emulator.staff.write, 2, f"/start {code_for(db, people['petrov'])}")  # a shared phone
        await poller.step()
    finally:
        await poller.aclose()
    assert linked(db, "ivanova") is None and linked(db, "petrov") == "2"


def test_unlink_and_status_are_the_persons_own(db, people):
    actor = people["ivanova"]
    with db.session() as s:
        uid = actor.user_id
        s.add(StaffChatRow(user_id=uid, platform="telegram", chat_id="987654321", linked_at=now()))
    status = services.run(db, lambda s: staff_links.status(s, actor))
    assert [(x["platform"], x["linked"]) for x in status] == [("telegram", True), ("max", False)]
    assert "987654321" not in str(status)  # the chat id is never shown back
    assert services.run(db, lambda s: staff_links.unlink(s, actor, "telegram")) is True
    assert services.run(db, lambda s: staff_links.unlink(s, actor, "telegram")) is False
    assert ("ivanova", "staff_bot_unlinked") in audit_actions(db)


def test_a_platform_that_is_off_or_unknown_gives_no_code(db, people):
    from otklik.exceptions import InvalidTransition

    with pytest.raises(InvalidTransition, match="MAX не настроен"):
        code_for(db, people["ivanova"], "max", enabled=["telegram"])
    with pytest.raises(InvalidTransition):
        code_for(db, people["ivanova"], "vk")
    system = access.Actor(login="watcher", role="system", via="system")
    with pytest.raises(access.Refused):
        code_for(db, system)


def test_commands_are_read_from_updates_without_io():
    tg = {"update_id": 1, "message": {"message_id": 1, "chat": {"id": 5, "type": "private"},
                                      "from": {"id": 5, "is_bot": False}, "text": "/start@otklik_staff_bot ab-cd"}}
    assert commands.telegram(tg) == commands.Command("start", "5", "ab-cd")
    assert staff_links.normalize("ab-cd 12") == "ABCD12"
    assert commands.telegram({"update_id": 2, "edited_message": {}}) is None
    assert commands.telegram({"update_id": 3, "message": {**tg["message"], "from": {"id": 9, "is_bot": True}}}) is None
    assert commands.max_update({"update_type": "bot_stopped", "user": {"user_id": 4}}) == commands.Command("stopped", "4")
    assert commands.max_update({"update_type": "message_created", "message": {
        "sender": {"user_id": 4}, "recipient": {"chat_type": "chat"}, "body": {"text": "/start X"}}}) is None
    assert commands.max_update("garbage") is None and commands.telegram(None) is None


async def test_blocking_the_bot_in_telegram_unlinks_the_chat(db, tg, people):
    server, emulator = tg
    poller, _ = await tg_poller(db, server)
    try:
        server.call(emulator.staff.write, 321, f"/start {code_for(db, people['ivanova'])}")
        await poller.step()
        assert linked(db, "ivanova") == "321"
        server.call(emulator.staff.block, 321)  # Telegram: my_chat_member, status "kicked"
        await poller.step()
    finally:
        await poller.aclose()
    assert linked(db, "ivanova") is None
    assert len(server.call(emulator.staff.sent_to, 321)) == 1  # no answer into a blocked chat
    assert ("ivanova", "staff_bot_unlinked") in audit_actions(db)


async def test_too_many_wrong_codes_from_one_chat_are_not_checked_for_a_while(db, tg, people):
    server, emulator = tg
    poller, _ = await tg_poller(db, server)
    clock = [1000.0]
    poller.attempts = Attempts(limit=3, window=900, clock=lambda: clock[0])
    try:
        for guess in ("AAAAAAAA", "BBBBBBBB", "CCCCCCCC"):
            server.call(emulator.staff.write, 66, f"/start {guess}")
        server.call(emulator.staff.write, 66, f"/start {code_for(db, people['ivanova'])}")  # even the right one
        await poller.step()
        assert [a["plain"] for a in server.call(emulator.staff.sent_to, 66)] == [commands.UNKNOWN] * 3 + [
            commands.TOO_MANY]
        assert linked(db, "ivanova") is None
        clock[0] += 901  # the window has passed: a good code links again
        server.call(emulator.staff.write, 66, f"/start {code_for(db, people['ivanova'])}")
        await poller.step()
    finally:
        await poller.aclose()
    assert linked(db, "ivanova") == "66"
    assert server.call(emulator.staff.sent_to, 66)[-1]["plain"] == commands.LINKED
