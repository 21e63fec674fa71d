"""The Incident Management mock: its routes are its OpenAPI document, its payloads the documented
shapes, and it enforces the lifecycle of 004 §2.1, its limits and its error envelope."""

import httpx
import pytest

from sandbox.incident_management.emulator import TOKEN, IncidentManagementEmulator
from sandbox.openapi import load, served_routes
from sandbox.runner import serving

SPEC = load("incident_management")
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_every_route_is_documented_and_every_documented_route_is_served():
    assert served_routes(IncidentManagementEmulator().build_app()) == SPEC.routes()


@pytest.fixture
def im():
    emulator = IncidentManagementEmulator()
    with serving(emulator) as server:
        with httpx.Client(base_url=server.url, headers=AUTH, timeout=5) as http:
            yield emulator, server, http


def test_feed_incidents_and_answers_have_the_documented_shapes(im):
    emulator, server, http = im
    for network in ("vk", "ok", "telegram"):
        server.call(
            emulator.inject, {"text": "Нет света на Садовой", "network": network, "topic_group": "ЖКХ"}
        )
    page = http.get("/api/v1/incidents").json()
    assert [i["source"]["network"] for i in page["items"]] == ["vk", "ok", "telegram"]
    for item in page["items"]:
        assert SPEC.conforms(item, "Incident") == []
    r = http.post(
        "/api/v1/incidents/1001/answers", json={"kind": "final", "text": "Здравствуйте!", "outcome": "Решено"}
    )
    assert r.status_code == 201 and SPEC.conforms(r.json(), "Answer") == []
    r = http.get("/api/v1/incidents/99")
    assert r.status_code == 404 and SPEC.conforms(r.json(), "Error") == []
    assert r.json()["error"]["code"] == "not_found"


def test_the_feed_is_ordered_by_change_and_resumes_after_since(im):
    emulator, server, http = im
    for i in range(5):
        server.call(emulator.inject, {"text": f"сообщение {i}"})
    first = http.get("/api/v1/incidents", params={"limit": 2}).json()
    assert [i["id"] for i in first["items"]] == [1001, 1002] and first["has_more"]
    rest = http.get("/api/v1/incidents", params={"since": first["next_since"], "limit": 10}).json()
    assert [i["id"] for i in rest["items"]] == [1003, 1004, 1005] and not rest["has_more"]
    # A change moves an incident to the end of the feed: nothing before `since` is lost.
    server.call(emulator.inject, {"kind": "edit", "id": 1001, "text": "исправлено"})
    again = http.get("/api/v1/incidents", params={"since": rest["next_since"]}).json()
    assert [i["id"] for i in again["items"]] == [1001]
    assert again["items"][0]["history"][-1]["type"] == "source_edited"
    bad = http.get("/api/v1/incidents", params={"limit": 1000})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_failed"


