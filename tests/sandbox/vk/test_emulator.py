"""The VK emulator: the samples' shapes, VK's errors and limits, long poll and Callback rules."""

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from sandbox.runner import serving
from sandbox.vk.emulator import (
    COMMUNITY_TOKEN,
    CONFIRMATION_CODE,
    SERVICE_TOKEN,
    USER_TOKEN,
    VkEmulator,
)
from sandbox.vk.world import BOARD_TOPIC_ID, GROUP_ID, VkApiError

SAMPLES = Path(__file__).resolve().parents[2] / "connectors" / "vk" / "samples"


def sample(name: str):
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


class Clock:
    def __init__(self) -> None:
        self.now = 1_767_250_800.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def emu():
    return VkEmulator(clock=Clock(), long_poll_cap=0.2, callback_delays=(0.05, 0.05))


def call(emu: VkEmulator, method: str, token: str = COMMUNITY_TOKEN, **params):
    emu.clock.now += 0.5  # calls half a second apart: inside every rate limit
    return emu.call(method, {"v": "5.199", "access_token": token, **{k: str(v) for k, v in params.items()}})


def code_of(emu: VkEmulator, method: str, token: str = COMMUNITY_TOKEN, **params) -> int:
    with pytest.raises(VkApiError) as exc:
        call(emu, method, token, **params)
    return exc.value.code


def keys(d: dict) -> set:
    return set(d)


# -- shapes ------------------------------------------------------------------------------------------
def test_long_poll_events_have_the_samples_fields(emu):
    comment = emu.inject({"text": "Яма", "where": "comment", "author_id": 5})
    emu.inject({"text": "Пост", "where": "post", "author_id": 6})
    emu.inject({"text": "Вопрос", "where": "board", "author_id": 7})
    emu.inject({"text": "Сообщение", "where": "message", "author_id": 8})
    events = {body["type"]: body for _, body in emu.lp_events}
    for kind, name in (
        ("wall_reply_new", "vk_bots_longpoll_wall_reply_new.json"),
        ("wall_post_new", "vk_bots_longpoll_wall_post_new.json"),
        ("board_post_new", "vk_bots_longpoll_board_post_new.json"),
    ):
        want = sample(name)
        assert keys(want) <= keys(events[kind]) and {"event_id", "v"} <= keys(events[kind])
        assert keys(want["object"]) - {"created_by"} <= keys(
            events[kind]["object"]
        )  # created_by: admins' posts only
    assert keys(sample("vk_event_wall_reply_new_object.json")) <= keys(events["wall_reply_new"]["object"])
    message = events["message_new"]["object"]
    want = sample("vk_bots_longpoll_message_new.json")["object"]
    assert keys(want) == keys(message) and keys(want["message"]) <= keys(message["message"])
    assert keys(want["client_info"]) <= keys(message["client_info"])
    call(
        emu,
        "wall.createComment",
        owner_id=-GROUP_ID,
        post_id=comment["post_id"],
        message="Ответ",
        from_group=GROUP_ID,
    )
    call(emu, "messages.send", peer_id=8, random_id=1, message="Ответ")
    reply = {body["type"]: body for _, body in emu.lp_events}["message_reply"]
    assert keys(sample("vk_bots_longpoll_message_reply.json")["object"]) - {"admin_author_id"} <= keys(
        reply["object"]
    )


def test_get_comments_matches_the_sample_including_deleted_stubs(emu):
    first = emu.inject({"text": "Первый", "where": "comment", "author_id": 5})
    emu.inject({"text": "Ответ в ветке", "where": "reply", "comment_id": first["comment_id"], "author_id": 6})
    emu.inject({"kind": "delete", **first})
    emu.inject({"text": "Второй", "where": "comment", "author_id": 7})
    got = call(emu, "wall.getComments", SERVICE_TOKEN, owner_id=-GROUP_ID, post_id=first["post_id"], count=10)
    want = sample("vk_wall_getComments_response.json")["response"]
    assert keys(want) <= keys(got)
    stub, live = got["items"]
    assert keys(stub) == keys(want["items"][1])  # deleted, kept while its thread has a reply
    assert keys(want["items"][0]) <= keys(live) and keys(want["items"][0]["thread"]) <= keys(live["thread"])
    assert got["count"] == 2 and got["current_level_count"] == 2  # live comments; items at this level


def test_conversations_and_errors_match_the_samples(emu):
    emu.inject({"text": "Здравствуйте", "where": "message", "author_id": 9})
    got = call(emu, "messages.getConversations")
    want = sample("vk_messages_getConversations_response.json")["response"]
    assert keys(want) <= keys(got)
    assert keys(want["items"][0]["conversation"]) <= keys(got["items"][0]["conversation"])
    assert keys(want["items"][0]["last_message"]) <= keys(got["items"][0]["last_message"])


