"""Webhooks through the daemon's HTTP app, against a real database: each platform's delivery with
the right secret is stored; a wrong or missing secret is refused before the body is parsed and
counted; malformed bodies are 4xx, never 5xx; forwarding headers count only from a trusted proxy."""

from __future__ import annotations

import asyncio
import ipaddress
import json
from types import SimpleNamespace

import pytest
from aiohttp.test_utils import TestClient, TestServer
from multidict import CIMultiDict

from connectors.base import SourceConfig, networks
from connectors.registry import connector_class
from otklik import http, metrics

TG_SECRET = "tg-webhook-secret-for-tests"
VK_SECRET = "vk-callback-secret-for-tests"
OK_PATH = "ok-path-token-Zq7rX2vN9kLm4pT8"
VK_GROUP = 218000077
OK_NETWORK = "198.51.100.0/24"

TG_UPDATE = {"update_id": 7001, "message": {
    "message_id": 11, "from": {"id": 4401, "is_bot": False, "first_name": "Пётр"},
    "chat": {"id": 4401, "first_name": "Пётр", "type": "private"}, "date": 1767250807,
    "text": "Во дворе не горит фонарь"}}
VK_EVENT = {"group_id": VK_GROUP, "type": "wall_reply_new", "event_id": "e-0001", "v": "5.199",
            "object": {"id": 31, "from_id": 7702, "post_id": 5, "owner_id": -VK_GROUP, "parents_stack": [],
                       "date": 1767250809, "text": "Когда уберут снег у школы?", "thread": {"count": 0},
                       "post_owner_id": -VK_GROUP},
            "secret": VK_SECRET}
OK_EVENT = {"sender": {"user_id": "user:571000000099"}, "recipient": {"chat_id": "chat:C3e0000000077"},
            "message": {"text": "Не вывозят мусор третий день", "seq": 117665026347433999,
                        "mid": "mid:C3e0000000077.1a207b7d1ed0009"},
            "timestamp": 1795425817069}

MALFORMED = {
    "null": b"null",
    "list": b"[1,2]",
    "group_id": b'{"group_id": "abc"}',
    "nested": b"[" * 100_000 + b"]" * 100_000,
    "utf8": b'{"text": "\xff\xfe"}',
    "not_json": b"{not json",
    "nul": b'{"text": "\\u0000"}',
}
BIG = b'{"pad": "' + b"x" * (5 * 1024 * 1024) + b'"}'


def make_connectors() -> dict:
    def make(name, platform, secrets, **options):
        cfg = SourceConfig(name=name, platform=platform, secrets=secrets, options=options)
        return connector_class(platform)(cfg)

    return {
        "tg": make("tg", "telegram", {"token": "123456:test-token", "webhook_secret": TG_SECRET}, webhook=True),
        "vk": make("vk", "vk", {"token": "vk-token", "callback_secret": VK_SECRET}, mode="callback",
                   group_id=VK_GROUP, confirmation_code="c0nf1rm"),
        "ok": make("ok", "ok", {"webhook_path": OK_PATH}, group_id="70000001", webhook=True),
        "ok_ip": make("ok_ip", "ok", {"webhook_path": OK_PATH}, group_id="70000001", webhook=True,
                      webhook_allowed_ips=[OK_NETWORK]),
        "ok_nets": make("ok_nets", "ok", {"webhook_path": OK_PATH}, group_id="70000001", webhook=True,
                        webhook_check_ip=True),
        "ok_nopath": make("ok_nopath", "ok", {}, group_id="70000001", webhook=True),
        "kam": make("kam", "kamchatka", {"api_key": "k"}),
    }


class FakeDaemon:
    def __init__(self, db, trusted=()):
        self.db = db
        self.connectors = make_connectors()
        self.relay = None
        self.pipeline = None
        self.wake_pipeline = asyncio.Event()
        self.settings = SimpleNamespace(trusted_proxies=list(trusted), session_idle_minutes=30,
                                        session_absolute_hours=12, step_up_seconds=300)