def test_tokens_are_checked(im):
    emulator, server, http = im
    assert httpx.get(server.url + "/api/v1/me").json()["error"]["code"] == "unauthorized"
    assert httpx.get(server.url + "/api/v1/me", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert http.get("/api/v1/me").json()["scopes"]
    server.call(emulator.revoke)
    r = http.get("/api/v1/me")
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_revoked"


def test_more_than_ten_requests_a_second_are_refused_with_retry_after(im):
    emulator, server, http = im
    codes = [http.get("/api/v1/me").status_code for _ in range(15)]
    assert codes.count(200) == 10 and 429 in codes
    r = http.get("/api/v1/me")
    assert r.status_code == 429 and r.headers["Retry-After"] == "1" and r.json()["error"]["retry_after"] == 1
    assert emulator.rate_limited >= 5


def test_answers_are_validated_and_deduplicated_by_idempotency_key(im):
    emulator, server, http = im
    server.call(emulator.inject, {"text": "Яма"})
    url = "/api/v1/incidents/1001/answers"
    assert (
        http.post(url, json={"kind": "final", "text": "Ответ"}).json()["error"]["code"] == "validation_failed"
    )
    assert http.post(url, json={"kind": "intermediate", "text": "Ответ"}).status_code == 422
    assert http.post(url, json={"kind": "final", "text": " ", "outcome": "Решено"}).status_code == 422
    body = {"kind": "first", "text": "Здравствуйте! Ответим до пятницы."}
    first = http.post(url, json=body, headers={"Idempotency-Key": "reply-1"})
    again = http.post(url, json=body, headers={"Idempotency-Key": "reply-1"})
    assert (first.status_code, again.status_code) == (201, 200) and first.json() == again.json()
    assert first.json()["client_reference"] == "reply-1"
    other = http.post(url, json=body, headers={"Idempotency-Key": "reply-2"})
    assert other.status_code == 409  # one answer on approval at a time
    assert len(emulator.replies) == 1 and emulator.replies[0]["incident_id"] == 1001


def test_approval_publication_rating_window_and_silence(im):
    emulator, server, http = im
    server.call(emulator.inject, {"text": "Не вывозят мусор", "network": "vk"})
    answer = http.post(
        "/api/v1/incidents/1001/answers",
        json={"kind": "final", "text": "Здравствуйте! Вывезли.", "outcome": "Решено"},
    ).json()
    assert (
        http.post("/api/v1/incidents/1001/publication", json={"url": "https://vk.com/x"}).status_code == 409
    )
    server.call(emulator.return_answer, 1001, "Укажите дату")
    assert http.get("/api/v1/incidents/1001").json()["status"] == "returned"
    answer = http.post(
        "/api/v1/incidents/1001/answers",
        json={"kind": "final", "text": "Здравствуйте! Вывезли 12 мая.", "outcome": "Решено"},
    ).json()
    assert http.post("/_sandbox/incidents/1001/approve", json={}).json()["status"] == "approved"
    pub = http.post("/api/v1/incidents/1001/publication", json={"url": "https://vk.com/wall-1_2?reply=3"})
    assert pub.status_code == 201 and pub.json()["answer"]["id"] == answer["id"]
    assert (
        http.post(
            "/api/v1/incidents/1001/publication", json={"url": "https://vk.com/wall-1_2?reply=3"}
        ).status_code
        == 200
    )
    incident = http.get("/api/v1/incidents/1001").json()
    assert incident["status"] == "on_rating" and incident["outcome"] == "Решено"
    assert server.call(emulator.advance, 47 * 3600) == []  # a day and 23 hours: still waiting
    assert server.call(emulator.advance, 3600) == [1001]  # two days of silence: accepted
    incident = http.get("/api/v1/incidents/1001").json()
    assert incident["status"] == "closed" and incident["satisfaction"]["state"] == "accepted"
    assert incident["history"][-1]["type"] == "feedback_accepted"


def test_a_comment_reopens_and_a_rating_closes(im):
    emulator, server, http = im
    server.call(emulator.inject, {"text": "Яма на Лесной"})
    server.call(emulator.inject, {"text": "Яма на Мира"})
    for incident in (1001, 1002):
        http.post(
            f"/api/v1/incidents/{incident}/answers",
            json={"kind": "final", "text": "Засыпали", "outcome": "Решено"},
        )
        http.post(f"/_sandbox/incidents/{incident}/approve")
        http.post(f"/api/v1/incidents/{incident}/publication", json={"url": f"https://vk.com/{incident}"})
    reopened = http.post("/_sandbox/incidents/1001/comment", json={"text": "Ничего не засыпали"}).json()
    assert reopened["status"] == "in_work" and reopened["satisfaction"]["state"] == "disputed"
    rated = http.post("/_sandbox/incidents/1002/rate", json={"rating": 4}).json()
    assert rated["status"] == "closed" and rated["history"][-1] == {
        **rated["history"][-1],
        "type": "rated",
        "rating": 4,
    }
    assert http.post("/_sandbox/incidents/1002/rate", json={"rating": 5}).status_code == 409
    assert http.post("/_sandbox/clock", json={"advance": 3 * 86400}).json()["accepted"] == []


def test_inject_kinds_used_by_the_traffic_generator(im):
    emulator, server, http = im
    created = http.post(
        "/_sandbox/inject", json={"text": "Нет воды", "author_id": 7, "author_name": "Анна"}
    ).json()
    assert set(created) == {"id", "number", "network"}
    assert (
        http.post("/_sandbox/inject", json={"kind": "dispute", "id": created["id"]}).json()["delivered"]
        is False
    )
    assert (
        http.post("/_sandbox/inject", json={"kind": "delete", "id": created["id"]}).json()["delivered"]
        is True
    )
    assert http.get(f"/api/v1/incidents/{created['id']}").json()["source"]["deleted"] is True


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [("5xx", 503, "unavailable"), ("429", 429, "rate_limited"), ("auth", 401, "token_revoked")],
)
def test_injected_faults_use_the_platform_envelope(im, kind, status, code):
    emulator, server, http = im
    emulator.faults.add({"kind": kind, "match": "/api/v1/me", "retry_after": 3})
    r = http.get("/api/v1/me")
    assert r.status_code == status and r.json()["error"]["code"] == code
    assert SPEC.conforms(r.json(), "Error") == []
    assert http.get("/api/v1/me").status_code == 200  # count=1


def test_duplicate_fault_redelivers_items(im):
    emulator, server, http = im
    server.call(emulator.inject, {"text": "Нет света"})
    emulator.faults.add({"kind": "duplicate", "match": "/incidents"})
    assert [i["id"] for i in http.get("/api/v1/incidents").json()["items"]] == [1001, 1001]
