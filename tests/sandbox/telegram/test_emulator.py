"""The Telegram emulator speaks the Bot API as the public samples show it: shapes, offsets and
retention, long polls and conflicts, webhooks with the secret header, sendMessage's replies,
errors and flood limits, channels with discussion groups, and the injected faults."""

import json
import threading
from pathlib import Path

import httpx
import pytest

from sandbox.runner import serving
from sandbox.telegram.emulator import BOT, CHANNEL, DISCUSSION, GROUP, TOKEN, TelegramEmulator
from sandbox.telegram.receiver import WebhookReceiver

SAMPLES = Path(__file__).resolve().parents[2] / "connectors" / "telegram" / "samples"


def sample(name: str) -> dict:
    return json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def keys(value):
    """The shape of a JSON value: nested keys, without the values."""
    if isinstance(value, dict):
        return {k: keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [keys(value[0])] if value else []
    return None


class Clock:
    def __init__(self, now: float = 1_767_250_800.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Bot:
    """Calls the emulator like a bot does; `call` returns the envelope and the HTTP status."""

    def __init__(self, server, token: str = TOKEN) -> None:
        self.server = server
        self.emulator: TelegramEmulator = server.emulator
        self.http = httpx.Client(base_url=f"{server.url}/bot{token}", timeout=10)

    def call(self, method: str, how: str = "json", **params) -> tuple[int, dict]:
        if how == "json":
            r = self.http.post(f"/{method}", json=params)
        elif how == "form":
            r = self.http.post(
                f"/{method}",
                data={k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in params.items()},
            )
        else:
            r = self.http.get(
                f"/{method}",
                params={k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in params.items()},
            )
        return r.status_code, r.json()

    def result(self, method: str, **params):
        status, body = self.call(method, **params)
        assert status == 200 and body["ok"] is True, body
        return body["result"]

    def inject(self, **payload) -> dict:
        return self.server.call(self.emulator.inject, payload)


@pytest.fixture
def bot():
    emulator = TelegramEmulator(clock=Clock(), long_poll_cap=0.5)
    with serving(emulator) as server:
        client = Bot(server)
        yield client
        client.http.close()


# -- shapes ------------------------------------------------------------------------------------
def test_private_message_has_the_shape_of_the_capture(bot):
    bot.inject(text="4", author_id=408, author_name="Ира", author_username="ira")
    [update] = bot.result("getUpdates")
    assert keys(update) == keys(sample("telegram_update_private_text"))
    official = keys(sample("telegram_update_message_official"))["message"]
    bot.inject(text="/start", author_id=409, author_name="Ия", author_last_name="Ли", author_username="iya")
    mine = keys(bot.result("getUpdates", offset=update["update_id"] + 1)[0]["message"])
    for part in ("from", "chat"):  # the 2015 example lacks is_bot and language_code; the rest is there
        assert set(official[part]) <= set(mine[part])
    assert set(official) <= set(mine)


def test_group_reply_has_the_shape_of_the_capture(bot):
    question = bot.inject(text="Кто чинит дороги?", chat="group", author_id=1)
    bot.inject(
        text="/report",
        chat="group",
        author_id=2,
        author_username="two",
        reply_to_message_id=question["message_id"],
    )
    update = bot.result("getUpdates")[1]
    theirs = keys(sample("telegram_update_supergroup_reply_thread"))
    assert set(keys(update)["message"]) == set(theirs["message"])
    assert keys(update)["message"]["chat"] == theirs["message"]["chat"]
    assert keys(update)["message"]["entities"] == theirs["message"]["entities"]
    assert update["message"]["message_thread_id"] == question["message_id"]  # a reply chain is a thread
    assert "reply_to_message" not in update["message"]["reply_to_message"]  # nested one level only


def test_edit_has_the_shape_of_the_official_example(bot):
    created = bot.inject(text="Яма", author_id=3, author_last_name="Ям", author_username="yam")
    bot.inject(kind="edit", text="Яма на Лесной", **created)
    edited = bot.result("getUpdates")[1]
    theirs = keys(sample("telegram_update_edited_message_official"))
    assert set(edited) == set(theirs) and set(theirs["edited_message"]) <= set(edited["edited_message"])
    assert (
        edited["edited_message"]["message_id"] == created["message_id"]
        and edited["edited_message"]["edit_date"]
    )


def test_error_envelope_has_the_shape_of_the_429_capture(bot):
    created = bot.inject(text="?", author_id=4)
    bot.result("sendMessage", chat_id=created["chat_id"], text="один")
    status, body = bot.call("sendMessage", chat_id=created["chat_id"], text="два")
    assert status == 429 and keys(body) == keys(sample("telegram_error_429"))
    assert body["description"] == f"Too Many Requests: retry after {body['parameters']['retry_after']}"


# -- getUpdates --------------------------------------------------------------------------------
def test_offsets_confirm_and_negative_offsets_keep_the_tail(bot):
    for i in range(5):
        bot.inject(text=f"m{i}", author_id=10 + i)
    first = bot.result("getUpdates", limit=2)
    assert len(first) == 2 and bot.result("getUpdates", limit=2) == first  # not confirmed yet
    rest = bot.result("getUpdates", offset=first[-1]["update_id"] + 1)
    assert [u["message"]["text"] for u in rest] == ["m2", "m3", "m4"]
    assert len(bot.emulator.updates) == 3  # the first two are forgotten
    tail = bot.result("getUpdates", offset=-1)
    assert [u["message"]["text"] for u in tail] == ["m4"] and len(bot.emulator.updates) == 1


def test_unconfirmed_updates_live_24_hours(bot):
    bot.inject(text="старое", author_id=20)
    bot.emulator.clock.now += 23 * 3600
    bot.inject(text="новое", author_id=21)
    assert len(bot.result("getUpdates")) == 2
    bot.emulator.clock.now += 3600 + 1
    assert [u["message"]["text"] for u in bot.result("getUpdates")] == ["новое"]


def test_allowed_updates_persist_between_calls(bot):
    bot.result("getUpdates", allowed_updates=["edited_message"])
    created = bot.inject(text="не нужен", author_id=22)
    bot.inject(kind="edit", text="правка", **created)
    assert [list(u)[1] for u in bot.result("getUpdates")] == ["edited_message"]
    assert [list(u)[1] for u in bot.result("getUpdates")] == ["edited_message"]  # still filtered
    bot.result("getUpdates", allowed_updates=[])  # the default set again
    bot.inject(text="нужен", author_id=23)
    assert list(bot.result("getUpdates")[-1])[1] == "message"


def test_get_query_form_and_case_insensitive_methods(bot):
    bot.inject(text="вопрос", author_id=24)
    assert len(bot.result("getupdates", how="get", limit=1)) == 1
    assert bot.result("GETME", how="form")["id"] == BOT["id"]


def test_a_long_poll_wakes_on_a_new_message(bot):
    got = {}
    poll = threading.Thread(target=lambda: got.update(r=bot.result("getUpdates", timeout=30)))
    poll.start()
    bot.inject(text="вот и я", author_id=25)
    poll.join(10)
    result = got["r"] or bot.result("getUpdates")  # on a slow machine the capped poll may end first
    assert [u["message"]["text"] for u in result] == ["вот и я"]


def test_a_second_poller_ends_the_first_with_409(bot):
    out = {}
    first = threading.Thread(target=lambda: out.update(first=bot.call("getUpdates", timeout=30)))
    first.start()
    for _ in range(100):  # wait until the first poll is waiting
        if bot.emulator.poll._generation:
            break
        threading.Event().wait(0.01)
    second = bot.call("getUpdates", timeout=0)
    first.join(10)
    status, body = out["first"]
    assert second[0] == 200 and status == 409
    assert body["description"].startswith("Conflict: terminated by other getUpdates request")


# -- webhooks ----------------------------------------------------------------------------------
def test_webhook_delivers_with_the_secret_and_retries(bot):
    receiver = WebhookReceiver(fail_first=2)
    with serving(receiver) as hook:
        assert bot.call("setWebhook", url=hook.url + receiver.path, secret_token="bad secret!")[0] == 400
        status, body = bot.call("setWebhook", url=hook.url + receiver.path, secret_token="Abc_123-x")
        assert status == 200 and body == {"ok": True, "result": True, "description": "Webhook was set"}
        status, body = bot.call("getUpdates")
        assert status == 409 and "webhook is active" in body["description"]
        created = bot.inject(text="срочно", author_id=30)
        for _ in range(200):
            if hook.call(lambda: [r["status"] for r in receiver.received]).count(200) == 1:
                break
            threading.Event().wait(0.02)
        received = hook.call(lambda: list(receiver.received))
    assert [r["status"] for r in received] == [500, 500, 200]  # retried until answered 2xx
    assert all(r["headers"]["X-Telegram-Bot-Api-Secret-Token"] == "Abc_123-x" for r in received)
    assert received[-1]["json"]["message"]["message_id"] == created["message_id"]
    info = bot.result("getWebhookInfo")
    assert info["pending_update_count"] == 0 and info["url"].endswith(receiver.path)
    assert info["last_error_message"] == "Wrong response from the webhook: 500 Internal Server Error"
    assert bot.call("deleteWebhook")[1]["description"] == "Webhook was deleted"
    assert bot.call("deleteWebhook")[1]["description"] == "Webhook is already deleted"
    assert bot.result("getUpdates") == []


def test_set_webhook_ends_a_waiting_poll(bot):
    out = {}
    poll = threading.Thread(target=lambda: out.update(r=bot.call("getUpdates", timeout=30)))
    poll.start()
    for _ in range(100):
        if bot.emulator.poll._generation:
            break
        threading.Event().wait(0.01)
    bot.result("setWebhook", url="http://127.0.0.1:9/hook")
    poll.join(10)
    assert out["r"][0] == 409 and out["r"][1]["description"] == "Conflict: terminated by setWebhook request"


def test_webhook_duplicate_fault_delivers_twice(bot):
    receiver = WebhookReceiver()
    bot.emulator.faults.add({"kind": "duplicate", "match": "webhook", "count": 1})
    with serving(receiver) as hook:
        bot.result("setWebhook", url=hook.url + receiver.path)
        bot.inject(text="раз", author_id=31)
        for _ in range(200):
            if len(hook.call(lambda: list(receiver.received))) >= 2:
                break
            threading.Event().wait(0.02)
        ids = [r["json"]["update_id"] for r in hook.call(lambda: list(receiver.received))]
    assert len(ids) == 2 and ids[0] == ids[1]


# -- sendMessage -------------------------------------------------------------------------------
def test_reply_parameters_and_the_legacy_field(bot):
    created = bot.inject(text="Вопрос", author_id=40)
    sent = bot.result(
        "sendMessage",
        chat_id=created["chat_id"],
        text="Ответ",
        reply_parameters={"message_id": created["message_id"]},
    )
    assert sent["from"] == BOT and sent["reply_to_message"]["message_id"] == created["message_id"]
    bot.emulator.clock.now += 2
    bot.result(
        "sendMessage",
        how="form",
        chat_id=created["chat_id"],
        text="Ещё",
        reply_to_message_id=created["message_id"],
    )
    assert [(r["reply_to"], r["text"]) for r in bot.emulator.replies] == [
        (f"{created['chat_id']}:{created['message_id']}", "Ответ"),
        (f"{created['chat_id']}:{created['message_id']}", "Ещё"),
    ]
    assert [u for u in bot.result("getUpdates") if u["message"]["from"]["is_bot"]] == []  # never its own


def test_send_errors(bot):
    created = bot.inject(text="Вопрос", author_id=41)
    chat = created["chat_id"]
    cases = [
        ({"text": "x"}, 400, "Bad Request: chat_id is empty"),
        ({"chat_id": 999, "text": "x"}, 400, "Bad Request: chat not found"),
        ({"chat_id": chat, "text": "  "}, 400, "Bad Request: message text is empty"),
        ({"chat_id": chat, "text": "я" * 4097}, 400, "Bad Request: message is too long"),
        (
            {"chat_id": chat, "text": "x", "reply_parameters": {"message_id": 99}},
            400,
            "Bad Request: message to be replied not found",
        ),
        (
            {"chat_id": GROUP["id"], "text": "x", "message_thread_id": 99},
            400,
            "Bad Request: message thread not found",
        ),
    ]
    for params, status, description in cases:
        got_status, body = bot.call("sendMessage", **params)
        assert (got_status, body) == (status, {"ok": False, "error_code": status, "description": description})
    ok = bot.result(
        "sendMessage",
        chat_id=chat,
        text="x",
        reply_parameters={"message_id": 99, "allow_sending_without_reply": True},
    )
    assert "reply_to_message" not in ok
    bot.emulator.blocked_chats.add(chat)
    assert (
        bot.call("sendMessage", chat_id=chat, text="x")[1]["description"]
        == "Forbidden: bot was blocked by the user"
    )
    assert bot.emulator.replies and len(bot.emulator.replies) == 1


def test_wrong_parameter_values_are_bad_requests(bot):
    assert bot.call("getUpdates", offset="soon")[0] == 400
    assert (
        bot.call("sendMessage", chat_id=GROUP["id"], text="x", reply_parameters={"message_id": "x"})[0] == 400
    )


def test_revoked_token_and_unknown_method(bot):
    assert bot.call("noSuchMethod")[1] == {"ok": False, "error_code": 404, "description": "Not Found"}
    httpx.post(f"{bot.server.url}/_sandbox/revoke")
    for method in ("getMe", "getUpdates", "sendMessage"):
        assert bot.call(method) == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})