async def test_error_envelope_on_the_wire():
    emu = VkEmulator()
    with serving(emu) as server:
        async with httpx.AsyncClient() as http:
            r = await http.post(
                f"{server.url}/method/wall.get",
                data={"v": "5.199", "access_token": COMMUNITY_TOKEN, "owner_id": -GROUP_ID},
            )
            emu.force_error(14)
            captcha = (
                await http.get(
                    f"{server.url}/method/groups.getById",
                    params={"v": "5.199", "access_token": COMMUNITY_TOKEN},
                )
            ).json()
            emu.faults.add({"kind": "5xx", "match": "/method/"})
            bad_gateway = await http.get(f"{server.url}/method/groups.getById")
    assert r.status_code == 200  # VK answers errors with HTTP 200
    error = r.json()["error"]
    assert keys(error) == keys(sample("vk_error_5_auth.json")["error"]) and error["error_code"] == 27
    params = {p["key"]: p["value"] for p in error["request_params"]}
    assert params["method"] == "wall.get" and params["oauth"] == "1" and "access_token" not in params
    assert keys(captcha["error"]) == keys(sample("vk_error_14_captcha.json")["error"])
    assert bad_gateway.status_code == 502 and "nginx" in bad_gateway.text


# -- errors and limits --------------------------------------------------------------------------------
def test_token_checks_and_types(emu):
    with pytest.raises(VkApiError) as exc:
        emu.call("groups.getById", {"access_token": COMMUNITY_TOKEN})
    assert exc.value.code == 8  # no version
    assert code_of(emu, "groups.getById", token="") == 5
    assert code_of(emu, "groups.getById", token="vk1.a.made-up") == 5
    assert code_of(emu, "wall.frobnicate") == 3
    assert code_of(emu, "wall.get", owner_id=-GROUP_ID) == 27  # community token, user/service method
    assert code_of(emu, "board.getComments", group_id=GROUP_ID, topic_id=BOARD_TOPIC_ID) == 27
    assert code_of(emu, "messages.send", SERVICE_TOKEN, peer_id=1, random_id=1, message="x") == 28
    assert code_of(emu, "board.createComment", group_id=GROUP_ID, topic_id=BOARD_TOPIC_ID, message="x") == 27
    assert (
        call(
            emu,
            "board.createComment",
            USER_TOKEN,
            group_id=GROUP_ID,
            topic_id=BOARD_TOPIC_ID,
            message="x",
            from_group=1,
        )
        == 1
    )
    emu.revoke(COMMUNITY_TOKEN)
    assert code_of(emu, "groups.getById") == 5


def test_rate_limits_per_token(emu):
    for _ in range(20):
        emu.call("groups.getById", {"v": "5.199", "access_token": COMMUNITY_TOKEN})
    with pytest.raises(VkApiError) as exc:
        emu.call("groups.getById", {"v": "5.199", "access_token": COMMUNITY_TOKEN})
    assert exc.value.code == 6 and emu.rate_limited == 1
    for _ in range(3):  # another token has its own window: 3/s for a user token
        emu.call("groups.getById", {"v": "5.199", "access_token": USER_TOKEN, "group_id": str(GROUP_ID)})
    with pytest.raises(VkApiError) as exc:
        emu.call("groups.getById", {"v": "5.199", "access_token": USER_TOKEN, "group_id": str(GROUP_ID)})
    assert exc.value.code == 6
    emu.clock.now += 1.01  # the window slides
    emu.call("groups.getById", {"v": "5.199", "access_token": COMMUNITY_TOKEN})
    assert emu.peak_rps["community"] == 21 and emu.peak_rps["user"] == 4


def test_quota_flood_captcha_and_901(emu):
    emu.daily_quota = {"wall.get": 2}
    for _ in range(2):
        call(emu, "wall.get", SERVICE_TOKEN, owner_id=-GROUP_ID)
    assert code_of(emu, "wall.get", SERVICE_TOKEN, owner_id=-GROUP_ID) == 29
    emu.clock.now += 86400  # a new day in Moscow
    call(emu, "wall.get", SERVICE_TOKEN, owner_id=-GROUP_ID)
    post = emu.world.latest_admin_post()["id"]
    emu.flood_per_minute = 2
    for i in range(2):
        call(emu, "wall.createComment", owner_id=-GROUP_ID, post_id=post, message=f"ответ {i}")
    assert code_of(emu, "wall.createComment", owner_id=-GROUP_ID, post_id=post, message="ещё") == 9
    emu.force_error(14, "groups.getById")
    with pytest.raises(VkApiError) as exc:
        call(emu, "groups.getById")
    sid = exc.value.extra["captcha_sid"]
    emu.force_error(14, "groups.getById")  # answering the captcha lets the request through
    assert call(emu, "groups.getById", captcha_sid=sid, captcha_key="abc")["groups"][0]["id"] == GROUP_ID
    assert code_of(emu, "messages.send", peer_id=77, random_id=5, message="x") == 901  # never wrote to us
    emu.inject({"text": "Привет", "where": "message", "author_id": 78})
    emu.deny_messages(78)
    assert code_of(emu, "messages.send", peer_id=78, random_id=6, message="x") == 901
    assert code_of(emu, "messages.send", peer_id=78, message="x") == 100  # random_id is required


