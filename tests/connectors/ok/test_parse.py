"""OK payloads -> messages: every public sample, error classification by code, the signature."""

import hashlib
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.errors import AuthFailed, Fatal, RateLimited, Transient
from connectors.ok.client import raise_for_error, sign
from connectors.ok.connector import OkConnector
from connectors.ok.mapping import decode_comment_id, map_chat_message, map_comment, normalize_text, parse_date
from otklik.models import EventKind

SAMPLES = Path(__file__).with_name("samples")
NO_MESSAGES = {
    "ok_bot_send_message_request_official.json",
    "ok_bot_send_to_users_response_official.json",
    "ok_bot_subscriptions_response_official.json",
}


def sample(name: str):
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(p.name for p in SAMPLES.glob("ok_*.json")))
def test_every_sample_normalizes(name):
    r = subprocess.run(
        [sys.executable, "-m", "otklik", "normalize", "--platform", "ok", str(SAMPLES / name)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if name.startswith("ok_error_"):
        assert r.returncode == 3
        assert json.loads(r.stdout)["error"] == "auth_failed" and json.loads(r.stdout)["code"] == 102
        return
    assert r.returncode == 0, r.stderr
    messages = [json.loads(line) for line in r.stdout.splitlines()]
    if name in NO_MESSAGES:  # our own outgoing request and answers that carry no citizen message
        assert messages == []
        return
    assert messages and all(m["platform"] == "ok" and (m["text"] or m["attachments"]) for m in messages)


def test_comment_item():
    [m] = OkConnector.parse(sample("ok_discussions_getComments_comment_item.json"))
    # The id carries the UTC milliseconds; the date is Moscow time (UTC+4 in April 2014).
    assert m.created_at == datetime(2014, 4, 11, 8, 53, 2, tzinfo=UTC)
    assert m.author.id == "538901295641" and m.author.url == "https://ok.ru/profile/538901295641"
    assert m.reply_to == "MTM5NzIwNjMzNjI2MTotODE0MzoxMzk3MjA2MzM2MjYxOjYyNTAzOTI5NjYyMzIwOjE="
    assert m.thread.kind == "discussion"
    assert m.thread.ids == {
        "discussion_id": "62503929662320",
        "discussion_type": "GROUP_TOPIC",
        "comment_id": m.external_id,
    }
    assert m.engagement == 123 and m.event == EventKind.NEW


def test_discussion_is_a_members_topic():
    [m] = OkConnector.parse(sample("ok_discussions_get_response.json"))
    assert m.external_id == "topic:62190641299501"
    assert m.author.id == "163873406852" and m.author.name == "Любовь Гуревич"
    assert m.created_at == datetime(2013, 10, 12, 10, 29, 26, tzinfo=UTC)
    assert m.url == "https://ok.ru/group/47241470410797/topic/62190641299501"
    assert m.thread.ids == {"discussion_id": "62190641299501", "discussion_type": "GROUP_TOPIC"}


def test_a_groups_own_topic_is_not_a_citizen_message():
    body = sample("ok_discussions_get_response.json")
    body["discussion"]["owner_uid"] = "47241470410797"  # the group itself
    assert OkConnector.parse(body) == []


def test_bot_messages_and_webhooks():
    history = OkConnector.parse(sample("ok_bot_messages_get_response_official.json"))
    assert [m.external_id for m in history] == [
        "mid:C3ecb9d02a600.15cea67d78d2059",
        "mid:C3ecb9d02a600.15cea668c4c2481",
    ]
    assert history[0].author.name == "Василий Васильев" and history[0].author.id == "123456789012"
    assert history[0].created_at == datetime.fromtimestamp(1498581292.941, UTC)
    assert history[1].attachments[0].type == "link" and history[1].attachments[0].url == "https://ya.ru/"
    [hook] = OkConnector.parse(sample("ok_bot_webhook_message_with_attachment_official.json"))
    assert hook.thread.ids == {
        "chat_id": "chat:C3ecb9d02a600",
        "message_id": "mid:C3ecb9d02a600.15cea668c4c2481",
    }
    assert hook.author.name is None  # webhook bodies carry no name


def test_error_sample_raises_auth_failed():
    with pytest.raises(AuthFailed) as exc:
        OkConnector.parse(sample("ok_error_102_session_expired.json"))
    assert exc.value.code == 102


@pytest.mark.parametrize(
    ("code", "error", "alert"),
    [
        (102, AuthFailed, False),
        (103, AuthFailed, False),
        (104, AuthFailed, True),
        (101, AuthFailed, True),
        (10, AuthFailed, True),
        (8, RateLimited, False),
        (11, RateLimited, True),
        (2, Transient, False),
        (1, Transient, False),
        (9999, Transient, False),
        (100, Fatal, False),
        (300, Fatal, False),
        (3, Fatal, False),
    ],
)
def test_errors_are_classified_by_code(code, error, alert):
    with pytest.raises(error) as exc:
        raise_for_error(
            {"error_code": code, "error_msg": "whatever the text says", "error_data": None},
            flood_retry_after=9,
        )
    assert exc.value.code == code and exc.value.alert == alert
    if code == 8:
        assert exc.value.retry_after == 9


def test_own_content_is_never_a_citizen_message():
    comment = sample("ok_discussions_getComments_comment_item.json")
    assert map_comment({**comment, "author_type": "GROUP"}, source="s") is None
    assert map_comment({**comment, "author_id": "700"}, source="s", group_id="700") is None
    item = sample("ok_bot_webhook_message_official.json")
    assert map_chat_message({**item, "sender": {"user_id": "group:700"}}, source="s") is None


def test_unknown_payloads_are_refused():
    with pytest.raises(Fatal):
        OkConnector.parse({"something": "else"})
    assert OkConnector.parse("MTM5NzIw") == []  # addDiscussionComment answers the new id


def test_signature_follows_the_documented_recipe():
    params = {
        "application_key": "CBAKEY",
        "method": "discussions.getComments",
        "format": "json",
        "discussionId": "1",
        "access_token": "tok",
    }
    secret = hashlib.md5(b"tok" + b"appsecret").hexdigest()
    expected = hashlib.md5(
        ("application_key=CBAKEYdiscussionId=1format=jsonmethod=discussions.getComments" + secret).encode()
    ).hexdigest()
    assert sign(params, "tok", "appsecret") == expected
    assert sign({**params, "sig": "anything"}, "tok", "appsecret") == expected  # sig itself is not signed


def test_helpers():
    assert decode_comment_id("not base64!") is None
    assert decode_comment_id("MTM5NzIwNjMzNjI2MTotODE0MzoxMzk3MjA2MzM2MjYxOjYyNTAzOTI5NjYyMzIwOjE=") == (
        1397206336261,
        "62503929662320",
    )
    assert parse_date("2024-07-01 12:00:00") == datetime(2024, 7, 1, 9, 0, tzinfo=UTC)
    assert normalize_text("  Здравствуйте!\r\n Чиним\u200b ") == normalize_text("здравствуйте! чиним")