# -- limits ------------------------------------------------------------------------------------
def test_one_message_per_second_in_a_chat(bot):
    created = bot.inject(text="?", author_id=50)
    bot.result("sendMessage", chat_id=created["chat_id"], text="1")
    status, body = bot.call("sendMessage", chat_id=created["chat_id"], text="2")
    assert status == 429 and body["parameters"]["retry_after"] == 1
    bot.emulator.clock.now += 1.01
    bot.result("sendMessage", chat_id=created["chat_id"], text="2")
    assert bot.emulator.rate_limited == 1


def test_twenty_messages_a_minute_in_a_group(bot):
    for i in range(20):
        bot.result("sendMessage", chat_id=GROUP["id"], text=f"{i}")
        bot.emulator.clock.now += 1.01
    status, body = bot.call("sendMessage", chat_id=GROUP["id"], text="21")
    assert status == 429 and 35 <= body["parameters"]["retry_after"] <= 41
    bot.emulator.clock.now += body["parameters"]["retry_after"]
    bot.result("sendMessage", chat_id=GROUP["id"], text="21")


def test_thirty_messages_a_second_overall(bot):
    chats = [bot.inject(text="?", author_id=100 + i)["chat_id"] for i in range(31)]
    for chat in chats[:30]:
        bot.result("sendMessage", chat_id=chat, text="ответ")
    status, body = bot.call("sendMessage", chat_id=chats[30], text="ответ")
    assert status == 429 and body["parameters"]["retry_after"] == 1