def test_guid_and_random_id_deduplicate_within_the_hour(emu):
    comment = emu.inject({"text": "Яма", "where": "comment", "author_id": 5})
    emu.inject({"text": "Вопрос", "where": "message", "author_id": 6})
    args = {
        "owner_id": -GROUP_ID,
        "post_id": comment["post_id"],
        "reply_to_comment": comment["comment_id"],
        "message": "Засыплем",
        "from_group": GROUP_ID,
        "guid": "g-1",
    }
    first = call(emu, "wall.createComment", **args)
    assert call(emu, "wall.createComment", **args) == first and first["parents_stack"] == [
        comment["comment_id"]
    ]
    m1 = call(emu, "messages.send", peer_id=6, random_id=42, message="Ответ")
    assert call(emu, "messages.send", peer_id=6, random_id=42, message="Ответ") == m1
    assert len(emu.replies) == 2
    emu.clock.now += 3601
    assert call(emu, "wall.createComment", **args) != first  # VK forgot the guid: a second comment
    assert call(emu, "messages.send", peer_id=6, random_id=42, message="Ответ") != m1
    assert call(emu, "messages.send", peer_id=6, random_id=0, message="Ответ") != call(
        emu, "messages.send", peer_id=6, random_id=0, message="Ответ"
    )  # 0: no check at all
    assert code_of(emu, "wall.createComment", **{**args, "guid": "g-2", "from_group": 1}) == 15


def test_replies_are_recorded_with_their_targets(emu):
    comment = emu.inject({"text": "Яма", "where": "comment", "author_id": 5})
    thread = emu.inject(
        {"text": "И тут", "where": "reply", "comment_id": comment["comment_id"], "author_id": 6}
    )
    call(
        emu,
        "wall.createComment",
        owner_id=-GROUP_ID,
        post_id=comment["post_id"],
        reply_to_comment=thread["comment_id"],
        message="Ответ",
        from_group=GROUP_ID,
    )
    msg = emu.inject({"text": "Вопрос", "where": "message", "author_id": 7})
    call(
        emu,
        "messages.send",
        peer_id=7,
        random_id=3,
        message="Ответ",
        forward=json.dumps(
            {"peer_id": 7, "conversation_message_ids": [msg["conversation_message_id"]], "is_reply": True}
        ),
    )
    board = emu.inject(
        {"text": "Когда каток?", "where": "board", "author_id": 8, "author_name": "Иван Петров"}
    )
    assert call(emu, "users.get", user_ids=8)[0]["first_name"] == "Иван"
    for text in (
        f"[post{board['comment_id']}|Иван], Каток откроют в декабре.",
        "Всем: каток откроют в декабре.",
    ):
        call(
            emu,
            "board.createComment",
            USER_TOKEN,
            group_id=GROUP_ID,
            topic_id=board["topic_id"],
            message=text,
            from_group=1,
        )
    wall, message, answer, notice = emu.replies
    assert wall["reply_to"] == thread["id"] and wall["from_id"] == -GROUP_ID
    assert message["reply_to"] == msg["id"]
    assert answer["reply_to"] == board["id"] and notice["reply_to"] == f"topic-{GROUP_ID}_{board['topic_id']}"
    ours = emu.world.comments[wall["comment_id"]]
    assert (
        ours["parents_stack"] == [comment["comment_id"]] and ours["reply_to_comment"] == thread["comment_id"]
    )


