"""Every OK Bot API (`/graph/me/…`) response the connector or `sources check` reads is understood by
`OkConnector.parse` (and so by `otklik normalize`): /me/info, /me/chat, /me/chats,
/me/subscriptions, /me/messages, the send and subscribe results. The ones that carry no citizen
message give none; an unknown object is still refused."""

import json
import subprocess
import sys

import pytest

from connectors.base import SourceConfig
from connectors.errors import Malformed
from connectors.ok.connector import OkConnector
from sandbox.cassette import FIXTURES_DIR, load
from sandbox.ok.emulator import OkEmulator
from sandbox.runner import serving

GROUP = "group:70000000000001"


@pytest.fixture
def ok():
    emulator = OkEmulator(rps_limit=1000)
    with serving(emulator) as server:
        yield server, emulator


def recorded_graph_responses() -> list[tuple[str, str, dict]]:
    out = []
    for path in sorted((FIXTURES_DIR / "ok").glob("*.json")):
        for it in load("ok", path.stem)["interactions"]:
            req, resp = it["request"], it["response"]
            if req["path"].startswith("/graph/me/") and resp.get("status") == 200 and "json" in resp:
                out.append((path.stem, req["path"], resp["json"]))
    return out


RECORDED = recorded_graph_responses()


def test_the_cassettes_cover_check_and_polling():
    paths = {p.split("/graph/me/")[1].split("/")[0] for _, p, _ in RECORDED}
    assert {"info", "subscriptions", "chats", "messages", "subscribe"} <= paths


@pytest.mark.parametrize(("scenario", "path", "body"), RECORDED, ids=[f"{s}:{p}" for s, p, _ in RECORDED])
def test_every_recorded_bot_api_response_parses(scenario, path, body):
    messages = OkConnector.parse(body, "ok")
    if path.startswith("/graph/me/messages/") and "messages" in body:
        assert len(messages) == sum(1 for m in body["messages"] if m["sender"]["user_id"].startswith("user:"))
    else:
        assert messages == []


# As OK describes them: /me/info names the bot's account (a user's bot: user_id; a group's token:
# group_id), /me/chat describes one chat. Values are made up.
ME_INFO_USER = {"user_id": "user:575662066926", "name": "Бот администрации",
                "avatar_url": "https://i.mycdn.me/i?r=demo"}
ME_INFO_GROUP = {"name": "Администрация Северного района", "group_id": GROUP}
ME_CHAT = {"chat_id": "chat:C3ed2fd8e1a4d", "type": "GROUP_CHAT", "status": "ACTIVE", "title": "Чат жителей",
           "owner_id": "user:575662066926", "participants_count": 12, "last_event_time": 1795425815000}


@pytest.mark.parametrize("body", [ME_INFO_USER, ME_INFO_GROUP, ME_CHAT])
def test_info_and_chat_carry_no_message(body, tmp_path):
    assert OkConnector.parse(body) == []
    f = tmp_path / "payload.json"
    f.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "otklik", "normalize", "--platform", "ok", str(f)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "", r.stderr


@pytest.mark.parametrize("body", [
    {"name": "x"},  # no account id
    {"name": "x", "group_id": "70000000000001"},  # not OK's "group:" form
    {"chat_id": "chat:C1"},  # a bare id: not a chat description
    {"chat_id": 5, "type": "CHAT"},
])
def test_look_alikes_are_still_refused(body):
    with pytest.raises(Malformed):
        OkConnector.parse(body)


async def test_live_bot_api_responses_parse(ok):
    """What the emulator serves for every Bot API read, fetched through the connector's client."""
    server, emulator = ok
    created = server.call(emulator.inject, {"text": "В чате: нет воды", "target": "chat", "author_id": 571000000009})
    url = "http://127.0.0.1:9/webhooks/ok/path-token"
    conn = OkConnector(SourceConfig(
        name="ok", platform="ok", base_url=server.url,
        secrets={**emulator.demo_secrets(), "webhook_path": "path-token"},
        options={**emulator.demo_options(), "retry_wait": 0, "webhook": True, "webhook_url": url}))
    await conn.subscribe_webhook(url)
    chat = created["chat_id"]
    bodies = {
        "info": await conn.client.graph("GET", "info"),
        "chats": await conn.client.graph("GET", "chats", count=100),
        "chat": await conn.client.graph("GET", f"chat/{chat}"),
        "subscriptions": await conn.client.graph("GET", "subscriptions"),
        "messages": await conn.client.graph("GET", f"messages/{chat}", count=50),
    }
    for name, body in bodies.items():
        got = OkConnector.parse(body, "ok")
        assert (len(got) >= 1) if name == "messages" else (got == []), name
    assert any(m.text == "В чате: нет воды" for m in OkConnector.parse(bodies["messages"], "ok"))
    assert await conn.check() == []  # `sources check` reads /me/info and /me/subscriptions
    await conn.aclose()
