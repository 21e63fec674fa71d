"""GET /api/categories/proposals: curators and heads get the proposals (terms and case ids, no
texts); an executor is refused with 403, bad dates are a 400, nobody gets a 5xx."""

from datetime import UTC, datetime

import pyotp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from otklik import http
from otklik.api import auth
from storage.tables import CaseRow, MessageRow
from tests.otklik.doubles import AppDaemon

PASSWORD = "Sadovaya-yama-42"
TEXTS = ["Фонарь у дома не горит неделю", "Не горит фонарь во дворе", "Фонарь на улице не горит ночью"]


@pytest.fixture
async def client(db):
    with db.session() as s:
        _, _, cur = auth.create_user(s, "cur", "curator", password=PASSWORD)
        _, _, head = auth.create_user(s, "boss", "head", password=PASSWORD)
        auth.create_user(s, "exe", "executor", password=PASSWORD, department="dorogi")
        for n, text in enumerate(TEXTS):
            m = MessageRow(source="tg", platform="telegram", external_id=str(n), thread={}, author_id="1", text=text,
                           created_at=datetime(2024, 12, 2, tzinfo=UTC), attachments=[], raw={})
            s.add(m)
            s.flush()
            s.add(CaseRow(message_id=m.id, profile="p", channel="c", state="new", executors=[], location=[],
                          record={}, topic_group="Благоустройство", needs_manual=True))
    async with TestClient(TestServer(http.build_app(AppDaemon(db)))) as c:
        async def login(name, otp=None):
            r = await c.post("/api/login", json={"login": name, "password": PASSWORD, "otp": otp})
            return {"Authorization": f"Bearer {(await r.json())['token']}"}

        c.tokens = {"cur": await login("cur", pyotp.TOTP(cur).now()),
                    "boss": await login("boss", pyotp.TOTP(head).now()), "exe": await login("exe")}
        yield c


async def test_proposals_for_curator_and_head_not_executor(client):
    url = "/api/categories/proposals"
    assert (await client.get(url)).status == 401
    r = await client.get(url, headers=client.tokens["exe"])
    assert r.status == 403
    for who in ("cur", "boss"):
        r = await client.get(url, headers=client.tokens[who])
        assert r.status == 200
        body = await r.text()
        assert all(t not in body for t in TEXTS)
        (p,) = (await r.json())["proposals"]
        assert p["topic_group"] == "Благоустройство" and p["size"] == 3 and "фонарь" in p["top_terms"]
    r = await client.get(url + "?since=2024-12-03", headers=client.tokens["cur"])
    assert (await r.json())["proposals"] == []
    r = await client.get(url + "?since=yesterday", headers=client.tokens["cur"])
    assert r.status == 400
    spec = await (await client.get("/api/openapi.json")).json()
    assert url in spec["paths"]