# -- long poll ----------------------------------------------------------------------------------------
async def test_long_poll_rules():
    clock = Clock()
    emu = VkEmulator(clock=clock, long_poll_cap=0.3, lp_history=3, key_ttl=3600)
    with serving(emu) as server:
        async with httpx.AsyncClient() as http:

            async def lps():
                r = await http.post(
                    f"{server.url}/method/groups.getLongPollServer",
                    data={"v": "5.199", "access_token": COMMUNITY_TOKEN, "group_id": GROUP_ID},
                )
                return r.json()["response"]

            lp = await lps()
            url = lp["server"]

            async def check(key, ts, wait=0):
                r = await http.get(url, params={"act": "a_check", "key": key, "ts": ts, "wait": wait})
                return r.json()

            assert lp["server"].endswith(f"/whp/{GROUP_ID}") and lp["ts"] == "0"
            assert await check(lp["key"], "0") == {"ts": "0", "updates": []}
            waiting = asyncio.create_task(check(lp["key"], "0", wait=25))
            await asyncio.sleep(0.1)
            server.call(emu.inject, {"text": "Вопрос", "where": "message", "author_id": 5})
            got = await waiting  # answered as soon as the event came, not after `wait`
            assert got["ts"] == "1" and got["updates"][0]["type"] == "message_new"
            for i in range(4):
                server.call(emu.inject, {"text": f"{i}", "where": "comment", "author_id": 6})
            assert await check(lp["key"], "0") == {"failed": 1, "ts": "5"}  # only 3 events are kept
            assert len((await check(lp["key"], "2"))["updates"]) == 3
            assert (await check(lp["key"], "9")) == {"failed": 1, "ts": "5"}  # from the future
            assert await check("not-a-key", "5") == {"failed": 2}
            clock.now += 3601
            assert await check(lp["key"], "5") == {"failed": 2}  # the key expired
            fresh = await lps()
            server.call(emu.lose_info)
            assert await check(fresh["key"], "5") == {"failed": 3}
            assert await check(fresh["key"], "5") == {"failed": 2}  # every key is gone with it


async def test_duplicate_fault_redelivers_with_the_same_event_id(emu):
    emu.faults.add({"kind": "duplicate", "match": "inject", "count": 1})
    emu.inject({"text": "Дважды", "where": "comment", "author_id": 5})
    emu.inject({"text": "Один раз", "where": "comment", "author_id": 5})
    ids = [body["event_id"] for _, body in emu.lp_events]
    assert len(ids) == 3 and ids[0] == ids[1] != ids[2]


def test_events_vk_does_not_send(emu):
    msg = emu.inject({"text": "Удалю", "where": "message", "author_id": 5})
    before = emu.lp_last
    assert emu.inject({"kind": "delete", **msg})["event"] is None  # a deleted private message: no event
    post = emu.inject({"text": "Пост", "where": "post", "author_id": 6})
    assert (
        emu.inject({"kind": "edit", "text": "Пост!", **post})["event"] is None
    )  # no wall_post_edit for bots
    assert emu.lp_last == before + 1
    assert emu.inject({"kind": "edit", "text": "Снова", **msg}) == {
        "error": "One of the parameters specified was missing or invalid: message not found"
    }


def test_default_mix_is_deterministic_by_seed():
    def places(seed):
        emu = VkEmulator(seed=seed)
        return [emu.inject({"text": "x"})["where"] for _ in range(30)]

    assert places(3) == places(3)
    assert {"comment", "message"} <= set(places(3))


# -- Callback API ---------------------------------------------------------------------------------------
async def test_callback_confirmation_secret_and_retries():
    emu = VkEmulator(callback_delays=(0.05, 0.05, 0.05))
    received: list[tuple[dict, str | None]] = []
    answers = {"confirmation": CONFIRMATION_CODE, "fail": 2}

    async def hook(request: web.Request) -> web.Response:
        body = await request.json()
        received.append((body, request.headers.get("X-Retry-Counter")))
        if body["type"] == "confirmation":
            return web.Response(text=answers["confirmation"])
        if answers["fail"]:
            answers["fail"] -= 1
            return web.Response(text="not ok")
        return web.Response(text="ok")

    class Hook:
        name = "hook"

        def build_app(self):
            app = web.Application()
            app.router.add_post("/cb", hook)
            return app

    with serving(emu) as server, serving(Hook()) as h:  # type: ignore[arg-type]
        async with httpx.AsyncClient() as admin:
            answers["confirmation"] = "wrong"
            r = await admin.post(
                f"{server.url}/_sandbox/vk/callback", json={"url": f"{h.url}/cb", "secret": "s"}
            )
            assert r.json() == {"server_id": 1, "confirmed": False}
            server.call(emu.inject, {"text": "не доставится", "where": "comment"})
            answers["confirmation"] = CONFIRMATION_CODE
            r = await admin.post(
                f"{server.url}/_sandbox/vk/callback", json={"url": f"{h.url}/cb", "secret": "s"}
            )
            assert r.json()["confirmed"]
        server.call(emu.inject, {"text": "Вопрос", "where": "message", "author_id": 5})
        for _ in range(100):
            if len(received) >= 5:
                break
            await asyncio.sleep(0.02)
    events = [(b, retry) for b, retry in received if b["type"] != "confirmation"]
    assert [retry for _, retry in events] == [None, "1", "2"]  # repeated until "ok"
    body = events[0][0]
    assert (
        body["secret"] == "s" and body["group_id"] == GROUP_ID and body["v"] == "5.199" and body["event_id"]
    )
    assert body["type"] == "message_new" and len({b["event_id"] for b, _ in events}) == 1