async def _client(db, trusted=()):
    c = TestClient(TestServer(http.build_app(FakeDaemon(db, trusted))))
    await c.start_server()
    return c


@pytest.fixture
async def client(db):
    c = await _client(db)
    yield c
    await c.close()


@pytest.fixture
async def proxied(db):
    """The daemon behind a reverse proxy on 127.0.0.1 (the test client's address)."""
    c = await _client(db, trusted=["127.0.0.1/32"])
    yield c
    await c.close()


def refused(source: str, reason: str) -> float:
    return metrics.REGISTRY.get_sample_value("otklik_webhook_refused_total",
                                             {"source": source, "reason": reason}) or 0.0


def body(value) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


TG_HEADERS = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET, "Content-Type": "application/json"}


# -- Telegram -----------------------------------------------------------------------------------------
async def test_telegram_right_secret_is_stored(db, client):
    r = await client.post("/webhooks/tg", data=body(TG_UPDATE), headers=TG_HEADERS)
    assert r.status == 200 and db.count_messages("tg") == 1


@pytest.mark.parametrize("headers, status, reason", [
    ({"X-Telegram-Bot-Api-Secret-Token": "guess"}, 403, "bad_secret"),
    ({"X-Telegram-Bot-Api-Secret-Token": TG_SECRET[:-1]}, 403, "bad_secret"),
    ({}, 401, "no_secret"),
])
async def test_telegram_wrong_or_missing_secret_refused_before_parsing(db, client, headers, status, reason):
    before = refused("tg", reason)
    # A body that would be a 400 if parsed, and one that would be stored: both refused the same way.
    for payload in (MALFORMED["nested"], body(TG_UPDATE), BIG):
        r = await client.post("/webhooks/tg", data=payload, headers=headers)
        assert r.status == status
        assert await r.json() == {"error": "unauthorized" if status == 401 else "forbidden"}
    assert refused("tg", reason) == before + 3
    assert db.count_messages("tg") == 0


@pytest.mark.parametrize("name", sorted(MALFORMED))
async def test_telegram_malformed_bodies_are_400(db, client, name):
    r = await client.post("/webhooks/tg", data=MALFORMED[name], headers=TG_HEADERS)
    assert r.status == 400, (name, await r.text())
    assert (await r.json())["error"] == "malformed"
    assert db.count_messages("tg") == 0


async def test_telegram_update_of_wrong_shape_is_4xx(db, client):
    for update in ({"update_id": "x", "message": 5}, {"message": {"chat": None}}, {"update_id": 1, "message": []}):
        r = await client.post("/webhooks/tg", data=body(update), headers=TG_HEADERS)
        assert 400 <= r.status < 500 or r.status == 200, update  # ignored (200) or refused (400), never 5xx
    assert db.count_messages("tg") == 0


async def test_telegram_5mb_body_is_413(client):
    r = await client.post("/webhooks/tg", data=BIG, headers=TG_HEADERS)
    assert r.status == 413


# -- VK Callback API -------------------------------------------------------------------------------------
async def test_vk_right_secret_is_stored_and_confirmation_needs_our_group(db, client):
    r = await client.post("/webhooks/vk", data=body(VK_EVENT))
    assert r.status == 200 and await r.text() == "ok" and db.count_messages("vk") == 1
    r = await client.post("/webhooks/vk", data=body({"type": "confirmation", "group_id": VK_GROUP}))
    assert r.status == 200 and await r.text() == "c0nf1rm"
    before = refused("vk", "wrong_group")
    r = await client.post("/webhooks/vk", data=body({"type": "confirmation", "group_id": VK_GROUP + 1}))
    assert r.status == 403 and "c0nf1rm" not in await r.text()
    assert refused("vk", "wrong_group") == before + 1
    # With a secret, a confirmation must carry the right one.
    r = await client.post("/webhooks/vk", data=body({"type": "confirmation", "group_id": VK_GROUP, "secret": "x"}))
    assert r.status == 403


@pytest.mark.parametrize("secret, status, reason", [("guess", 403, "bad_secret"), (None, 401, "no_secret"),
                                                     (12345, 401, "no_secret")])
