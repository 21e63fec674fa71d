"""The quarantine for people: `otklik quarantine list|show|retry` and /api/quarantine (curators and
admins only; an executor gets 403, nobody a 5xx)."""

import json
from datetime import UTC, datetime

import pyotp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from otklik import http
from otklik.api import auth
from otklik.cli import main
from otklik.models import Author, Batch, Message, Rejected, Thread
from storage.tables import MessageRow
from tests.otklik.doubles import AppDaemon

PASSWORD = "Sadovaya-yama-42"  # passes the password rules

SECRET = "Тайный текст жителя"


def fill(db) -> dict:
    """An unreadable platform item and a message no store takes (id too long); a good one."""
    good = Message(source="tg", platform="telegram", external_id="1", thread=Thread(kind="chat"),
                   author=Author(id="1"), text="Фонарь не горит", created_at=datetime.now(UTC))
    long_id = good.model_copy(update={"external_id": "9" * 201, "text": SECRET})
    db.ingest("tg", Batch(messages=[good, long_id], rejected=[Rejected(raw={"text": 5}, reason="text is a number")]),
              platform="telegram")
    from storage.tables import QuarantineRow

    with db.session() as s:
        return {q.external_id: q.id for q in s.query(QuarantineRow)}


def test_cli_list_show_retry(db, database_url, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("OTKLIK_CONFIG", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("", encoding="utf-8")
    assert main(["quarantine", "list"]) == 0
    assert "открытых записей в карантине нет" in capsys.readouterr().out
    ids = fill(db)
    assert main(["quarantine", "list", "--json"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {i["id"] for i in listed} == set(ids.values())
    assert all(SECRET not in json.dumps(i, ensure_ascii=False) for i in listed)  # no payload in the list
    assert main(["quarantine", "list", "--source", "other"]) == 0
    assert "нет" in capsys.readouterr().out
    assert main(["quarantine", "show", str(ids["9" * 200])]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["raw"]["message"]["text"] == SECRET and shown["stage"] == "ingest"
    assert main(["quarantine", "retry", str(ids["9" * 200])]) == 1  # still too long: stays, attempts 2
    assert "осталась в карантине" in capsys.readouterr().out
    assert main(["quarantine", "retry", str(ids[None])]) == 2  # a raw item: the parser must read it first
    assert "parser" in capsys.readouterr().err
    assert main(["quarantine", "show", "999999"]) == 2
    assert "not found" in capsys.readouterr().err


def test_cli_retry_stores_again(db, database_url, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("OTKLIK_CONFIG", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("", encoding="utf-8")
    from storage import quarantine

    m = Message(source="tg", platform="telegram", external_id="5", thread=Thread(kind="chat"),
                author=Author(id="1"), text="Снова фонарь", created_at=datetime.now(UTC))
    with db.session() as s:
        item_id = quarantine.add(s, source="tg", stage="ingest", reason="OperationalError",
                                 raw={"message": m.model_dump(mode="json")}).id
    assert main(["quarantine", "retry", str(item_id), "--actor", "ivanova"]) == 0
    assert "сохранено заново" in capsys.readouterr().out
    with db.session() as s:
        assert s.query(MessageRow).one().external_id == "5"
    assert main(["quarantine", "list", "--all", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["resolved_by"] == "ivanova"


@pytest.fixture
async def client(db):
    with db.session() as s:
        _, _, cur = auth.create_user(s, "cur", "curator", password=PASSWORD)
        auth.create_user(s, "exe", "executor", password=PASSWORD, department="dorogi")
    async with TestClient(TestServer(http.build_app(AppDaemon(db)))) as c:
        async def login(name, otp=None):
            r = await c.post("/api/login", json={"login": name, "password": PASSWORD, "otp": otp})
            return {"Authorization": f"Bearer {(await r.json())['token']}"}

        c.tokens = {"cur": await login("cur", pyotp.TOTP(cur).now()), "exe": await login("exe")}
        yield c


async def test_api_list_show_retry_and_guards(db, client):
    ids = fill(db)
    cur, exe = client.tokens["cur"], client.tokens["exe"]
    assert (await client.get("/api/quarantine")).status == 401
    r = await client.get("/api/quarantine", headers=exe)
    assert r.status == 403
    r = await client.get("/api/quarantine", headers=cur)
    assert r.status == 200
    items = (await r.json())["items"]
    assert {i["id"] for i in items} == set(ids.values())
    r = await client.get("/api/quarantine?source=other", headers=cur)
    assert (await r.json())["items"] == []
    r = await client.get("/api/quarantine?source=t%00g", headers=cur)  # the API's guards refuse NUL: 400, not 500
    assert r.status == 400
    long_id = ids["9" * 200]
    r = await client.get(f"/api/quarantine/{long_id}", headers=cur)
    assert r.status == 200
    body = await r.text()
    assert SECRET in body  # ensure_ascii=False: Cyrillic as is
    assert (await client.get(f"/api/quarantine/{long_id}", headers=exe)).status == 403
    assert (await client.get("/api/quarantine/424242", headers=cur)).status == 404
    assert (await client.get("/api/quarantine/99999999999999999999999", headers=cur)).status == 404
    assert (await client.get("/api/quarantine/abc", headers=cur)).status == 404
    r = await client.post(f"/api/quarantine/{long_id}/retry", headers=cur)
    assert r.status == 409 and (await r.json())["item"]["attempts"] == 2
    r = await client.post(f"/api/quarantine/{ids[None]}/retry", headers=cur)
    assert r.status == 409 and "parser" in (await r.json())["error"]
    assert (await client.post(f"/api/quarantine/{long_id}/retry", headers=exe)).status == 403
    from storage import quarantine

    m = Message(source="tg", platform="telegram", external_id="6", thread=Thread(kind="chat"),
                author=Author(id="1"), text="Снова фонарь", created_at=datetime.now(UTC))
    with db.session() as s:
        item_id = quarantine.add(s, source="tg", stage="ingest", reason="OperationalError",
                                 raw={"message": m.model_dump(mode="json")}).id
    r = await client.post(f"/api/quarantine/{item_id}/retry", headers=cur)
    assert r.status == 200 and (await r.json())["outcome"] == "stored"
    assert (await r.json())["item"]["resolved_by"] == "cur"
    assert (await client.post(f"/api/quarantine/{item_id}/retry", headers=cur)).status == 409  # already done
    spec = await (await client.get("/api/openapi.json")).json()
    assert {"/api/quarantine", "/api/quarantine/{id}", "/api/quarantine/{id}/retry"} <= set(spec["paths"])
