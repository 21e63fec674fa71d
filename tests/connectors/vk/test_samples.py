"""Every public VK sample goes through `VkConnector.parse` (and so `otklik normalize`) correctly."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from connectors.errors import AuthFailed, Fatal
from connectors.vk.connector import VkConnector
from otklik.models import EventKind

SAMPLES = Path(__file__).with_name("samples")


def sample(name: str):
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


def parse(name: str):
    return VkConnector.parse(sample(name), source="vk:test")


def test_all_samples_are_covered():
    covered = {
        "vk_bots_longpoll_board_post_new.json",
        "vk_bots_longpoll_failed_1.json",
        "vk_bots_longpoll_message_new.json",
        "vk_bots_longpoll_message_reply.json",
        "vk_bots_longpoll_wall_post_new.json",
        "vk_bots_longpoll_wall_reply_new.json",
        "vk_error_14_captcha.json",
        "vk_error_5_auth.json",
        "vk_event_message_new_message_object_with_photo.json",
        "vk_event_wall_reply_new_object.json",
        "vk_messages_getConversations_response.json",
        "vk_newsfeed_search_response.json",
        "vk_wall_getComments_attachments_response_legacy.json",
        "vk_wall_getComments_response.json",
    }
    assert {p.name for p in SAMPLES.glob("vk_*.json")} == covered


def test_long_poll_events():
    [board] = parse("vk_bots_longpoll_board_post_new.json")
    assert board.external_id == "topic-1234_38446232_3"
    assert board.thread.kind == "board"
    assert board.thread.ids == {"group_id": 1234, "topic_id": 38446232, "comment_id": 3, "from_id": 123}
    assert board.url == "https://vk.com/topic-1234_38446232?post=3"

    [message] = parse("vk_bots_longpoll_message_new.json")
    assert message.external_id == "msg123456789_614" and message.text == "f"
    assert message.thread.ids == {"peer_id": 123456789, "conversation_message_id": 614, "message_id": 985}
    assert message.created_at.year == 2019 and message.event == EventKind.NEW

    [post] = parse("vk_bots_longpoll_wall_post_new.json")
    assert post.external_id == "wall-1234_6" and post.thread.ids == {"owner_id": -1234, "post_id": 6}
    assert post.author.id == "123"

    [comment] = parse("vk_bots_longpoll_wall_reply_new.json")
    assert comment.external_id == "wall-1234_6_9"
    assert comment.thread.ids == {"owner_id": -1234, "post_id": 6, "comment_id": 9}
    assert comment.reply_to == "wall-1234_6"  # a top-level comment answers the post


def test_our_outgoing_message_and_gap_notice_carry_no_citizen_message():
    assert parse("vk_bots_longpoll_message_reply.json") == []  # out=1: what the community sent
    assert parse("vk_bots_longpoll_failed_1.json") == []


def test_bare_event_objects():
    [photo] = parse("vk_event_message_new_message_object_with_photo.json")
    assert photo.thread.ids["peer_id"] == 2000000008  # a chat: id is 0 there, so the cmid identifies it
    assert "message_id" not in photo.thread.ids and photo.external_id == "msg2000000008_120470"
    [attachment] = photo.attachments
    assert attachment.type == "photo" and attachment.id == "photo499047616_457273210"
    assert "size=569x287" in attachment.url  # the largest size

    [comment] = parse("vk_event_wall_reply_new_object.json")
    assert comment.external_id == "wall-192764727_310_312"


def test_comment_listings_with_deleted_items_and_old_format():
    comments = parse("vk_wall_getComments_response.json")
    assert [c.external_id for c in comments] == ["wall-69459624_482121_482124", "wall-69459624_482121_482418"]
    assert comments[0].engagement == 1  # one reply in its thread
    legacy = parse("vk_wall_getComments_attachments_response_legacy.json")
    assert [c.external_id for c in legacy] == ["comment3809", "comment3810"]  # no post known: id only
    assert (
        legacy[0].text == "Поздравляю вас!!!\nРастите здоровыми, счастливыми и красивыми!"
    )  # <br> -> newline
    assert legacy[1].attachments[0].url.endswith("XhRY9Pmoo70.jpg")  # photo_604, the largest of the old keys


def test_search_results_keep_people_and_drop_communities():
    [post] = parse("vk_newsfeed_search_response.json")
    assert post.author.id == "388444282" and post.author.name  # the name comes from `profiles`
    assert post.text.startswith("\u2757")  # &#10071; unescaped
    assert len(post.attachments) == 5


def test_conversations_from_vk_service_account_are_not_citizens():
    # The only conversation's last message is from id 100, VK's own administration account.
    assert parse("vk_messages_getConversations_response.json") == []


@pytest.mark.parametrize(("name", "code"), [("vk_error_5_auth.json", 5), ("vk_error_14_captcha.json", 14)])
def test_error_samples_raise_classified(name, code):
    with pytest.raises(AuthFailed) as exc:
        parse(name)
    assert exc.value.code == code
    assert exc.value.alert is (code == 14)  # a captcha needs a person


def test_not_vk_payloads_are_rejected():
    for payload in ({"hello": "world"}, 42, "text"):
        with pytest.raises(Fatal):
            VkConnector.parse(payload)


def test_cli_normalize():
    ok = subprocess.run(
        [
            sys.executable,
            "-m",
            "otklik",
            "normalize",
            "--platform",
            "vk",
            str(SAMPLES / "vk_wall_getComments_response.json"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    assert [json.loads(line)["external_id"] for line in ok.stdout.splitlines()] == [
        "wall-69459624_482121_482124",
        "wall-69459624_482121_482418",
    ]
    err = subprocess.run(
        [
            sys.executable,
            "-m",
            "otklik",
            "normalize",
            "--platform",
            "vk",
            str(SAMPLES / "vk_error_14_captcha.json"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert err.returncode == 3
    assert json.loads(err.stdout)["error"] == "auth_failed" and json.loads(err.stdout)["code"] == 14
