"""The «Камчатка в порядке» mock: its routes are its OpenAPI document, its payloads the documented
shapes, and it enforces 000 app. 2: 10 days, fast-track 1–3 days, photos, extensions of up to 8
days with a comment, confirm / rate / rework; limits and the error envelope."""

from datetime import datetime, timedelta

import httpx
import pytest

from sandbox.kamchatka.emulator import API_KEY, KamchatkaEmulator, decode_cursor, encode_cursor
from sandbox.kamchatka.world import TZ, ApiError
from sandbox.openapi import load, served_routes
from sandbox.runner import serving

SPEC = load("kamchatka")
AUTH = {"Authorization": f"Bearer {API_KEY}"}
API = "/api/executor/v1"


def test_every_route_is_documented_and_every_documented_route_is_served():
    assert served_routes(KamchatkaEmulator().build_app()) == SPEC.routes()


def test_cursors_are_opaque_but_checked():
    assert decode_cursor(encode_cursor(42)) == 42
    with pytest.raises(ApiError) as exc:
        decode_cursor("not-a-cursor")
    assert exc.value.code == "CURSOR_INVALID"


@pytest.fixture
def kvp():
    emulator = KamchatkaEmulator(rps_limit=1000)  # the limit has its own test
    with serving(emulator) as server:
        with httpx.Client(base_url=server.url, headers=AUTH, timeout=5) as http:
            yield emulator, server, http


def local_day(iso: str):
    return datetime.fromisoformat(iso).astimezone(TZ).date()


