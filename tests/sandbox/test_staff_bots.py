"""The staff bot inside the Telegram and MAX emulators: a second token with chats and updates of its
own, driven over HTTP (/_sandbox/staff/…) as tests and the demo do; the citizens' bot does not see
its traffic, and it does not see the citizens'."""

from __future__ import annotations

import httpx

from sandbox.max.emulator import TOKEN as MAX_TOKEN
from sandbox.max.emulator import MaxEmulator
from sandbox.max.staff import STAFF_TOKEN as MAX_STAFF_TOKEN
from sandbox.runner import serving
from sandbox.telegram.emulator import TOKEN as TG_TOKEN
from sandbox.telegram.emulator import TelegramEmulator
from sandbox.telegram.staff import STAFF_BOT, STAFF_TOKEN


def test_telegram_staff_bot_is_a_second_bot_of_its_own():
    emulator = TelegramEmulator(long_poll_cap=0.2)
    with serving(emulator) as server, httpx.Client(base_url=server.url, timeout=10) as http:
        staff = f"/bot{STAFF_TOKEN}"
        assert http.get(f"{staff}/getMe").json()["result"]["username"] == STAFF_BOT["username"]
        written = http.post("/_sandbox/staff/write", json={"user_id": 42, "text": "/start ABCD2345"}).json()
        http.post("/_sandbox/inject", json={"text": "Во дворе яма", "author_id": 43})  # a citizen
        (update,) = http.post(f"{staff}/getUpdates", json={"timeout": 0}).json()["result"]
        assert update["update_id"] == written["update_id"] and update["message"]["text"] == "/start ABCD2345"
        assert update["message"]["chat"] == {"id": 42, "first_name": "Сотрудник", "type": "private"}
        citizens = http.post(f"/bot{TG_TOKEN}/getUpdates", json={"timeout": 0}).json()["result"]
        assert [u["message"]["text"] for u in citizens] == ["Во дворе яма"]
        # Confirmed by the next offset, as on the real Bot API.
        assert http.post(f"{staff}/getUpdates", json={"offset": update["update_id"] + 1, "timeout": 0}
                         ).json()["result"] == []
        r = http.post(f"{staff}/sendMessage", json={"chat_id": 42, "text": "<b>Случай №1</b>\n5 &gt; 3",
                                                    "parse_mode": "HTML"})
        assert r.status_code == 200 and r.json()["result"]["text"] == "Случай №1\n5 > 3"
        assert http.get("/_sandbox/staff/sent").json()["sent"][0]["plain"] == "Случай №1\n5 > 3"
        assert http.post(f"{staff}/sendMessage", json={"chat_id": 43, "text": "x"}).json()["description"] == \
            "Bad Request: chat not found"  # a citizen never wrote to the staff bot
        http.post("/_sandbox/staff/block", json={"chat_id": 42})
        r = http.post(f"{staff}/sendMessage", json={"chat_id": 42, "text": "x"})
        assert r.status_code == 403 and r.json()["description"] == "Forbidden: bot was blocked by the user"
        assert http.post("/_sandbox/staff/write", json={"text": "no user"}).status_code == 400
    assert emulator.replies == []  # the citizens' bot posted nothing


def test_max_staff_bot_is_a_second_bot_of_its_own():
    emulator = MaxEmulator(long_poll_cap=0.2)
    with serving(emulator) as server, httpx.Client(base_url=server.url, timeout=10) as http:
        staff = {"Authorization": MAX_STAFF_TOKEN}
        assert http.get("/me", headers=staff).json()["user_id"] != http.get(
            "/me", headers={"Authorization": MAX_TOKEN}).json()["user_id"]
        http.post("/_sandbox/staff/write", json={"user_id": 7, "text": "/start ABCD2345"})
        http.post("/_sandbox/inject", json={"text": "Во дворе яма", "author_id": 8})
        page = http.get("/updates", params={"timeout": 0}, headers=staff).json()
        assert [u["message"]["body"]["text"] for u in page["updates"]] == ["/start ABCD2345"]
        citizens = http.get("/updates", params={"timeout": 0}, headers={"Authorization": MAX_TOKEN}).json()
        assert [u["message"]["body"]["text"] for u in citizens["updates"]] == ["Во дворе яма"]
        assert http.get("/updates", params={"timeout": 0, "marker": page["marker"]}, headers=staff
                        ).json()["updates"] == []
        r = http.post("/messages", params={"user_id": 7}, headers=staff,
                      json={"text": "<b>Случай №1</b> &amp; ещё", "format": "html"})
        assert r.status_code == 200 and http.get("/_sandbox/staff/sent").json()["sent"][0]["plain"] == \
            "Случай №1 & ещё"
        assert http.post("/messages", params={"user_id": 8}, headers=staff, json={"text": "x"}).status_code == 404
        http.post("/_sandbox/staff/block", json={"user_id": 7})
        r = http.post("/messages", params={"user_id": 7}, headers=staff, json={"text": "x"})
        assert r.status_code == 403 and r.json()["code"] == "chat.denied"
        stopped = http.get("/updates", params={"timeout": 0, "marker": page["marker"]}, headers=staff).json()
        assert [u["update_type"] for u in stopped["updates"]] == ["bot_stopped"]
    assert emulator.replies == []


def test_the_sandbox_configuration_turns_the_staff_bot_on(tmp_path, monkeypatch):
    """`otklik init --sandbox` points `[staff_bot]` at the emulators with their staff tokens in the
    secrets directory; `otklik sandbox` prints the same with the tokens as export lines."""
    import tomllib

    from otklik.settings import load_settings
    from sandbox import config

    urls = {"telegram": "http://127.0.0.1:1", "max": "http://127.0.0.1:2", "vk": "http://127.0.0.1:3"}
    path = tmp_path / "otklik.toml"
    path.write_text(config.config_toml(urls, str(tmp_path / "secrets")), encoding="utf-8")
    config.write_secrets(tmp_path / "secrets", list(urls))
    staff = load_settings(path).staff_bot
    assert staff.enabled() == ["telegram", "max"]
    assert staff.token("telegram") == STAFF_TOKEN and staff.token("max") == MAX_STAFF_TOKEN
    assert staff.base_url("max") == "http://127.0.0.1:2"
    printed = tomllib.loads(config.config_toml(urls, staff_from_env=True))["staff_bot"]
    assert printed["telegram_token"] == f"env:{config.staff_env('telegram')}"
    assert f"export {config.staff_env('max')}='{MAX_STAFF_TOKEN}'" in config.env_lines(list(urls))
    assert "staff_bot" not in tomllib.loads(config.config_toml({"vk": "http://127.0.0.1:3"}))