# -- channels, privacy, deletions, faults ------------------------------------------------------
def test_channel_post_forward_and_comments(bot):
    post = bot.inject(text="Новость", chat="channel_post")
    comment = bot.inject(text="Комментарий", chat="channel_comment", post_id=post["message_id"], author_id=60)
    channel_post, forward, message = bot.result("getUpdates")
    assert channel_post["channel_post"]["chat"] == CHANNEL and "from" not in channel_post["channel_post"]
    fwd = forward["message"]
    assert fwd["is_automatic_forward"] and fwd["sender_chat"] == CHANNEL and fwd["chat"] == DISCUSSION
    assert fwd["forward_origin"]["message_id"] == post["message_id"] and fwd["from"]["id"] == 777000
    msg = message["message"]
    assert (
        msg["message_id"] == comment["message_id"]
        and msg["reply_to_message"]["message_id"] == fwd["message_id"]
    )
    assert msg["message_thread_id"] == fwd["message_id"]
    answer = bot.result(
        "sendMessage",
        chat_id=DISCUSSION["id"],
        text="Ответ",
        reply_parameters={"message_id": msg["message_id"]},
    )
    assert answer["message_thread_id"] == fwd["message_id"]  # the answer stays in the comments


def test_privacy_mode_hides_ordinary_group_messages(bot):
    bot.emulator.world.privacy_mode = True
    assert bot.result("getMe")["can_read_all_group_messages"] is False
    mine = bot.result("sendMessage", chat_id=GROUP["id"], text="Напишите нам")
    bot.inject(text="обычное", chat="group", author_id=70)
    bot.inject(text="/start", chat="group", author_id=71)
    bot.inject(text="ответ боту", chat="group", author_id=72, reply_to_message_id=mine["message_id"])
    assert [u["message"]["text"] for u in bot.result("getUpdates")] == ["/start", "ответ боту"]


