"""The MAX emulator speaks MAX's wire format: plain HTTP against it, and a third-party client (maxapi)."""

import asyncio

import httpx
import pytest

from sandbox.max.emulator import BOT, CHANNEL, GROUP, TOKEN, MaxEmulator
from sandbox.runner import serving

AUTH = {"Authorization": TOKEN}


@pytest.fixture
def mx():
    emulator = MaxEmulator(long_poll_cap=0.3)
    with serving(emulator) as server:
        yield server, emulator


def test_token_only_in_the_header(mx):
    server, _ = mx
    assert httpx.get(f"{server.url}/me", headers=AUTH).json()["user_id"] == BOT["user_id"]
    r = httpx.get(f"{server.url}/me", params={"access_token": TOKEN})
    assert r.status_code == 401 and r.json() == {"code": "verify.token", "message": "Invalid access_token"}


def test_marker_semantics(mx):
    server, emulator = mx
    for i in range(3):
        server.call(emulator.inject, {"text": f"m{i}"})
    page = httpx.get(f"{server.url}/updates", params={"limit": 2, "timeout": 0}, headers=AUTH).json()
    assert len(page["updates"]) == 2 and page["marker"] == 3
    again = httpx.get(f"{server.url}/updates", params={"limit": 2, "timeout": 0}, headers=AUTH).json()
    assert again == page  # nothing confirmed without a marker
    rest = httpx.get(f"{server.url}/updates", params={"marker": 3, "timeout": 0}, headers=AUTH).json()
    assert [u["message"]["body"]["text"] for u in rest["updates"]] == ["m2"] and rest["marker"] == 4
    empty = httpx.get(f"{server.url}/updates", params={"marker": 4, "timeout": 0}, headers=AUTH).json()
    assert empty == {"updates": [], "marker": 4}  # the marker comes back even with nothing new
    r = httpx.get(f"{server.url}/updates", params={"timeout": 1500}, headers=AUTH)
    assert r.status_code == 400 and r.json()["code"] == "proto.payload"


def test_replies_links_comments_and_denials(mx):
    server, emulator = mx
    dialog = server.call(emulator.inject, {"text": "вопрос", "author_id": 7})
    comment = server.call(emulator.inject, {"text": "а у нас?", "chat": "channel_comment"})
    r = httpx.post(f"{server.url}/messages", params={"user_id": 7}, headers=AUTH,
                   json={"text": "ответ", "link": {"type": "reply", "mid": dialog["mid"]}})
    assert r.status_code == 200 and r.json()["message"]["link"]["message"]["mid"] == dialog["mid"]
    r = httpx.post(f"{server.url}/messages/{comment['post_id']}/comments", headers=AUTH,
                   json={"text": "ответ", "link": {"type": "reply", "mid": comment["mid"]}})
    assert r.status_code == 200 and r.json()["message"]["recipient"]["post_id"] == comment["post_id"]
    assert httpx.post(f"{server.url}/messages", params={"chat_id": 0}, headers=AUTH,
                      json={"text": "x"}).json()["code"] == "chat.denied"
    r = httpx.post(f"{server.url}/messages", params={"user_id": 7}, headers=AUTH, json={"text": "x" * 4001})
    assert r.status_code == 400 and "4000" in r.json()["message"]
    server.call(emulator.world.not_admin.add, GROUP["chat_id"])
    r = httpx.post(f"{server.url}/messages", params={"chat_id": GROUP["chat_id"]}, headers=AUTH, json={"text": "x"})
    assert r.status_code == 403 and r.json()["code"] == "chat.denied"
    member = httpx.get(f"{server.url}/chats/{CHANNEL['chat_id']}/members/me", headers=AUTH).json()
    assert member["is_admin"] and "read_all_messages" in member["permissions"]
    assert [r["chat_type"] for r in emulator.replies] == ["dialog", "comment"]


def test_limits_answer_429(mx):
    server, emulator = mx
    server.call(emulator.inject, {"text": "вопрос", "author_id": 8})
    codes = [httpx.post(f"{server.url}/messages", params={"user_id": 8}, headers=AUTH, json={"text": f"{i}"}).status_code
             for i in range(3)]
    assert codes == [200, 200, 429]  # 2 messages per second per chat
    with httpx.Client(headers=AUTH) as c:
        codes = [c.get(f"{server.url}/me").status_code for _ in range(40)]
    assert 429 in codes  # 30 requests per second overall


def test_injected_faults_use_max_error_bodies(mx):
    server, emulator = mx
    for kind, status, code in (("429", 429, "too.many.requests"), ("5xx", 500, "internal.error"),
                               ("auth", 401, "verify.token")):
        server.call(emulator.faults.add, {"kind": kind, "match": "/me"})
        r = httpx.get(f"{server.url}/me", headers=AUTH)
        assert (r.status_code, r.json()["code"]) == (status, code)


def test_uploads(mx):
    server, emulator = mx
    slot = httpx.post(f"{server.url}/uploads", params={"type": "image"}, headers=AUTH).json()
    photo = httpx.post(slot["url"], files={"data": ("a.jpg", b"jpg")}).json()
    assert next(iter(photo["photos"].values()))["token"]
    slot = httpx.post(f"{server.url}/uploads", params={"type": "audio"}, headers=AUTH).json()
    assert slot["token"] and httpx.post(slot["url"], files={"data": ("a.ogg", b"ogg")}).text == "<retval>1</retval>"


async def test_webhook_delivery_carries_the_secret(mx):
    from sandbox.telegram.receiver import WebhookReceiver

    server, emulator = mx
    receiver = WebhookReceiver(path="/hook")
    with serving(receiver) as hook:
        async with httpx.AsyncClient(headers=AUTH) as c:
            r = await c.post(f"{server.url}/subscriptions", json={"url": hook.url + "/hook", "secret": "abc-DEF-123"})
            assert r.json() == {"success": True}
            assert (await c.post(f"{server.url}/subscriptions", json={"url": hook.url, "secret": "no!"})).status_code == 400
            server.call(emulator.inject, {"text": "через вебхук"})
            for _ in range(100):
                if receiver.received:
                    break
                await asyncio.sleep(0.05)
            [got] = receiver.received
            assert got["headers"]["X-Max-Bot-Api-Secret"] == "abc-DEF-123"
            # With a subscription long polling gets nothing.
            assert (await c.get(f"{server.url}/updates", params={"timeout": 0})).json()["updates"] == []


async def test_maxapi_client_talks_to_the_emulator(mx):
    """A third-party MAX library (PyPI `maxapi`) pointed at the emulator: get-me, send, updates."""
    maxapi = pytest.importorskip("maxapi")
    server, emulator = mx
    created = server.call(emulator.inject, {"text": "Здравствуйте, вопрос", "author_id": 31})
    bot = maxapi.Bot(token=TOKEN)
    bot.set_api_url(server.url)
    try:
        me = await bot.get_me()
        assert me.user_id == BOT["user_id"] and me.is_bot
        updates = await bot.get_updates(limit=10, timeout=0)
        raw = updates if isinstance(updates, dict) else updates.model_dump() if hasattr(updates, "model_dump") else {}
        assert raw["updates"] and raw["updates"][0]["message"]["body"]["mid"] == created["mid"]
        sent = await bot.send_message(user_id=31, text="Ответ администрации")
        assert sent.message.body.text == "Ответ администрации"
        assert emulator.replies[-1]["chat_type"] == "dialog"
    finally:
        await bot.close_session()