async def test_vk_wrong_or_missing_secret_refused_before_anything_else(db, client, secret, status, reason):
    before = refused("vk", reason)
    event = {k: v for k, v in VK_EVENT.items() if k != "secret"}
    if secret is not None:
        event["secret"] = secret
    # The secret is checked before the group, the type or the object are looked at.
    broken = {**event, "group_id": "abc", "type": ["x"], "object": "garbage"}
    for payload in (event, broken):
        r = await client.post("/webhooks/vk", data=body(payload))
        assert r.status == status
    assert refused("vk", reason) == before + 2
    assert db.count_messages("vk") == 0


@pytest.mark.parametrize("name", sorted(MALFORMED))
async def test_vk_malformed_bodies_are_4xx(db, client, name):
    r = await client.post("/webhooks/vk", data=MALFORMED[name])
    assert 400 <= r.status < 500, (name, r.status)
    assert db.count_messages("vk") == 0


async def test_vk_authenticated_but_malformed_events_are_400(db, client):
    for broken in ({"group_id": "abc"}, {"group_id": 10**30}, {"group_id": True}, {"type": None},
                   {"object": "garbage"}, {"object": {"id": "x", "text": 5}}, {"group_id": "１２"}):
        r = await client.post("/webhooks/vk", data=body({**VK_EVENT, **broken}))
        assert r.status in (200, 400), (broken, r.status, await r.text())  # an unusable event may be ignored
    r = await client.post("/webhooks/vk", data=body({**VK_EVENT, "group_id": "abc"}))
    assert r.status == 400 and "group_id" in (await r.json())["message"]
    assert db.count_messages("vk") == 0


async def test_vk_5mb_body_is_413(client):
    r = await client.post("/webhooks/vk", data=BIG)
    assert r.status == 413


# -- OK: the path is the secret ----------------------------------------------------------------------------
async def test_ok_takes_deliveries_only_at_its_secret_path(db, client):
    before = refused("ok", "no_path_token"), refused("ok", "bad_path_token")
    r = await client.post("/webhooks/ok", data=body(OK_EVENT))
    assert r.status == 404
    for wrong in ("guess", OK_PATH[:-1], OK_PATH + "x", "%00"):
        r = await client.post(f"/webhooks/ok/{wrong}", data=body(OK_EVENT))
        assert r.status == 404
    # A wrong token with a body too big to read is a 404, not a 413: the body is never read.
    assert (await client.post("/webhooks/ok/guess", data=BIG)).status == 404
    assert refused("ok", "no_path_token") == before[0] + 1
    assert refused("ok", "bad_path_token") == before[1] + 5
    assert db.count_messages("ok") == 0
    r = await client.post(f"/webhooks/ok/{OK_PATH}", data=body(OK_EVENT))
    assert r.status == 200 and db.count_messages("ok") == 1
    # No webhook_path configured: nothing gets in.
    assert (await client.post("/webhooks/ok_nopath", data=body(OK_EVENT))).status == 404
    assert (await client.post("/webhooks/ok_nopath/anything", data=body(OK_EVENT))).status == 404


@pytest.mark.parametrize("name", sorted(MALFORMED))
async def test_ok_malformed_bodies_are_400(db, client, name):
    r = await client.post(f"/webhooks/ok/{OK_PATH}", data=MALFORMED[name])
    if name == "group_id":  # a JSON object OK could send but we have no use for: acknowledged
        assert r.status == 200
    else:
        assert r.status == 400, (name, r.status)
    assert db.count_messages("ok") == 0
    assert (await client.post(f"/webhooks/ok/{OK_PATH}", data=BIG)).status == 413


async def test_platforms_with_their_own_secret_refuse_a_path_token(client):
    assert (await client.post("/webhooks/tg/token", data=body(TG_UPDATE), headers=TG_HEADERS)).status == 404
    assert (await client.post("/webhooks/vk/token", data=body(VK_EVENT))).status == 404