def test_messages_have_the_documented_shape_and_deadlines(kvp):
    emulator, server, http = kvp
    server.call(emulator.inject, {"text": "Яма у школы", "photos": 2, "author_name": "Анна Петрова"})
    server.call(emulator.inject, {"text": "Упало дерево на провода", "fast_track_days": 1})
    page = http.get(f"{API}/messages").json()
    assert page["success"] and not page["meta"]["has_more"]
    normal, urgent = page["data"]
    for item in page["data"]:
        assert SPEC.conforms(item, "Message") == []
    assert normal["author"]["display_name"] == "Анна П." and len(normal["photos"]) == 2
    posted = local_day(normal["posted_at"])
    assert local_day(normal["deadline"]) == posted + timedelta(days=10)  # §2.5
    assert urgent["fast_track"] and local_day(urgent["deadline"]) == posted + timedelta(days=1)  # §2.6
    assert datetime.fromisoformat(normal["deadline"]).astimezone(TZ).time().hour == 23
    assert server.call(emulator.inject, {"text": "x", "fast_track_days": 5})["delivered"] is False
    r = http.get(f"{API}/messages", params={"cursor": "garbage"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "CURSOR_INVALID"
    assert SPEC.conforms(r.json(), "Error") == []


def test_the_feed_pages_and_resumes_from_the_cursor(kvp):
    emulator, server, http = kvp
    for i in range(3):
        server.call(emulator.inject, {"text": f"Сообщение {i}"})
    first = http.get(f"{API}/messages", params={"limit": 2}).json()
    assert len(first["data"]) == 2 and first["meta"]["has_more"]
    rest = http.get(f"{API}/messages", params={"cursor": first["meta"]["next_cursor"]}).json()
    assert [m["text"] for m in rest["data"]] == ["Сообщение 2"] and not rest["meta"]["has_more"]
    server.call(emulator.inject, {"kind": "delete", "id": first["data"][0]["id"]})
    again = http.get(f"{API}/messages", params={"cursor": rest["meta"]["next_cursor"]}).json()
    assert [(m["id"], m["status"]) for m in again["data"]] == [(first["data"][0]["id"], "withdrawn")]


def test_answers_need_photos_or_a_reason_and_are_idempotent(kvp):
    emulator, server, http = kvp
    mid = server.call(emulator.inject, {"text": "Нет освещения"})["id"]
    url = f"{API}/messages/{mid}/answers"
    r = http.post(url, json={"text": "Здравствуйте! Заменили лампу."})
    assert r.status_code == 422 and r.json()["error"]["code"] == "PHOTOS_REQUIRED"
    assert http.post(url, json={"kind": "clarification", "text": "Уточните адрес?"}).status_code == 201
    body = {"text": "Здравствуйте! Заменили лампу.", "photos": ["https://x/1.jpg"]}
    first = http.post(url, json=body, headers={"Idempotency-Key": "k1"})
    again = http.post(url, json=body, headers={"Idempotency-Key": "k1"})
    assert (first.status_code, again.status_code) == (201, 200) and first.json() == again.json()
    assert SPEC.conforms(first.json()["data"], "Answer") == []
    assert (
        http.post(url, json=body, headers={"Idempotency-Key": "k2"}).json()["error"]["code"]
        == "MESSAGE_CLOSED"
    )
    assert (
        http.post(
            f"{API}/messages/{mid}/extension",
            json={"days": 2, "comment": "x"},
            headers={"Idempotency-Key": "k1"},
        ).json()["error"]["code"]
        == "IDEMPOTENCY_KEY_REUSED"
    )
    assert [r["kind"] for r in emulator.replies] == ["clarification", "answer"]


def test_extension_requests_and_the_coordinators_decision(kvp):
    emulator, server, http = kvp
    a = server.call(emulator.inject, {"text": "Нужен ремонт моста"})["id"]
    b = server.call(emulator.inject, {"text": "Нужен ремонт дороги"})["id"]
    url = f"{API}/messages/{a}/extension"
    assert http.post(url, json={"days": 9, "comment": "Нужна техника"}).status_code == 422  # §2.5: at most 8
    assert http.post(url, json={"days": 3, "comment": " "}).status_code == 422  # a comment is required
    created = http.post(url, json={"days": 8, "comment": "Нужна техника"}, headers={"Idempotency-Key": "e1"})
    assert created.status_code == 201 and created.json()["data"]["state"] == "pending"
    assert (
        http.post(
            url, json={"days": 8, "comment": "Нужна техника"}, headers={"Idempotency-Key": "e1"}
        ).status_code
        == 200
    )
    assert (
        http.post(url, json={"days": 2, "comment": "Ещё"}).json()["error"]["code"]
        == "EXTENSION_ALREADY_REQUESTED"
    )
    before = http.get(f"{API}/messages/{a}").json()["data"]["deadline"]
    granted = http.post(f"/_sandbox/messages/{a}/extension", json={"granted": True}).json()["data"]
    assert local_day(granted["deadline"]) == local_day(before) + timedelta(days=8)
    assert granted["events"][-1]["type"] == "extension_granted"
    http.post(f"{API}/messages/{b}/extension", json={"days": 2, "comment": "Ждём подрядчика"})
    denied = http.post(f"/_sandbox/messages/{b}/extension", json={"granted": False, "comment": "Нет"}).json()[
        "data"
    ]
    assert denied["extension"]["state"] == "denied" and denied["events"][-1]["type"] == "extension_denied"
    assert http.post(f"/_sandbox/messages/{b}/extension", json={"granted": True}).status_code == 409


def test_confirm_rate_and_rework(kvp):
    emulator, server, http = kvp
    ids = [server.call(emulator.inject, {"text": f"Проблема {i}"})["id"] for i in range(2)]
    assert http.post(f"/_sandbox/messages/{ids[0]}/confirm").json()["error"]["code"] == "NOT_ANSWERED"
    for mid in ids:
        http.post(
            f"{API}/messages/{mid}/answers",
            json={"text": "Здравствуйте! Сделано.", "no_photo_reason": "работы скрытые"},
        )
    confirmed = http.post(f"/_sandbox/messages/{ids[0]}/confirm").json()["data"]
    assert confirmed["status"] == "closed" and confirmed["feedback"]["confirmed"]
    rated = http.post(f"/_sandbox/messages/{ids[0]}/rate", json={"rating": 5, "comment": "Спасибо"}).json()[
        "data"
    ]
    assert rated["feedback"]["rating"] == 5 and rated["events"][-1]["comment"] == "Спасибо"
    server.call(emulator.advance, 86400)
    rework = http.post(f"/_sandbox/messages/{ids[1]}/rework", json={"comment": "Не сделано"}).json()["data"]
    assert (
        rework["status"] == "rework" and rework["assigned_at"] > rework["posted_at"]
    )  # re-assigned today (§2.8)
    assert local_day(rework["deadline"]) == local_day(rework["assigned_at"]) + timedelta(days=10)
    assert (
        http.post(
            f"{API}/messages/{ids[1]}/answers",
            json={"text": "Здравствуйте! Переделали.", "photos": ["https://x/2.jpg"]},
        ).status_code
        == 201
    )
    repeat = server.call(emulator.inject, {"text": "Опять то же самое", "repeat_of": ids[1]})
    assert http.get(f"{API}/messages/{repeat['id']}").json()["data"]["repeat_of"] == ids[1]


def test_keys_limits_faults_and_duplicates(kvp):
    emulator, server, http = kvp
    emulator.rps_limit = 5
    assert httpx.get(http.base_url.join(f"{API}/profile")).json()["error"]["code"] == "TOKEN_MISSING"
    assert (
        httpx.get(http.base_url.join(f"{API}/profile"), headers={"Authorization": "Bearer x"}).status_code
        == 401
    )
    codes = [http.get(f"{API}/profile").status_code for _ in range(8)]
    assert codes.count(200) == 5 and codes[-1] == 429
    r = http.get(f"{API}/profile")
    assert r.headers["Retry-After"] == "1" and r.json()["error"]["code"] == "RATE_LIMIT"
    emulator.rps_limit = 1000
    server.call(emulator.revoke)
    assert http.get(f"{API}/profile").json()["error"]["code"] == "TOKEN_REVOKED"
    emulator.revoked.clear()
    for kind, status, code in (
        ("5xx", 500, "INTERNAL_ERROR"),
        ("429", 429, "RATE_LIMIT"),
        ("auth", 401, "TOKEN_REVOKED"),
    ):
        emulator.faults.add({"kind": kind, "match": "/profile"})
        r = http.get(f"{API}/profile")
        assert (r.status_code, r.json()["error"]["code"]) == (status, code)
    mid = server.call(emulator.inject, {"text": "Нет воды"})["id"]
    emulator.faults.add({"kind": "duplicate", "match": "/messages"})
    assert [m["id"] for m in http.get(f"{API}/messages").json()["data"]] == [mid, mid]
