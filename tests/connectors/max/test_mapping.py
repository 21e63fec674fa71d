"""MAX mapping: every update type, from the samples in tests/connectors/max/samples (written for
these tests from the documented shapes, no real citizen's text)."""

import json
from pathlib import Path

import pytest

from connectors.errors import AuthFailed, Fatal, Malformed, RateLimited
from connectors.max.connector import MaxConnector
from connectors.max.mapping import map_update
from otklik.models import EventKind

SAMPLES = Path(__file__).parent / "samples"
BOT_ID = 9_000_001


def sample(name: str) -> dict:
    return json.loads((SAMPLES / f"max_{name}.json").read_text(encoding="utf-8"))


def one(name: str):
    [m] = map_update(sample(name), "max:main", BOT_ID)
    return m


def test_dialog_message_with_a_photo():
    m = one("message_created_dialog_photo")
    assert m.thread.kind == "dialog" and m.thread.ids == {"mid": m.external_id, "user_id": 101,
                                                          "chat_id": 50000000101}
    assert m.author.id == "101" and m.author.name == "Ирина Тестова" and not m.author.is_bot
    assert [a.type for a in m.attachments] == ["photo"]  # the keyboard is not content
    assert m.created_at.year == 2026 and m.event == EventKind.NEW and m.url is None


def test_chat_message_replying_to_another():
    m = one("message_created_chat_reply")
    assert m.thread.kind == "chat" and m.thread.ids["chat_id"] == -70000000000001
    assert m.reply_to == "mid.0000000000000009"


@pytest.mark.parametrize("name", ["message_created_channel_post", "message_created_own_bot",
                                  "message_created_without_message", "bot_started", "message_callback",
                                  "unknown_type"])
def test_not_a_citizens_message(name):
    assert map_update(sample(name), "max:main", BOT_ID) == []


def test_voice_and_file_without_text():
    m = one("message_created_voice_file")
    assert m.text == "" and [a.type for a in m.attachments] == ["audio", "file"]


def test_forward_only_message_takes_the_forwarded_text():
    m = one("message_forward_only")
    assert m.text == "Пересланное объявление" and m.external_id.startswith("fwd:")


def test_edits_keep_the_id():
    m = one("message_edited")
    assert m.event == EventKind.EDIT and m.external_id == "mid.0000000000000002" and m.edited_at
    c = one("comment_edited")
    assert c.event == EventKind.EDIT and c.external_id == "mid.00000000000000c1"


def test_removals():
    m = one("message_removed")
    assert m.event == EventKind.DELETE and m.external_id == "mid.0000000000000002" and m.thread.kind == "chat"
    c = one("comment_removed")
    assert c.event == EventKind.DELETE and c.thread.ids["post_id"] == "mid.0000000000000003"


def test_comments():
    c = one("comment_created")
    assert c.thread.kind == "comment"
    assert c.thread.ids == {"chat_id": -70000000000002, "post_id": "mid.0000000000000003", "mid": c.external_id}
    anonymous = one("comment_created_without_sender")
    assert anonymous.author.id == "chat:-70000000000002"  # kept: live reports show citizens without sender


def test_broken_items_are_malformed_not_crashes():
    for bad in (None, [], {"update_type": 5}, {"no": "type"}):
        with pytest.raises(Malformed):
            map_update(bad, "s")
    broken = sample("message_created_chat_reply")
    broken["message"]["timestamp"] = "yesterday"
    with pytest.raises(Malformed):
        map_update(broken, "s")


def test_parse_takes_every_shape_and_classifies_errors():
    assert len(MaxConnector.parse([sample("comment_created"), sample("message_edited")])) == 2
    assert MaxConnector.parse(sample("updates_page")) == []
    assert len(MaxConnector.parse(sample("message_created_dialog_photo")["message"])) == 1
    assert MaxConnector.parse({"user_id": 1, "is_bot": True, "name": "bot"}) == []
    with pytest.raises(AuthFailed):
        MaxConnector.parse({"code": "verify.token", "message": "Invalid access_token"})
    with pytest.raises(Fatal):
        MaxConnector.parse({"code": "chat.denied", "message": "denied"})
    with pytest.raises(RateLimited):
        MaxConnector.parse({"code": "too.many.requests", "message": "slow down"})
    with pytest.raises(Malformed):
        MaxConnector.parse("text")


def test_otklik_normalize_cli(tmp_path, capsys):
    from otklik.cli import main

    path = SAMPLES / "max_comment_created.json"
    code = main(["normalize", "--platform", "max", str(path)])
    out = capsys.readouterr().out
    assert code in (0, None) and "mid.00000000000000c1" in out
