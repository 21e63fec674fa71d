"""The staff bot as a notification channel (otklik/notify/channels/staffbot.py): a note reaches the
linked chat in the Telegram and MAX emulators with its subject bold, its text and link escaped (the
emulators refuse unescaped HTML as the platforms do); the platforms' errors, replayed with respx,
become permanent or retried SendErrors; the token, the chat id and the text never reach the logs."""

from __future__ import annotations

import io
import logging

import httpx
import pytest
import respx

from otklik import logs
from otklik.api import auth
from otklik.notify.channels import staffbot
from otklik.notify.channels.base import Note, SendError
from otklik.settings import Settings
from otklik.staffbot.config import StaffBotSettings
from sandbox import markup
from sandbox.max.emulator import MaxEmulator
from sandbox.max.staff import STAFF_TOKEN as MAX_STAFF_TOKEN
from sandbox.runner import serving
from sandbox.telegram.emulator import TelegramEmulator
from sandbox.telegram.staff import STAFF_TOKEN as TG_STAFF_TOKEN
from storage.tables import StaffChatRow, now

# A citizen's words quoted in a note: markup characters that must arrive as text, not as HTML.
NOTE = Note(subject="Случай №17 <срочно> назначен вам",
            text="Тема: «Дороги & тротуары». Житель пишет: <b>яма</b> у дома 5 > 1 м\nСрок: 08.12.2026 18:00 (+07:00)",
            link="https://otklik.example/console/cases/17?tab=a&b=c")
TG_API = "https://tg.invalid"
MAX_API = "https://max.invalid"


def settings(tg_url: str = TG_API, max_url: str = MAX_API) -> Settings:
    return Settings(staff_bot=StaffBotSettings(
        telegram=True, telegram_token="env:TEST_STAFF_TG_TOKEN", telegram_base_url=tg_url,
        max=True, max_token="env:TEST_STAFF_MAX_TOKEN", max_base_url=max_url))


@pytest.fixture(autouse=True)
def _tokens(monkeypatch):
    monkeypatch.setenv("TEST_STAFF_TG_TOKEN", TG_STAFF_TOKEN)
    monkeypatch.setenv("TEST_STAFF_MAX_TOKEN", MAX_STAFF_TOKEN)


def test_the_note_as_html_is_escaped_bold_first_and_within_the_limit():
    html = staffbot.note_html(NOTE, 4096)
    assert html.startswith("<b>Случай №17 &lt;срочно&gt; назначен вам</b>\n")
    assert "&lt;b&gt;яма&lt;/b&gt;" in html and "&amp; тротуары" in html
    assert '<a href="https://otklik.example/console/cases/17?tab=a&amp;b=c">Открыть в консоли</a>' in html
    assert markup.check(html) is None
    long = staffbot.note_html(Note(subject="s", text="&" * 10_000, link="https://x.example/1"), 4000)
    assert len(long) <= 4000 and markup.check(long) is None and long.count("…") == 1
    assert markup.links(long) == ["https://x.example/1"]


async def test_a_note_arrives_in_the_telegram_chat(db):
    emulator = TelegramEmulator(long_poll_cap=0.2)
    with serving(emulator) as server:
        server.call(emulator.staff.write, 730615004291, "/start")  # the person's chat exists once they wrote
        await staffbot.TELEGRAM.send(settings(tg_url=server.url), "730615004291", NOTE)
        sent = server.call(emulator.staff.sent_to, 730615004291)
    assert len(sent) == 1 and sent[0]["parse_mode"] == "HTML"
    shown = sent[0]["plain"]
    assert shown.splitlines()[0] == NOTE.subject  # the subject, whole, on the first line
    assert "Житель пишет: <b>яма</b> у дома 5 > 1 м" in shown  # shown as written, not as markup
    assert sent[0]["links"] == [NOTE.link]
    assert emulator.replies == []  # nothing through the citizens' bot


async def test_a_note_arrives_in_the_max_dialog(db):
    emulator = MaxEmulator(long_poll_cap=0.2)
    with serving(emulator) as server:
        server.call(emulator.staff.write, 31, "/start")
        await staffbot.MAX.send(settings(max_url=server.url), "31", NOTE)
        sent = server.call(emulator.staff.sent_to, 31)
    assert len(sent) == 1 and sent[0]["format"] == "html"
    assert sent[0]["plain"].splitlines()[0] == NOTE.subject
    assert "<b>яма</b>" in sent[0]["plain"] and sent[0]["links"] == [NOTE.link]
    assert emulator.replies == []


async def test_unescaped_html_would_be_refused_by_the_emulators():
    """The emulators' check is what makes the tests above able to fail."""
    emulator = TelegramEmulator(long_poll_cap=0.2)
    with serving(emulator) as server:
        server.call(emulator.staff.write, 1, "hi")
        async with httpx.AsyncClient() as http:
            r = await http.post(f"{server.url}/bot{TG_STAFF_TOKEN}/sendMessage",
                                json={"chat_id": 1, "text": "<b>5 > 1 & <b>яма</b>", "parse_mode": "HTML"})
    assert r.status_code == 400 and "can't parse entities" in r.json()["description"]
    m = MaxEmulator(long_poll_cap=0.2)
    with serving(m) as server:
        server.call(m.staff.write, 1, "hi")
        r = httpx.post(f"{server.url}/messages", params={"user_id": 1}, headers={"Authorization": MAX_STAFF_TOKEN},
                       json={"text": "a < b", "format": "html"})
    assert r.status_code == 400 and r.json()["code"] == "proto.payload"


