"""The OK emulator speaks the wire format of the public samples, checks signatures, pages by anchor,
enforces its limits, answers OK's error envelopes and delivers webhooks like OK does."""

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from sandbox.ok.emulator import (
    ACCESS_TOKEN,
    APPLICATION_KEY,
    APPLICATION_SECRET_KEY,
    BOT_TOKEN,
    OkEmulator,
    signature,
)
from sandbox.ok.world import GROUP_ID
from sandbox.runner import serving

SAMPLES = Path(__file__).resolve().parents[2] / "connectors" / "ok" / "samples"


def sample(name: str):
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


def keys(value):
    """The shape of a JSON value: nested keys, without the values."""
    if isinstance(value, dict):
        return {k: keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [keys(value[0])] if value else []
    return None


class Clock:
    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def rest(server, method: str, *, token=ACCESS_TOKEN, secret=APPLICATION_SECRET_KEY, get=False, **params):
    p = {
        "application_key": APPLICATION_KEY,
        "method": method,
        "format": "json",
        **{k: str(v) for k, v in params.items()},
        "access_token": token,
    }
    p["sig"] = signature(p, secret)
    if get:
        return httpx.get(f"{server.url}/fb.do", params=p).json()
    return httpx.post(f"{server.url}/fb.do", data=p).json()


def graph(server, method: str, path: str, token=BOT_TOKEN, body=None, **params):
    r = httpx.request(
        method, f"{server.url}/graph/me/{path}", params={**params, "access_token": token}, json=body
    )
    return r


@pytest.fixture
def ok():
    emulator = OkEmulator(rps_limit=1000)
    with serving(emulator) as server:
        yield server, emulator


def test_signature_and_credentials_are_checked(ok):
    server, emulator = ok
    good = rest(server, "group.getInfo", uids=GROUP_ID, get=True)
    assert good == [{"uid": GROUP_ID, "name": "Администрация Северного района"}]
    assert rest(server, "group.getInfo", uids=GROUP_ID, secret="wrong")["error_code"] == 104
    p = {"application_key": "nope", "method": "group.getInfo", "uids": GROUP_ID, "access_token": ACCESS_TOKEN}
    assert httpx.post(f"{server.url}/fb.do", data={**p, "sig": signature(p, "x")}).json()["error_code"] == 101
    assert rest(server, "group.getInfo", uids=GROUP_ID, token="someone-else")["error_code"] == 103
    server.call(emulator.revoke)
    expired = rest(server, "group.getInfo", uids=GROUP_ID)
    assert keys(expired) == keys(sample("ok_error_102_session_expired.json"))
    assert expired["error_code"] == 102 and expired["error_msg"] == "PARAM_SESSION_EXPIRED : Session expired"
    assert (
        rest(server, "no.suchMethod", token=ACCESS_TOKEN)["error_code"] == 102
    )  # the session is checked first


def test_shapes_match_the_samples(ok):
    server, emulator = ok
    first = server.call(emulator.inject, {"text": "Первый", "author_id": 11, "author_name": "Анна Белова"})
    server.call(emulator.inject, {"text": "Ответ", "author_id": 12, "reply_to": first["id"]})
    comments = rest(
        server,
        "discussions.getComments",
        discussionId=first["discussion_id"],
        discussionType="GROUP_TOPIC",
        anchor="FIRST",
    )["comments"]
    assert keys(comments[1]) == keys(sample("ok_discussions_getComments_comment_item.json"))
    assert comments[1]["reply_to_comment_id"] == first["id"] and comments[1]["reply_to_id"] == "11"
    topic = server.call(emulator.inject, {"text": "Тема жителя", "target": "topic", "author_id": 13})
    discussion = rest(server, "discussions.get", discussionId=topic["id"], discussionType="GROUP_TOPIC")
    assert keys(discussion) == keys(sample("ok_discussions_get_response.json"))
    server.call(
        emulator.inject,
        {
            "text": "https://example.org/",
            "target": "chat",
            "author_id": 14,
            "attachments": [{"type": "SHARE", "payload": {"url": "https://example.org/"}}],
        },
    )
    server.call(emulator.inject, {"text": "просто текст", "target": "chat", "author_id": 14})
    history = graph(server, "GET", f"messages/{emulator.group_chat.chat_id}").json()
    official = sample("ok_bot_messages_get_response_official.json")
    assert keys(history["messages"][0]) == keys(official["messages"][0])
    assert keys(history["messages"][1]) == keys(official["messages"][1])  # with the attachment
    assert graph(server, "POST", "subscribe", body={"url": "http://127.0.0.1:9/hook"}).json() == {
        "success": True
    }
    assert keys(graph(server, "GET", "subscriptions").json()) == keys(
        sample("ok_bot_subscriptions_response_official.json")
    )
    emulator.dialogs["21"] = server.call(emulator.new_chat, "Диалог")
    sent = graph(
        server,
        "POST",
        "messages/chat:any",
        body={"recipient": {"user_ids": ["user:21", "22"]}, "message": {"text": "Привет"}},
    ).json()
    assert keys(sent) == keys(sample("ok_bot_send_to_users_response_official.json"))
    assert sent["success"] == [True, False] and sent["chat_ids"][1] is None


def test_comments_page_by_anchor_in_both_directions(ok):
    server, emulator = ok
    ids = [server.call(emulator.inject, {"text": f"к{i}", "author_id": 30 + i})["id"] for i in range(5)]
    did = emulator._newest_group_topic().id

    def page(anchor, direction, count=2):
        return rest(
            server,
            "discussions.getComments",
            discussionId=did,
            discussionType="GROUP_TOPIC",
            anchor=anchor,
            direction=direction,
            count=count,
        )

    got, anchor, more = [], "FIRST", True
    while more:
        body = page(anchor, "FORWARD")
        got += [c["id"] for c in body["comments"]]
        anchor, more = body["anchor"], body["has_more"]
    assert got == ids
    assert page(anchor, "FORWARD") == {
        "comments": [],
        "anchor": anchor,
        "has_more": False,
        "entities": {"users": []},
    }
    last = page("LAST", "BACKWARD")
    assert [c["id"] for c in last["comments"]] == ids[3:] and last["has_more"]  # still oldest first
    assert [c["id"] for c in page(last["anchor"], "BACKWARD")["comments"]] == ids[1:3]
    assert (
        rest(server, "discussions.getComments", discussionId="404", discussionType="GROUP_TOPIC")[
            "error_code"
        ]
        == 300
    )
    assert page("bm90IGFuIGFuY2hvcg==", "FORWARD")["error_code"] == 100


def test_topics_page_newest_first_and_count_comments(ok):
    server, emulator = ok
    extra = server.call(emulator.inject, {"text": "Моя тема", "target": "topic", "author_id": 40})
    first = rest(server, "mediatopic.getTopics", gid=GROUP_ID, count=2)
    assert [t["id"] for t in first["media_topics"]][0] == extra["id"] and first["has_more"]
    rest_ = rest(server, "mediatopic.getTopics", gid=GROUP_ID, count=2, anchor=first["anchor"])
    assert len(rest_["media_topics"]) == 1 and not rest_["has_more"]
    assert first["entities"]["users"][0]["uid"] == "40"
    c = server.call(emulator.inject, {"text": "коммент", "author_id": 41})
    counts = {
        t["id"]: t["discussion_summary"]["comments_count"]
        for t in rest(server, "mediatopic.getTopics", gid=GROUP_ID, count=10)["media_topics"]
    }
    assert counts[c["discussion_id"]] == 1
    server.call(emulator.inject, {"kind": "delete", "id": c["id"]})  # OK tells nobody; the count drops
    counts = {
        t["id"]: t["discussion_summary"]["comments_count"]
        for t in rest(server, "mediatopic.getTopics", gid=GROUP_ID, count=10)["media_topics"]
    }
    assert counts[c["discussion_id"]] == 0
    assert rest(server, "mediatopic.getTopics", gid="1")["error_code"] == 100


def test_replies_as_the_group_with_either_parameter_spelling(ok):
    server, emulator = ok
    c = server.call(emulator.inject, {"text": "вопрос", "author_id": 50})
    new_id = rest(
        server,
        "discussions.addDiscussionComment",
        entityId=c["discussion_id"],
        entityType="GROUP_TOPIC",
        comment="Ответ администрации",
        as_admin="true",
        reply_to_comment_id=c["id"],
    )
    assert isinstance(new_id, str)
    rest(
        server,
        "discussions.addDiscussionComment",
        discussionId=c["discussion_id"],
        discussionType="GROUP_TOPIC",
        comment="Второй ответ",
        as_admin="true",
    )
    assert [
        (r["reply_to_comment_id"], r["reply_to"], r["text"], r["as_admin"]) for r in emulator.replies
    ] == [
        (c["id"], c["id"], "Ответ администрации", True),
        (None, c["discussion_id"], "Второй ответ", True),
    ]
    own = rest(
        server,
        "discussions.getComments",
        discussionId=c["discussion_id"],
        discussionType="GROUP_TOPIC",
        anchor="LAST",
        direction="BACKWARD",
    )["comments"][-2]
    assert own["id"] == new_id and own["author_type"] == "GROUP" and own["author_id"] == GROUP_ID
    assert (
        rest(
            server,
            "discussions.addDiscussionComment",
            entityId=c["discussion_id"],
            entityType="GROUP_TOPIC",
            comment=" ",
        )["error_code"]
        == 100
    )


def test_rate_limit_answers_flood_blocked():
    clock = Clock()
    emulator = OkEmulator(rps_limit=2, clock=clock)
    with serving(emulator) as server:
        assert isinstance(rest(server, "group.getInfo", uids=GROUP_ID), list)
        assert isinstance(rest(server, "group.getInfo", uids=GROUP_ID), list)
        assert rest(server, "group.getInfo", uids=GROUP_ID)["error_code"] == 8
        clock.now += 1.5
        assert isinstance(rest(server, "group.getInfo", uids=GROUP_ID), list)
    assert emulator.rate_limited == 1


def test_injected_faults_use_oks_envelopes(ok):
    server, emulator = ok
    for kind, code in (("5xx", 2), ("429", 8), ("auth", 102)):
        emulator.faults.add({"kind": kind, "match": "fb.do", "count": 1})
        r = httpx.post(f"{server.url}/fb.do", data={})
        assert r.status_code == 200 and r.json()["error_code"] == code
    emulator.faults.add({"kind": "5xx", "match": "graph", "count": 1})
    assert graph(server, "GET", "info").status_code == 502
    emulator.faults.add({"kind": "429", "match": "graph", "count": 1, "retry_after": 3})
    r = graph(server, "GET", "info")
    assert r.status_code == 429 and r.headers["Retry-After"] == "3"
    assert graph(server, "GET", "info", token="bad").json()["error_code"] == 103


def test_duplicate_fault_serves_a_comment_again(ok):
    server, emulator = ok
    emulator.faults.add({"kind": "duplicate", "match": "inject", "count": 1})
    c = server.call(emulator.inject, {"text": "дважды", "author_id": 60})
    first = rest(
        server,
        "discussions.getComments",
        discussionId=c["discussion_id"],
        discussionType="GROUP_TOPIC",
        anchor="FIRST",
    )
    server.call(emulator.inject, {"text": "следующий", "author_id": 61})
    again = rest(
        server,
        "discussions.getComments",
        discussionId=c["discussion_id"],
        discussionType="GROUP_TOPIC",
        anchor=first["anchor"],
    )
    assert [x["id"] for x in again["comments"]][0] == c["id"]


def test_edits_change_text_in_place(ok):
    server, emulator = ok
    c = server.call(emulator.inject, {"text": "старый текст", "author_id": 70})
    assert (
        server.call(emulator.inject, {"kind": "edit", "id": c["id"], "text": "новый текст"})["delivered"]
        is False
    )
    body = rest(
        server, "discussions.getComments", discussionId=c["discussion_id"], discussionType="GROUP_TOPIC"
    )
    assert body["comments"][0]["text"] == "новый текст"


async def test_webhooks_are_retried_until_answered_then_given_up():
    clock = Clock()
    emulator = OkEmulator(rps_limit=1000, clock=clock)
    answers = [500, 200]
    got: list[dict] = []

    async def hook(request: web.Request) -> web.Response:
        got.append(await request.json())
        return web.Response(status=answers.pop(0) if answers else 500)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/hook"
    with serving(emulator) as server:
        await asyncio.to_thread(graph, server, "POST", "subscribe", body={"url": url})
        created = server.call(emulator.inject, {"text": "Нет воды", "target": "chat", "author_id": 80})
        for _ in range(100):
            if len(got) >= 2:
                break
            await asyncio.sleep(0.05)
        assert len(got) == 2 and got[0] == got[1]  # the failed delivery came again
        assert keys(got[0]) == keys(sample("ok_bot_webhook_message_official.json"))
        assert got[0]["message"]["mid"] == created["message_id"]
        # A webhook that keeps failing for 8 hours is unsubscribed.
        server.call(emulator.inject, {"text": "Опять нет воды", "target": "chat", "author_id": 80})
        for _ in range(100):
            if len(got) >= 3:
                break
            await asyncio.sleep(0.05)
        clock.now += 9 * 3600
        for _ in range(100):
            if not emulator.bot.subscriptions:
                break
            await asyncio.sleep(0.1)
        assert emulator.bot.subscriptions == {}
    await runner.cleanup()


def test_the_groups_own_chat_messages_are_not_pushed(ok):
    server, emulator = ok
    sent = graph(
        server,
        "POST",
        f"messages/{emulator.group_chat.chat_id}",
        body={"recipient": {"chat_id": emulator.group_chat.chat_id}, "message": {"text": "Ответ"}},
    ).json()
    assert sent["success"] is True and sent["message_id"].startswith("mid:")
    [item] = graph(server, "GET", f"messages/{emulator.group_chat.chat_id}").json()["messages"]
    assert item["sender"]["user_id"] == f"group:{GROUP_ID}"
    assert emulator.replies[0]["chat_id"] == emulator.group_chat.chat_id


def test_cassettes_are_recorded_from_the_emulator_without_secrets(tmp_path):
    from sandbox.cassette import FIXTURES_DIR
    from sandbox.ok.record import record_all

    paths = asyncio.run(record_all(tmp_path, only=["first_sync", "error_104_bad_signature"]))
    assert sorted(p.name for p in paths) == ["error_104_bad_signature.json", "first_sync.json"]
    secrets = OkEmulator().demo_secrets().values()
    for path in [*paths, *sorted((FIXTURES_DIR / "ok").glob("*.json"))]:
        text = path.read_text(encoding="utf-8")
        assert not any(secret in text for secret in secrets), path.name
        assert json.loads(text)["interactions"], path.name
    recorded = json.loads((tmp_path / "ok" / "first_sync.json").read_text(encoding="utf-8"))
    users = recorded["interactions"][1]["response"]["json"]["entities"]["users"]
    assert users and all(u["first_name"] not in ("Мария", "Пётр") for u in users)  # names replaced by fakes