async def test_unknown_sources_and_sources_without_webhooks(client):
    before = refused("unknown", "no_webhook")
    assert (await client.post("/webhooks/nope", data=b"{}")).status == 404
    assert (await client.post("/webhooks/kam", data=b"{}")).status == 404
    assert refused("unknown", "no_webhook") == before + 1  # the sender's name never becomes a label
    assert (await client.get("/webhooks/tg")).status == 405


# -- Addresses: forwarding headers only from a trusted proxy -------------------------------------------------
FORGED = [{"X-Forwarded-For": "198.51.100.7"}, {"X-Real-IP": "198.51.100.7"},
          {"X-Forwarded-For": "198.51.100.7", "X-Real-IP": "198.51.100.7"}]


@pytest.mark.parametrize("headers", FORGED)
async def test_forged_forwarding_headers_are_ignored_without_a_trusted_proxy(db, client, headers):
    before = refused("ok_ip", "address")
    r = await client.post(f"/webhooks/ok_ip/{OK_PATH}", data=body(OK_EVENT), headers=headers)
    assert r.status == 403 and refused("ok_ip", "address") == before + 1
    r = await client.post(f"/webhooks/ok_nets/{OK_PATH}", data=body(OK_EVENT),
                          headers={"X-Real-IP": "217.20.151.161"})
    assert r.status == 403  # OK's own network, but claimed by a peer that is no proxy of ours
    assert db.count_messages() == 0


@pytest.mark.parametrize("headers", FORGED)
async def test_forwarding_headers_from_a_trusted_proxy_are_believed(db, proxied, headers):
    r = await proxied.post(f"/webhooks/ok_ip/{OK_PATH}", data=body(OK_EVENT), headers=headers)
    assert r.status == 200 and db.count_messages("ok_ip") == 1


async def test_trusted_proxy_chain_takes_the_rightmost_untrusted_hop(db, proxied):
    # The client put 198.51.100.7 first; the proxy appended the real sender, 203.0.113.9.
    r = await proxied.post(f"/webhooks/ok_ip/{OK_PATH}", data=body(OK_EVENT),
                           headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.9"})
    assert r.status == 403
    r = await proxied.post(f"/webhooks/ok_ip/{OK_PATH}", data=body(OK_EVENT),
                           headers={"X-Forwarded-For": "not-an-address"})
    assert r.status == 403
    assert (await proxied.post(f"/webhooks/ok_ip/{OK_PATH}", data=body(OK_EVENT))).status == 403  # the proxy itself
    r = await proxied.post(f"/webhooks/ok_nets/{OK_PATH}", data=body(OK_EVENT),
                           headers={"X-Forwarded-For": "217.20.151.161"})
    assert r.status == 200 and db.count_messages("ok_nets") == 1
    # Right address, wrong token: still refused.
    r = await proxied.post("/webhooks/ok_ip/guess", data=body(OK_EVENT), headers={"X-Real-IP": "198.51.100.7"})
    assert r.status == 404


def test_client_address():
    trusted = networks(["10.0.0.0/8", "127.0.0.1"])
    h = CIMultiDict

    def addr(peer, **headers):
        hdrs = h()
        for k, v in headers.items():
            hdrs.add(k.replace("_", "-"), v)
        got = http.client_address(peer, hdrs, trusted)
        return None if got is None else str(got)

    assert addr("203.0.113.1", X_Forwarded_For="198.51.100.7") == "203.0.113.1"  # not a proxy: peer
    assert addr("10.1.1.1", X_Forwarded_For="198.51.100.7, 10.2.2.2") == "198.51.100.7"
    assert addr("10.1.1.1", X_Forwarded_For="1.1.1.1, 198.51.100.7") == "198.51.100.7"
    assert addr("10.1.1.1", X_Real_IP="198.51.100.7") == "198.51.100.7"
    assert addr("10.1.1.1", X_Forwarded_For="garbage") is None
    assert addr("10.1.1.1") == "10.1.1.1"
    assert addr(None) is None and addr("unix-socket") is None
    assert networks("10.0.0.0/8, ::1") == [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1")]
