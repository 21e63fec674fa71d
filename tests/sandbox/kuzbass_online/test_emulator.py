"""The «Кузбасс Онлайн» mock: its routes are its OpenAPI document, its payloads the documented
shapes, and it enforces 004 §2.3: новое → принято в работу (category, subcategory, executor) →
решено | разъяснено, the 14-day term; the cursor, the limits and the error body."""

from datetime import datetime, timedelta

import httpx
import pytest

from sandbox.kuzbass_online.emulator import TOKEN, KuzbassOnlineEmulator, decode_cursor, encode_cursor
from sandbox.kuzbass_online.world import TZ, ApiError
from sandbox.openapi import load, served_routes
from sandbox.runner import serving

SPEC = load("kuzbass_online")
AUTH = {"Authorization": f"Bearer {TOKEN}"}
API = "/web/v1"
TAKE = {"category": "Дороги", "subcategory": "Ямы", "executor": "Отдел дорожного хозяйства"}


def test_every_route_is_documented_and_every_documented_route_is_served():
    assert served_routes(KuzbassOnlineEmulator().build_app()) == SPEC.routes()


def test_cursors_are_opaque_but_checked():
    assert decode_cursor(encode_cursor(42)) == 42
    with pytest.raises(ApiError) as exc:
        decode_cursor("not-a-cursor")
    assert exc.value.code == "BAD_CURSOR"


@pytest.fixture
def ko():
    emulator = KuzbassOnlineEmulator(rps_limit=1000)  # the limit has its own test
    with serving(emulator) as server:
        with httpx.Client(base_url=server.url, headers=AUTH, timeout=5) as http:
            yield emulator, server, http


def test_appeals_have_the_documented_shape_and_term(ko):
    emulator, server, http = ko
    server.call(emulator.inject, {"text": "Яма у школы", "category": "Дороги", "attachments": 2,
                                  "author_name": "Анна Петрова"})
    page = http.get(f"{API}/appeals").json()
    assert SPEC.conforms(page, "Page") == [] and not page["has_more"]
    appeal = page["items"][0]
    assert (appeal["status"], appeal["status_label"]) == ("new", "новое")
    assert appeal["author"]["display_name"] == "Анна П." and len(appeal["attachments"]) == 2
    created = datetime.fromisoformat(appeal["created_at"]).astimezone(TZ)
    due = datetime.fromisoformat(appeal["answer_due"]).astimezone(TZ)
    assert due.date() == created.date() + timedelta(days=14) and due.hour == 23  # 004 §2.3
    assert appeal["url"].startswith("https://tashtagol.kuzbass-online.example/")  # the municipality's sub-domain
    r = http.get(f"{API}/appeals", params={"cursor": "garbage"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "BAD_CURSOR"
    assert SPEC.conforms(r.json(), "Error") == []
    assert SPEC.conforms(http.get(f"{API}/profile").json(), "Profile") == []


def test_the_lifecycle_new_in_work_solved(ko):
    emulator, server, http = ko
    aid = server.call(emulator.inject, {"text": "Яма", "category": "Дороги"})["id"]
    answer = {"text": "Здравствуйте! Яму заделали.", "result": "решено"}
    r = http.post(f"{API}/appeals/{aid}/answer", json=answer)
    assert r.status_code == 409 and r.json()["error"]["code"] == "WRONG_STATUS"  # not in work yet
    bad = http.post(f"{API}/appeals/{aid}/take", json={**TAKE, "subcategory": "Отопление"})
    assert bad.status_code == 422  # not a subcategory of Дороги
    taken = http.post(f"{API}/appeals/{aid}/take", json=TAKE).json()
    assert SPEC.conforms(taken, "Appeal") == []
    assert (taken["status_label"], taken["executor"]) == ("принято в работу", {"name": TAKE["executor"]})
    assert http.post(f"{API}/appeals/{aid}/take", json=TAKE).json()["revision"] == taken["revision"]
    r = http.post(f"{API}/appeals/{aid}/answer", json={"text": "Ответ"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "RESULT_REQUIRED"
    headers = {"Idempotency-Key": "k1"}
    first = http.post(f"{API}/appeals/{aid}/answer", json=answer, headers=headers)
    again = http.post(f"{API}/appeals/{aid}/answer", json=answer, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200) and first.json() == again.json()
    assert SPEC.conforms(first.json(), "Answer") == []
    appeal = http.get(f"{API}/appeals/{aid}").json()
    assert (appeal["status"], appeal["status_label"]) == ("solved", "решено")
    assert [e["type"] for e in appeal["history"]] == ["created", "taken", "answered"]
    assert len(emulator.replies) == 1 and emulator.replies[0]["result"] == "решено"
    assert http.post(f"{API}/appeals/{aid}/take", json=TAKE).status_code == 409  # answered: no more takes


def test_the_moderator_and_the_author_reopen_it(ko):
    emulator, server, http = ko
    aid = server.call(emulator.inject, {"text": "Когда будет автобус?", "category": "Транспорт"})["id"]
    http.post(f"{API}/appeals/{aid}/take", json={**TAKE, "category": "Транспорт", "subcategory": "Расписание"})
    http.post(f"{API}/appeals/{aid}/answer", json={"text": "Здравствуйте! С 1 декабря.", "result": "разъяснено"})
    assert http.post(f"/_sandbox/appeals/{aid}/rate", json={"rating": 4}).status_code == 200
    assert http.post(f"/_sandbox/appeals/{aid}/return", json={"comment": "Уточните"}).json()["status"] == "in_work"
    assert http.post(f"/_sandbox/appeals/{aid}/reopen").status_code == 409  # nothing answered now
    assert server.call(emulator.inject, {"kind": "dispute", "id": aid})["delivered"] is False
    types = [e["type"] for e in http.get(f"{API}/appeals/{aid}").json()["history"]]
    assert types == ["created", "taken", "answered", "rated", "returned"]


def test_tokens_and_the_rate_limit():
    emulator = KuzbassOnlineEmulator(rps_limit=2)
    with serving(emulator) as server, httpx.Client(base_url=server.url, timeout=5) as http:
        r = http.get(f"{API}/appeals")
        assert r.status_code == 401 and r.json()["error"]["code"] == "UNAUTHORIZED"
        codes = [http.get(f"{API}/appeals", headers=AUTH).status_code for _ in range(4)]
        assert codes[:2] == [200, 200] and 429 in codes
        limited = next(r for r in (http.get(f"{API}/appeals", headers=AUTH) for _ in range(3)) if r.status_code == 429)
        assert limited.headers["Retry-After"] == "1" and limited.json()["error"]["code"] == "TOO_MANY_REQUESTS"
        server.call(emulator.revoke)
        emulator.rps_limit = 1000
        assert http.get(f"{API}/appeals", headers=AUTH).json()["error"]["code"] == "TOKEN_EXPIRED"
