"""The API's input guards (otklik/api/guards.py) against a real database: ids outside BIGINT, NUL
and lone surrogates, deep, large, non-JSON and non-UTF-8 bodies are 4xx with a JSON reason, never a
500; answers are UTF-8 without \\u escapes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pyotp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from otklik import http
from otklik.api import auth
from otklik.api.guards import API_MAX_BYTES, MAX_DEPTH
from otklik.services import cases
from router.classifier import Router
from storage.tables import MessageRow
from tests.otklik.doubles import AppDaemon

PASSWORD = "Sadovaya-yama-42"  # passes the password rules

TEXT = "Во дворе дома 7 по улице Лесной не убран снег"


def open_case(db) -> int:
    with db.session() as s:
        msg = MessageRow(source="tg", platform="telegram", external_id="5:5", author_id="9", author_name="Олег",
                         thread={"kind": "chat", "ids": {"chat_id": 5, "message_id": 5}}, text=TEXT,
                         created_at=datetime.now(UTC), stored_at=datetime.now(UTC), attachments=[], raw={},
                         processed=True)
        s.add(msg)
        s.flush()
        routing = Router.load().route(TEXT).model_copy(update={"needs_manual": True})
        return cases.open_or_update(s, msg, routing, channel="social", profile_name="severny").id


@pytest.fixture
async def api(db):
    with db.session() as s:
        _, _, totp = auth.create_user(s, "cur", "curator", password=PASSWORD)
    async with TestClient(TestServer(http.build_app(AppDaemon(db)))) as c:
        r = await c.post("/api/login", json={"login": "cur", "password": PASSWORD, "otp": pyotp.TOTP(totp).now()})
        c.auth = {"Authorization": f"Bearer {(await r.json())['token']}"}
        yield c


async def expect(response, status: int) -> dict:
    assert response.status == status, (response.status, await response.text())
    assert response.content_type == "application/json"
    got = await response.json()
    assert isinstance(got.get("error"), str) and got["error"]
    return got


@pytest.mark.parametrize("case_id", ["0", str(2**63), str(2**64 + 5), "9" * 40, "9" * 5000])
async def test_ids_outside_bigint_are_404(api, case_id):
    for method, path in (("GET", f"/api/cases/{case_id}"), ("POST", f"/api/cases/{case_id}/approve"),
                         ("GET", f"/api/cases/{case_id}/audit"), ("POST", f"/api/messages/{case_id}/overrule")):
        await expect(await api.request(method, path, headers=api.auth), 404)


async def test_the_largest_id_is_an_ordinary_404_and_a_real_one_works(db, api):
    await expect(await api.get(f"/api/cases/{2**63 - 1}", headers=api.auth), 404)
    case_id = open_case(db)
    r = await api.get(f"/api/cases/{case_id}", headers=api.auth)
    assert r.status == 200


async def test_nul_and_surrogates_in_path_and_query_are_400(api):
    await expect(await api.post("/api/deliveries/ab%00c/retry", headers=api.auth), 400)
    await expect(await api.get("/api/cases?state=new%00", headers=api.auth), 400)
    # Percent-encoded invalid UTF-8 reaches the handler as U+FFFD, which is harmless text.
    r = await api.get("/api/deliveries?status=%ED%A0%80", headers=api.auth)
    assert r.status == 200 and (await r.json()) == {"deliveries": []}
    await expect(await api.get("/api/cases?sta%00te=new", headers=api.auth), 400)


@pytest.mark.parametrize("raw", [
    '{"login": "cur\\u0000", "password": PASSWORD}',
    '{"login": "cur", "password": "\\ud800"}',
    '{"login\\u0000": "cur", "password": PASSWORD}',
    '{"login": "cur", "password": PASSWORD, "otp": "\\udfff"}',
])
async def test_nul_and_lone_surrogates_in_json_strings_are_400(api, raw):
    await expect(await api.post("/api/login", data=raw, headers={"Content-Type": "application/json"}), 400)


async def test_json_depth_limit(db, api):
    case_id = open_case(db)
    deep = {"comment": "x"}
    for _ in range(MAX_DEPTH):
        deep = {"a": deep}
    path = f"/api/cases/{case_id}/send-back"
    got = await expect(await api.post(path, json=deep, headers=api.auth), 400)
    assert "deeper" in got["error"]
    for raw in (b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 40_000 + b"1" + b"}" * 40_000, b"[" * 100_000):
        await expect(await api.post(path, data=raw, headers={**api.auth, "Content-Type": "application/json"}), 400)
    shallow = {"comment": "x", "extra": [[[[1]]]]}
    assert (await api.post(path, json=shallow, headers=api.auth)).status != 400  # within the limit


async def test_size_type_and_encoding_of_bodies(db, api):
    case_id = open_case(db)
    path = f"/api/cases/{case_id}/drafts"
    big = json.dumps({"text": "ы" * API_MAX_BYTES}).encode()
    await expect(await api.post(path, data=big, headers={**api.auth, "Content-Type": "application/json"}), 413)
    await expect(await api.post(path, data=b"text=hello", headers={**api.auth, "Content-Type": "text/plain"}), 415)
    await expect(await api.post(path, data=b'{"text": "x"}', headers=api.auth), 415)  # octet-stream
    await expect(await api.post(path, data=b'{"text": "x"}',
                                headers={**api.auth, "Content-Type": "application/json; charset=latin-1"}), 415)
    for raw in (b'{"text": "\xff\xfe"}', b"\xc3(", b'{"text": "\xed\xa0\x80"}'):  # bad UTF-8, a UTF-8 surrogate
        got = await expect(await api.post(path, data=raw, headers={**api.auth, "Content-Type": "application/json"}),
                           400)
        assert "UTF-8" in got["error"]
    for raw in (b"{", b"NaN", b'{"text": NaN}', b'{"days": 1' + b"0" * 5000 + b"}", b'{"text": Infinity}'):
        await expect(await api.post(path, data=raw, headers={**api.auth, "Content-Type": "application/json"}), 400)


async def test_unknown_routes_and_methods_stay_404_and_405_in_json(api):
    await expect(await api.get("/api/nothing-here", headers=api.auth), 404)
    r = await api.delete("/api/cases", headers=api.auth)
    await expect(r, 405)
    assert "GET" in r.headers["Allow"]
    assert (await api.get("/api/cases/abc", headers=api.auth)).status == 404


async def test_odd_authorization_headers_are_401(api):
    for value in ("Bearer токен", "Bearer", "Basic x", "Bearer " + "x" * 5000):
        r = await api.get("/api/cases", headers={"Authorization": value})
        await expect(r, 401)


async def test_answers_are_utf8_without_escapes(db, api):
    case_id = open_case(db)
    r = await api.get(f"/api/cases/{case_id}", headers=api.auth)
    raw = await r.read()
    assert r.status == 200 and r.charset == "utf-8"
    assert TEXT.encode() in raw and b"\\u" not in raw
    r = await api.post(f"/api/cases/{case_id}/route", json={"executors": []}, headers=api.auth)
    assert r.status == 400 and b"\\u" not in await r.read()
    r = await api.get("/api/openapi.json")
    assert r.status == 200 and b"\\u" not in await r.read()
