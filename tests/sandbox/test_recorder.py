"""Recording exchanges into cassettes: secrets and personal data never reach a file, and what is
recorded replays through respx (sandbox/recorder.py, sandbox/record_live.py)."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from connectors.base import SourceConfig
from connectors.telegram.connector import TelegramConnector
from sandbox.cassette import load, mount
from sandbox.record_live import (
    FAKE_EMAIL,
    FAKE_PHONE,
    FAKE_PHOTO,
    StrictRecorder,
    is_secret_key,
    main,
    record,
    scrub_text,
    secrets_from_env,
)
from sandbox.recorder import Recorder
from sandbox.runner import serving
from sandbox.telegram.emulator import TOKEN, TelegramEmulator

BOT_TOKEN = "123456789:AAFx-a-real-looking-token-0123456789abcd"
PEOPLE = {"first_name": "Прасковья", "last_name": "Угрюмова", "username": "praskovya_u"}


def person(**extra) -> dict:
    return {**PEOPLE, **extra}


def transport(body, *, status: int = 200, headers: dict | None = None) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(body, bytes):
            return httpx.Response(
                status, content=body, headers=headers or {"content-type": "application/json"}
            )
        return httpx.Response(status, json=body, headers=headers)

    return httpx.MockTransport(handler)


def dumped(recorder: Recorder) -> str:
    return json.dumps(recorder.cassette(), ensure_ascii=False)


# -- the shared recorder (sandbox/recorder.py) ---------------------------------------------------------
def test_known_secrets_and_names_are_replaced_everywhere():
    rec = Recorder("telegram", "t", secrets={"token": BOT_TOKEN}, keep_names={"Отклик"})
    body = {
        "ok": True,
        "result": [
            {
                "from": person(),
                "chat": {"first_name": "Прасковья", "type": "private"},
                "text": f"my link https://api.telegram.org/file/bot{BOT_TOKEN}/x.jpg",
            },
            {"from": {"first_name": "Отклик", "is_bot": True}},
            {"from": {"first_name": "Фрол", "last_name": "Угрюмов"}},
        ],
    }
    with httpx.Client(transport=transport(body), event_hooks=rec.sync_hooks()) as http:
        http.post(
            f"https://api.telegram.org/bot{BOT_TOKEN}/getUpdates", json={"offset": 5, "note": BOT_TOKEN}
        )
    text = dumped(rec)
    assert BOT_TOKEN not in text and "{token}" in text
    for real in PEOPLE.values():
        assert real not in text
    interaction = rec.interactions[0]
    assert interaction["request"]["path"] == "/bot{token}/getUpdates"
    assert interaction["request"]["match"] == {"offset": 5, "note": "{token}"}
    result = interaction["response"]["json"]["result"]
    # The same person keeps the same fake name; another person gets another; the bot keeps its own.
    assert result[0]["from"]["first_name"] == result[0]["chat"]["first_name"]
    assert result[2]["from"]["first_name"] != result[0]["from"]["first_name"]
    assert result[1]["from"]["first_name"] == "Отклик"
    assert result[0]["from"]["username"].isascii()


async def test_async_hooks_record_the_same_way_and_keep_only_useful_headers():
    rec = Recorder("x", "t")
    headers = {
        "content-type": "application/json",
        "retry-after": "3",
        "set-cookie": "sid=secret-session",
        "date": "Mon, 23 Nov 2026 09:00:00 GMT",
        "server": "nginx",
    }
    async with httpx.AsyncClient(
        transport=transport(b'{"a": 1}', status=429, headers=headers), event_hooks=rec.hooks()
    ) as http:
        await http.get("https://x.test/api?page=2")
    resp = rec.interactions[0]["response"]
    assert resp == {
        "status": 429,
        "headers": {"content-type": "application/json", "retry-after": "3"},
        "json": {"a": 1},
    }
    assert rec.interactions[0]["request"]["match"] == {"page": "2"}


def test_a_broken_body_is_kept_as_text():
    rec = Recorder("x", "t")
    with httpx.Client(transport=transport(b'{"ok": tru'), event_hooks=rec.sync_hooks()) as http:
        http.get("https://x.test/api")
    assert rec.interactions[0]["response"]["text"] == '{"ok": tru'


# -- strict scrubbing for real platforms (sandbox/record_live.py) --------------------------------------
def test_secret_parameter_names():
    for key in (
        "access_token",
        "token",
        "sig",
        "secret",
        "client_secret",
        "password",
        "application_key",
        "api_key",
        "refresh_token",
        "X-Telegram-Bot-Api-Secret-Token",
        "Authorization",
        "key",
    ):
        assert is_secret_key(key), key
    for key in (
        "error_code",
        "text",
        "offset",
        "ts",
        "message_id",
        "owner_id",
        "has_more",
        "keyboard",
        "tokens_left",
    ):
        assert not is_secret_key(key), key


@pytest.mark.parametrize(
    "text",
    [
        "звоните +7 (913) 123-45-67",
        "звоните 8 913 123 45 67",
        "тел. 89131234567",
        "+79131234567 Иван",
        "8-913-123-45-67",
        "+375 29 123-45-67",
    ],
)
def test_phone_numbers_in_any_format_become_one_fake(text):
    out = scrub_text(text)
    assert FAKE_PHONE in out and not any(ch.isdigit() for ch in out.replace(FAKE_PHONE, ""))


def test_ordinary_numbers_dates_and_ids_are_left_alone():
    for text in (
        "дом 12, кв. 45",
        "2026-01-01 10:00:00",
        "update 100000123",
        "1795425044",
        "ИМ-000123",
        "wall-218000001_17",
        "сумма 12345 руб.",
    ):
        assert scrub_text(text) == text, text


def test_tokens_and_emails_inside_free_text():
    text = (
        f"see https://api.telegram.org/file/bot{BOT_TOKEN}/doc.pdf and {BOT_TOKEN} "
        "https://api.ok.ru/fb.do?method=x&access_token=tkn1abc&sig=9f0e — Bearer abcdef0123456789 "
        "пишите ivan.petrov@mail.example.ru"
    )
    out = scrub_text(text)
    assert BOT_TOKEN not in out and "/bot{token}/doc.pdf" in out
    assert "access_token={secret}" in out and "sig={secret}" in out and "tkn1abc" not in out
    assert "Bearer {token}" in out and FAKE_EMAIL in out and "ivan.petrov" not in out


def test_strict_recorder_scrubs_what_real_platforms_send():
    rec = StrictRecorder("pos", "t")  # no secret values given: it must find them by name and shape
    body = {
        "access_token": "eyJhbGciOi.real",
        "refresh_token": "r-123",
        "token_type": "bearer",
        "applicant": {
            "name": "Прасковья",
            "surname": "Угрюмова",
            "phone": "+7 913 123-45-67",
            "email": "p.u@mail.example",
            "photo_200": "https://cdn.example/u/42.jpg",
        },
        "error_code": 102,
        "description": "Звоните 8 (913) 765-43-21 по вопросу дороги на ул. Ленина, 12",
        "count": 3,
    }
    with httpx.Client(transport=transport(body), event_hooks=rec.sync_hooks()) as http:
        http.post(
            f"https://pos.example/bot{BOT_TOKEN}/x?access_token=abc123&sig=ffee",
            data={"username": "operator", "password": "hunter2", "application_key": "CBA", "gid": "55"},
        )
    text = dumped(rec)
    for secret in (
        "eyJhbGciOi",
        "r-123",
        "abc123",
        "ffee",
        "hunter2",
        BOT_TOKEN,
        "CBA",
        "operator",
        "Прасковья",
        "Угрюмова",
        "123-45-67",
        "765-43-21",
        "p.u@mail",
        "u/42.jpg",
    ):
        assert secret not in text, secret
    interaction = rec.interactions[0]
    assert interaction["request"]["path"] == "/bot{token}/x"
    match = interaction["request"]["match"]
    assert match["access_token"] == "{access_token}" and match["sig"] == "{sig}" and match["gid"] == "55"
    got = interaction["response"]["json"]
    assert got["applicant"]["phone"] == FAKE_PHONE and got["applicant"]["email"] == FAKE_EMAIL
    assert got["applicant"]["photo_200"] == FAKE_PHOTO
    assert got["error_code"] == 102 and got["count"] == 3 and got["token_type"] == "bearer"
    assert "ул. Ленина, 12" in got["description"]  # the rest of a citizen's text stays readable


def test_a_strict_cassette_replays_with_other_secret_values():
    rec = StrictRecorder("ok", "t")
    with httpx.Client(
        transport=transport({"comments": [], "has_more": False}), event_hooks=rec.sync_hooks()
    ) as h:
        h.get(
            "https://api.ok.test/fb.do",
            params={"method": "discussions.getComments", "access_token": "A1", "sig": "s1", "count": "20"},
        )
    cassette = rec.cassette()
    with respx.mock() as router:
        seen = mount(router, cassette, "https://api.ok.test")
        r = httpx.get(
            "https://api.ok.test/fb.do",
            params={"method": "discussions.getComments", "access_token": "B2", "sig": "s2", "count": "20"},
        )
        assert r.status_code == 200 and r.json() == {"comments": [], "has_more": False}
        miss = httpx.get(
            "https://api.ok.test/fb.do",
            params={"method": "discussions.getComments", "access_token": "B2", "sig": "s2", "count": "50"},
        )
        assert miss.status_code == 599  # a different real parameter is not served from the recording
    assert len(seen) == 2


# -- the script -------------------------------------------------------------------------------------
def test_secrets_come_from_the_environment_only():
    env = {"OTKLIK_RECORD_SECRET_TOKEN": "t-1", "MY_TG": "t-2", "UNRELATED": "x"}
    assert secrets_from_env([], env) == {"token": "t-1"}
    assert secrets_from_env(["webhook_secret=MY_TG"], env) == {"token": "t-1", "webhook_secret": "t-2"}
    with pytest.raises(SystemExit, match="NOPE"):
        secrets_from_env(["token=NOPE"], env)


def test_real_recording_is_refused_in_ci_and_a_cursor_is_not_advanced_by_accident(
    monkeypatch, tmp_path, capsys
):
    monkeypatch.setenv("CI", "true")
    assert main(["--platform", "telegram", "--scenario", "first_sync", "--out", str(tmp_path)]) == 2
    assert "never runs in CI" in capsys.readouterr().err
    monkeypatch.delenv("CI")
    assert main(["--platform", "telegram", "--scenario", "incremental_sync", "--out", str(tmp_path)]) == 2
    assert "--allow-advance" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_recording_from_the_emulator_replays_through_the_connector(tmp_path, capsys):
    assert (
        main(
            [
                "--platform",
                "telegram",
                "--scenario",
                "first_sync",
                "--emulator",
                "--messages",
                "4",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    path = tmp_path / "telegram" / "first_sync.json"
    assert summary["messages"] == 4 and summary["cassette"] == str(path)
    assert TOKEN not in path.read_text(encoding="utf-8")
    cassette = load("telegram", "first_sync", root=tmp_path)
    config = SourceConfig(
        name="tg",
        platform="telegram",
        base_url="https://tg.test",
        secrets={"token": "42:another-token-entirely"},
        options={"poll_timeout": 1},
    )

    async def replay() -> int:
        with respx.mock() as router:
            mount(router, cassette, "https://tg.test")
            async with httpx.AsyncClient() as http:
                batch = await TelegramConnector(config, client=http).fetch(None)
        return len(batch.messages)

    import asyncio

    assert asyncio.run(replay()) == 4


async def test_strict_recording_against_a_live_api_leaves_no_token_or_name(tmp_path):
    emulator = TelegramEmulator()
    with serving(emulator) as server:
        server.call(
            emulator.inject, {"text": "Нет воды, звоните 8 913 765-43-21", "author_name": "Прасковья"}
        )
        rec, result = await record(
            "telegram",
            "first_sync",
            base_url=server.url,
            secrets={"token": TOKEN},
            options={"poll_timeout": 0},
            strict=True,
        )
    assert result["messages"] == 1
    path = rec.save(tmp_path)
    text = path.read_text(encoding="utf-8")
    assert TOKEN not in text and "Прасковья" not in text and "765-43-21" not in text
    assert "Нет воды" in text
