"""What is and is not a citizen's message, and how each maps (pure: no I/O)."""

import pytest

from connectors.errors import Fatal
from connectors.telegram.mapping import bot_id_of, map_message, map_update, own_chats_seen
from otklik.models import EventKind

CHANNEL = {"id": -1002000000001, "title": "Администрация", "type": "channel", "username": "adm_channel"}
DISCUSSION = {"id": -1002000000002, "title": "Обсуждение", "type": "supergroup"}
CITIZEN = {"id": 301, "is_bot": False, "first_name": "Пётр", "last_name": "Кленов"}


def msg(**kw):
    base = {
        "message_id": 5,
        "date": 1767250800,
        "chat": {"id": 301, "type": "private", "first_name": "Пётр"},
        "from": CITIZEN,
        "text": "Яма на дороге",
    }
    return {**base, **kw}


def test_citizen_message():
    m = map_message(msg(), EventKind.NEW, "tg")
    assert m.external_id == "301:5" and m.author.name == "Пётр Кленов" and m.text == "Яма на дороге"


@pytest.mark.parametrize(
    "why, message",
    [
        ("our bot", msg(**{"from": {"id": 7000000001, "is_bot": False, "first_name": "Отклик"}})),
        ("any bot", msg(**{"from": {"id": 99, "is_bot": True, "first_name": "Другой бот"}})),
        ("a service message", msg(text=None, new_chat_members=[CITIZEN])),
        ("a channel post", msg(chat=CHANNEL, sender_chat=CHANNEL, **{"from": None})),
        (
            "the automatic forward",
            msg(
                chat=DISCUSSION,
                sender_chat=CHANNEL,
                is_automatic_forward=True,
                **{"from": {"id": 777000, "is_bot": False, "first_name": "Telegram"}},
            ),
        ),
        (
            "an admin writing as our channel",
            msg(
                chat=DISCUSSION,
                sender_chat=CHANNEL,
                **{"from": {"id": 136817688, "is_bot": True, "first_name": "Channel"}},
            ),
        ),
        (
            "an anonymous group admin",
            msg(
                chat=DISCUSSION,
                sender_chat=DISCUSSION,
                **{"from": {"id": 1087968824, "is_bot": True, "first_name": "Group"}},
            ),
        ),
    ],
)
def test_not_a_citizens_message(why, message):
    assert (
        map_message(message, EventKind.NEW, "tg", bot_id=7000000001, own_chat_ids={CHANNEL["id"]}) is None
    ), why


def test_a_citizen_writing_as_their_own_channel_is_kept():
    own = {"id": -1003000000009, "title": "Блог жителя", "type": "channel", "username": "resident_blog"}
    m = map_message(
        msg(
            chat=DISCUSSION,
            sender_chat=own,
            **{"from": {"id": 136817688, "is_bot": True, "first_name": "Channel"}},
        ),
        EventKind.NEW,
        "tg",
        own_chat_ids={CHANNEL["id"]},
    )
    assert m.author.id == str(own["id"]) and m.author.name == "Блог жителя"
    assert m.author.url == "https://t.me/resident_blog" and not m.author.is_bot


def test_comment_under_a_channel_post():
    forward = msg(message_id=40, chat=DISCUSSION, sender_chat=CHANNEL, is_automatic_forward=True)
    comment = msg(message_id=41, chat=DISCUSSION, message_thread_id=40, reply_to_message=forward)
    [m] = map_update({"update_id": 1, "message": comment}, "tg")
    assert m.thread.ids == {"chat_id": DISCUSSION["id"], "message_id": 41, "message_thread_id": 40}
    assert m.reply_to == f"{DISCUSSION['id']}:40"
    assert m.url == "https://t.me/c/2000000002/41"  # a private supergroup: the t.me/c/ link


def test_photo_with_caption():
    photo = [{"file_id": "small", "width": 90}, {"file_id": "large", "width": 800}]
    m = map_message(msg(text=None, caption="Вот эта яма", photo=photo), EventKind.NEW, "tg")
    assert m.text == "Вот эта яма" and [(a.type, a.id) for a in m.attachments] == [("photo", "large")]


def test_media_without_text_is_kept():
    m = map_message(msg(text=None, voice={"file_id": "v1", "duration": 3}), EventKind.NEW, "tg")
    assert m.text == "" and m.attachments[0].type == "voice"


def test_edit_and_update_kinds():
    [edit] = map_update({"update_id": 2, "edited_message": msg(edit_date=1767250900)}, "tg")
    assert (
        edit.event == EventKind.EDIT
        and edit.external_id == "301:5"
        and edit.edited_at.timestamp() == 1767250900
    )
    assert map_update({"update_id": 3, "channel_post": msg(chat=CHANNEL, sender_chat=CHANNEL)}, "tg") == []
    assert map_update({"update_id": 4, "my_chat_member": {}}, "tg") == []


def test_own_chats_are_learnt_from_channel_posts_and_forwards():
    forward = msg(chat=DISCUSSION, sender_chat=CHANNEL, is_automatic_forward=True)
    assert own_chats_seen({"update_id": 1, "message": forward}) == {CHANNEL["id"]}
    assert own_chats_seen({"update_id": 2, "channel_post": msg(chat=CHANNEL)}) == {CHANNEL["id"]}
    assert own_chats_seen({"update_id": 3, "message": msg()}) == set()


def test_malformed_message_is_fatal():
    with pytest.raises(Fatal):
        map_message({"message_id": 1}, EventKind.NEW, "tg")


def test_bot_id_from_token():
    assert bot_id_of("123456:ABC-def") == 123456 and bot_id_of("not-a-token") is None