def _tg_error(status: int, description: str, retry_after: int | None = None) -> httpx.Response:
    body = {"ok": False, "error_code": status, "description": description}
    if retry_after:
        body["parameters"] = {"retry_after": retry_after}
    return httpx.Response(status, json=body)


TELEGRAM_ERRORS = [
    (_tg_error(403, "Forbidden: bot was blocked by the user"), True),
    (_tg_error(400, "Bad Request: chat not found"), True),
    (_tg_error(429, "Too Many Requests: retry after 3", 3), False),
    (_tg_error(500, "Internal Server Error"), False),
    (httpx.Response(502, text="<html>Bad Gateway</html>"), False),
    (httpx.ConnectError("connection refused"), False),
]
MAX_ERRORS = [
    (httpx.Response(403, json={"code": "chat.denied", "message": "Key: error.dialog.suspended, args: [730615004291,]."}), True),
    (httpx.Response(404, json={"code": "not.found", "message": "User 730615004291 not found"}), True),
    (httpx.Response(429, json={"code": "too.many.requests", "message": "the number of requests is exceeded"}), False),
    (httpx.Response(500, json={"code": "internal.error", "message": "Internal error"}), False),
    (httpx.ReadTimeout("timed out"), False),
]


@pytest.mark.parametrize(("answer", "permanent"), TELEGRAM_ERRORS)
async def test_telegram_errors_are_mapped(answer, permanent, caplog, json_logs):
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(f"{TG_API}/bot{TG_STAFF_TOKEN}/sendMessage")
        route.mock(side_effect=answer) if isinstance(answer, Exception) else route.mock(return_value=answer)
        with pytest.raises(SendError) as err:
            await staffbot.TELEGRAM.send(settings(), "730615004291", NOTE)
    assert err.value.permanent is permanent
    _nothing_private_logged(caplog, json_logs, err.value, TG_STAFF_TOKEN)


@pytest.mark.parametrize(("answer", "permanent"), MAX_ERRORS)
async def test_max_errors_are_mapped(answer, permanent, caplog, json_logs):
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(f"{MAX_API}/messages")
        route.mock(side_effect=answer) if isinstance(answer, Exception) else route.mock(return_value=answer)
        with pytest.raises(SendError) as err:
            await staffbot.MAX.send(settings(), "730615004291", NOTE)
    assert err.value.permanent is permanent
    _nothing_private_logged(caplog, json_logs, err.value, MAX_STAFF_TOKEN)


@pytest.fixture
def json_logs():
    """The daemon's and workers' own logging (otklik.logs) at DEBUG: what an operator's log file
    would hold (httpx's request lines, which name the URL, stay held at WARNING by otklik.logs)."""
    stream = io.StringIO()
    logs.setup("DEBUG", stream=stream)
    yield stream
    logging.getLogger().handlers[:] = []


def _nothing_private_logged(caplog, stream: io.StringIO, err: SendError | None, token: str) -> None:
    ours = [r for r in caplog.records if r.name.startswith("otklik")]
    assert ours, "the outcome is logged (without what is private)"
    # A record's own attributes (time, thread, process ids) are numbers that may contain any short
    # digit run; what a record adds is its message and its extra fields.
    own = set(vars(logging.LogRecord("", 0, "", 0, "", (), None)))
    logged = stream.getvalue() + " ".join(
        f"{r.getMessage()} {({k: v for k, v in vars(r).items() if k not in own})}" for r in ours)
    for private in (token, token.split(":")[-1], "730615004291", "яма", "Случай №17", "otklik.example"):
        leaks = [line for line in logged.splitlines() if private in line]
        assert not leaks, f"{private!r} logged: {leaks[:3]}"
        assert private not in str(err or "")


async def test_a_sent_note_logs_nothing_private(caplog, json_logs):
    with respx.mock() as mock:
        mock.post(f"{TG_API}/bot{TG_STAFF_TOKEN}/sendMessage").mock(return_value=httpx.Response(
            200, json={"ok": True, "result": {"message_id": 1, "chat": {"id": 730615004291, "type": "private"}, "date": 0}}))
        await staffbot.TELEGRAM.send(settings(), "730615004291", NOTE)
    assert "staff bot note sent" in json_logs.getvalue()
    _nothing_private_logged(caplog, json_logs, None, TG_STAFF_TOKEN)


async def test_a_platform_that_is_off_is_a_permanent_failure():
    with pytest.raises(SendError) as err:
        await staffbot.MAX.send(Settings(), "730615004291", NOTE)
    assert err.value.permanent is True


def test_the_address_is_the_linked_chat(db):
    with db.session() as s:
        user, _, _ = auth.create_user(s, "ivanova", "executor", by="test")
        s.add(StaffChatRow(user_id=user.id, platform="max", chat_id="31", linked_at=now()))
        s.flush()
        assert staffbot.MAX.address(s, user) == "31"
        assert staffbot.TELEGRAM.address(s, user) is None  # not linked there: the channel is skipped
        assert (staffbot.TELEGRAM.name, staffbot.MAX.name) == ("telegram", "max")
        user.active = False
        assert staffbot.MAX.address(s, user) is None  # deactivated: nothing more goes to their phone