def test_deletions_are_not_delivered(bot):
    created = bot.inject(text="удалю", author_id=80)
    bot.result("getUpdates", offset=bot.result("getUpdates")[0]["update_id"] + 1)
    assert bot.inject(kind="delete", **created)["update_id"] is None
    assert bot.result("getUpdates") == []
    assert bot.inject(kind="edit", text="нет такого", **created) == {"error": "no such message"}


def test_injected_faults_use_telegrams_envelopes(bot):
    for kind, status in (("5xx", 502), ("429", 429), ("auth", 401)):
        bot.emulator.faults.add({"kind": kind, "match": "getUpdates", "retry_after": 3})
        got_status, body = bot.call("getUpdates")
        assert got_status == status and body["ok"] is False and body["error_code"] == status
        if kind == "429":
            assert body["parameters"] == {"retry_after": 3}
    bot.emulator.faults.add({"kind": "malformed", "match": "getUpdates"})
    with pytest.raises(json.JSONDecodeError):
        bot.call("getUpdates")


def test_duplicate_fault_redelivers_a_confirmed_update(bot):
    bot.inject(text="раз", author_id=90)
    [first] = bot.result("getUpdates")
    bot.emulator.faults.add({"kind": "duplicate", "match": "getUpdates"})
    bot.inject(text="два", author_id=90)
    again = bot.result("getUpdates", offset=first["update_id"] + 1)
    assert [u["update_id"] for u in again] == [first["update_id"], first["update_id"] + 1]
