"""The ПОС mock: its routes are its OpenAPI document; the token endpoint, the Spring page inbox,
acknowledgement, answers and approval behave as documented; errors use Spring's bodies."""

import base64
from datetime import datetime

import httpx
import pytest

from sandbox.openapi import load, served_routes
from sandbox.pos.emulator import CLIENT_ID, CLIENT_SECRET, PASSWORD, USERNAME, PosEmulator
from sandbox.runner import serving

SPEC = load("pos")
BASIC = {"Authorization": "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()}


def test_every_route_is_documented_and_every_documented_route_is_served():
    assert served_routes(PosEmulator().build_app()) == SPEC.routes()


@pytest.fixture
def pos():
    emulator = PosEmulator()
    with serving(emulator) as server:
        with httpx.Client(base_url=server.url, timeout=5) as http:
            yield emulator, server, http


def login(http: httpx.Client, **form) -> httpx.Response:
    data = {"grant_type": "password", "username": USERNAME, "password": PASSWORD, "scope": "any", **form}
    return http.post("/user-service/oauth/token", data=data, headers=BASIC)


def bearer(http: httpx.Client) -> dict[str, str]:
    return {"Authorization": "Bearer " + login(http).json()["access_token"]}


def test_password_and_refresh_grants_and_their_errors(pos):
    emulator, server, http = pos
    token = login(http).json()
    assert token["token_type"] == "bearer" and token["expires_in"] > 0 and token["refresh_token"]
    assert login(http, password="wrong").json() == {
        "error": "invalid_grant",
        "error_description": "Bad credentials",
    }
    assert (
        http.post("/user-service/oauth/token", data={"grant_type": "password"}).status_code == 401
    )  # no client
    refreshed = login(http, grant_type="refresh_token", refresh_token=token["refresh_token"])
    assert refreshed.status_code == 200 and refreshed.json()["access_token"] != token["access_token"]
    assert login(http, grant_type="refresh_token", refresh_token="nope").json()["error"] == "invalid_grant"
    assert login(http, grant_type="client_credentials").json()["error"] == "unsupported_grant_type"


def test_tokens_expire_and_revocation_kills_them(pos):
    emulator, server, http = pos
    headers = bearer(http)
    assert http.get("/appeal-service/edms", headers=headers).status_code == 200
    server.call(emulator.advance, 3600)
    r = http.get("/appeal-service/edms", headers=headers)
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"
    headers = bearer(http)
    server.call(emulator.revoke)
    assert http.get("/appeal-service/edms", headers=headers).status_code == 401
    assert login(http).status_code == 400
    assert http.get("/appeal-service/edms").json()["error"] == "unauthorized"


def test_the_inbox_is_a_spring_page_of_documented_appeals(pos):
    emulator, server, http = pos
    for i in range(3):
        server.call(
            emulator.inject,
            {
                "text": f"Обращение {i}",
                "fast_track": ["FEDERAL", "REGIONAL", None][i],
                "attachments": 1,
                "author_name": "Иван Смирнов",
            },
        )
    headers = bearer(http)
    page = http.get("/appeal-service/edms", params={"size": 2}, headers=headers).json()
    assert (page["totalElements"], page["totalPages"], page["number"], page["first"], page["last"]) == (
        3,
        2,
        0,
        True,
        False,
    )
    assert page["numberOfElements"] == 2 and page["pageable"]["pageSize"] == 2
    for appeal in page["content"]:
        assert SPEC.conforms(appeal, "Appeal") == []
    second = http.get("/appeal-service/edms", params={"page": 1, "size": 2}, headers=headers).json()
    assert second["last"] and [a["description"] for a in second["content"]] == ["Обращение 2"]
    days = {a["fastTrackType"]: a for a in page["content"] + second["content"]}
    span = {
        k: (datetime.fromisoformat(a["answerAt"]) - datetime.fromisoformat(a["createdAt"])).days
        for k, a in days.items()
    }
    assert span == {"FEDERAL": 8, "REGIONAL": 14, None: 20}  # 003 §10
    bad = http.get("/appeal-service/edms", params={"size": 500}, headers=headers)
    assert bad.status_code == 400 and bad.json()["messages"] and bad.json()["path"] == "/appeal-service/edms"


def test_mark_accepted_removes_an_appeal_until_it_changes(pos):
    emulator, server, http = pos
    server.call(emulator.inject, {"text": "Нет света"})
    headers = bearer(http)
    [appeal] = http.get("/appeal-service/edms", headers=headers).json()["content"]
    server.call(emulator.inject, {"kind": "edit", "id": appeal["id"], "text": "Нет света третий день"})
    # Acknowledging the version we saw leaves the newer one listed.
    http.post(
        f"/appeal-service/edms/{appeal['id']}/mark-accepted",
        params={"version": appeal["version"]},
        headers=headers,
    )
    [edited] = http.get("/appeal-service/edms", headers=headers).json()["content"]
    assert edited["description"] == "Нет света третий день" and edited["editedAt"]
    r = http.post(
        f"/appeal-service/edms/{appeal['id']}/mark-accepted",
        params={"version": edited["version"]},
        headers=headers,
    )
    assert r.status_code == 200 and r.content == b""
    assert http.get("/appeal-service/edms", headers=headers).json()["empty"] is True
    assert http.post("/appeal-service/edms/1/mark-accepted", headers=headers).status_code == 404


def test_answers_statuses_approval_and_applicant_feedback(pos):
    emulator, server, http = pos
    appeal_id = server.call(emulator.inject, {"text": "Яма"})["id"]
    headers = bearer(http)
    url = f"/appeal-service/edms/{appeal_id}"
    assert (
        http.post(url, json={"answerText": "Ответ", "appealAnswerType": "MAYBE"}, headers=headers).status_code
        == 400
    )
    assert (
        http.post(
            url, json={"answerText": "Ответ", "appealAnswerType": "POSTPONED"}, headers=headers
        ).status_code
        == 400
    )
    assert http.post(url, json={"status": "SET_EXECUTOR"}, headers=headers).status_code == 400
    assert http.post(url, json={"status": "TAKE_TO_WORK"}, headers=headers).json()["status"] == "TAKE_TO_WORK"
    body = {
        "answer": True,
        "answerText": "Здравствуйте! Яму засыпят 3 июня.",
        "appealAnswerType": "POSTPONED",
        "postponedDate": "2031-06-03T00:00:00.000+00:00",
        "outgoingNumber": "r-1",
    }
    appeal = http.post(url, json=body, headers=headers).json()
    assert appeal["status"] == "POSTPONE" and appeal["answers"][0]["approvalStatus"] == "ON_APPROVAL"
    assert http.post(url, json=body, headers=headers).status_code == 409  # one on approval at a time
    assert (
        emulator.replies[0]["answer_type"] == "POSTPONED" and emulator.replies[0]["outgoing_number"] == "r-1"
    )
    approved = http.post(f"/_sandbox/appeals/{appeal_id}/approve").json()
    assert (
        approved["answerAt"] == body["postponedDate"]
        and approved["answers"][0]["approvalStatus"] == "APPROVED"
    )
    final = http.post(
        url, json={"answerText": "Здравствуйте! Засыпали.", "appealAnswerType": "SOLVED"}, headers=headers
    ).json()
    assert final["status"] == "SEND_RESPONSE"
    returned = http.post(f"/_sandbox/appeals/{appeal_id}/return", json={"comment": "Приложите фото"}).json()
    assert (
        returned["status"] == "TAKE_TO_WORK"
        and returned["answers"][-1]["approvalComment"] == "Приложите фото"
    )
    http.post(
        url,
        json={"answerText": "Здравствуйте! Засыпали, фото.", "appealAnswerType": "SOLVED"},
        headers=headers,
    )
    http.post(f"/_sandbox/appeals/{appeal_id}/approve")
    assert (
        http.post(url, json={"answerText": "Ещё", "appealAnswerType": "SOLVED"}, headers=headers).status_code
        == 409
    )
    reopened = http.post(f"/_sandbox/appeals/{appeal_id}/comment", json={"text": "Не засыпали"}).json()
    assert reopened["status"] == "TAKE_TO_WORK" and reopened["comments"][0]["negative"] is True
    assert http.post(f"/_sandbox/appeals/{appeal_id}/rate", json={"rating": 2}).json()["rating"]["value"] == 2
    assert SPEC.conforms(http.get(url, headers=headers).json(), "Appeal") == []


def test_rate_limit_and_injected_faults_use_springs_bodies(pos):
    emulator, server, http = pos
    headers = bearer(http)
    codes = [http.get("/appeal-service/edms", headers=headers).status_code for _ in range(14)]
    assert codes.count(200) == 10 and codes[-1] == 429
    r = http.get("/appeal-service/edms", headers=headers)
    assert r.headers["Retry-After"] == "1" and r.json()["error"] == "Too Many Requests"
    for kind, status in (("5xx", 503), ("429", 429), ("auth", 401)):
        emulator.faults.add({"kind": kind, "match": "/user-service"})
        r = login(http)
        assert r.status_code == status and "error" in r.json()


def test_duplicate_fault_and_inject_kinds(pos):
    emulator, server, http = pos
    created = http.post(
        "/_sandbox/inject", json={"text": "Нет воды", "author_id": 3, "author_name": "Анна"}
    ).json()
    assert (
        http.post("/_sandbox/inject", json={"kind": "dispute", "id": created["id"]}).json()["delivered"]
        is False
    )
    assert (
        http.post("/_sandbox/inject", json={"kind": "delete", "id": created["id"]}).json()["delivered"]
        is False
    )
    emulator.faults.add({"kind": "duplicate", "match": "/edms"})
    content = http.get("/appeal-service/edms", headers=bearer(http)).json()["content"]
    assert [a["id"] for a in content] == [created["id"], created["id"]]
