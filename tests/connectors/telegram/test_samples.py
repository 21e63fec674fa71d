"""Every public Telegram sample through `parse` and through `otklik normalize`, and every other
kind of payload `parse` takes (method responses, bare messages, error envelopes)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from connectors.errors import AuthFailed, Fatal, RateLimited, Transient
from connectors.telegram.connector import TelegramConnector
from otklik.cli import main as cli_main
from otklik.models import EventKind

SAMPLES = Path(__file__).with_name("samples")


def sample(name: str) -> dict:
    return json.loads((SAMPLES / f"{name}.json").read_text())


def test_official_message():
    [m] = TelegramConnector.parse(sample("telegram_update_message_official"), source="tg")
    assert (m.source, m.platform, m.external_id, m.event) == ("tg", "telegram", "1111111:1365", EventKind.NEW)
    assert m.thread.kind == "chat" and m.thread.ids == {"chat_id": 1111111, "message_id": 1365}
    assert m.author.id == "1111111" and m.author.name == "Test Firstname Test Lastname"
    assert m.author.url == "https://t.me/Testusername" and not m.author.is_bot
    assert m.text == "/start" and m.created_at.timestamp() == 1441645532
    assert m.url is None and m.reply_to is None  # a private chat has no public link


def test_official_edit_keeps_the_id():
    [m] = TelegramConnector.parse(sample("telegram_update_edited_message_official"))
    assert m.event == EventKind.EDIT and m.external_id == "1111111:1365"
    assert m.text == "Edited text" and m.edited_at.timestamp() == 1441646600


def test_official_reply_names_the_replied_message_in_its_chat():
    [m] = TelegramConnector.parse(sample("telegram_update_message_reply_official"))
    assert m.reply_to == "1111112:1334"


def test_private_text_capture():
    [m] = TelegramConnector.parse(sample("telegram_update_private_text"))
    assert m.external_id == "408258968:154" and m.text == "4" and m.author.url == "https://t.me/hirrolot"


def test_supergroup_reply_thread_capture():
    [m] = TelegramConnector.parse(sample("telegram_update_supergroup_reply_thread"))
    assert m.thread.ids == {"chat_id": -1001293752024, "message_id": 134546, "message_thread_id": 134545}
    assert m.reply_to == "-1001293752024:134545"
    assert m.url == "https://t.me/cryptoinside_talk/134546"
    assert m.author.id == "5964236329"


def test_429_sample_raises_rate_limited():
    with pytest.raises(RateLimited) as exc:
        TelegramConnector.parse(sample("telegram_error_429"))
    assert exc.value.retry_after == 2282 and exc.value.code == 429
    assert exc.value.as_dict()["error"] == "rate_limited"


@pytest.mark.parametrize("name", sorted(p.stem for p in SAMPLES.glob("*.json")))
def test_every_sample_through_the_cli(name, capsys):
    code = cli_main(["normalize", "--platform", "telegram", str(SAMPLES / f"{name}.json")])
    out = capsys.readouterr().out
    if name == "telegram_error_429":
        assert code == 3
        assert json.loads(out) == {
            "error": "rate_limited",
            "platform": "telegram",
            "code": 429,
            "message": "Too Many Requests: retry after 2282",
            "retry_after": 2282.0,
        }
        return
    assert code == 0
    [line] = out.splitlines()
    expected = TelegramConnector.parse(sample(name), "telegram:file")[0].model_dump_json(exclude={"raw"})
    assert json.loads(line) == json.loads(expected)


def test_the_cli_as_a_process():
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "otklik",
            "normalize",
            "--platform",
            "telegram",
            str(SAMPLES / "telegram_update_supergroup_reply_thread.json"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["external_id"] == "-1001293752024:134546"


MESSAGE = {
    "message_id": 9,
    "date": 1767250800,
    "text": "Нет воды",
    "chat": {"id": 42, "type": "private", "first_name": "А"},
    "from": {"id": 42, "is_bot": False, "first_name": "А"},
}
BOT_REPLY = {**MESSAGE, "message_id": 10, "from": {"id": 7000000001, "is_bot": True, "first_name": "Отклик"}}


@pytest.mark.parametrize(
    "payload, count",
    [
        (
            {
                "ok": True,
                "result": [{"update_id": 1, "message": MESSAGE}, {"update_id": 2, "edited_message": MESSAGE}],
            },
            2,
        ),
        ([{"update_id": 1, "message": MESSAGE}], 1),  # a list of updates, as a webhook log keeps them
        (MESSAGE, 1),  # a bare Message object
        ({"ok": True, "result": BOT_REPLY}, 0),  # sendMessage's answer: our own message
        ({"ok": True, "result": {"id": 7000000001, "is_bot": True, "first_name": "Отклик"}}, 0),  # getMe
        ({"ok": True, "result": {"url": "", "has_custom_certificate": False, "pending_update_count": 0}}, 0),
        ({"ok": True, "result": True, "description": "Webhook was set"}, 0),
        ({"ok": True, "result": []}, 0),
        ({"update_id": 3, "callback_query": {"id": "1", "from": MESSAGE["from"]}}, 0),
    ],
)
def test_every_kind_of_payload(payload, count):
    assert len(TelegramConnector.parse(payload)) == count


@pytest.mark.parametrize(
    "code, error",
    [
        (401, AuthFailed),
        (404, AuthFailed),
        (409, Fatal),
        (500, Transient),
        (502, Transient),
        (400, Fatal),
        (403, Fatal),
        (429, RateLimited),
    ],
)
def test_error_envelopes_by_code(code, error):
    with pytest.raises(error) as exc:
        TelegramConnector.parse({"ok": False, "error_code": code, "description": "whatever the text says"})
    assert exc.value.code == code and exc.value.platform == "telegram"


@pytest.mark.parametrize(
    "payload",
    ["text", 5, {"foo": 1}, {"update_id": "x", "message": MESSAGE}, {"message_id": 1, "text": "no chat"}],
)
def test_what_is_not_telegram_is_fatal(payload):
    with pytest.raises(Fatal):
        TelegramConnector.parse(payload)
