from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import httpx
import pytest
import respx

from connectors.errors import Fatal, RateLimited, Transient
from router.notify import deliver, format_alert, send_alert, telegram_url
from router.spikes import Alert

TOKEN = "123456:SECRET-token"
SEND = telegram_url(TOKEN, "https://tg.example")
HOOK = "https://hooks.example/alerts"
ALERT = Alert(
    kind="spike",
    key="place:село Бергуль",
    at=datetime(2026, 1, 5, 7, 30, tzinfo=UTC),
    topic_group="ЖКХ",
    location="село Бергуль",
    count=9,
    baseline=1.5,
    window_minutes=60,
    message_ids=["17", "18"],
    text="Всплеск активности: место: село Бергуль — 9 сообщений за 60 мин",
)


def test_format_alert_is_plain_and_complete():
    text = format_alert(ALERT)
    assert text.startswith("⚠️ Всплеск активности")
    assert "Тема: ЖКХ" in text and "05.01.2026 07:30 UTC" in text and "Сообщения: 17, 18" in text
    assert format_alert(ALERT.model_dump(mode="json")) == text


@respx.mock
async def test_deliver_to_telegram_and_webhook():
    tg = respx.post(SEND).mock(return_value=httpx.Response(200, json={"ok": True, "result": {}}))
    hook = respx.post(HOOK).mock(return_value=httpx.Response(204))
    reached = await deliver(
        "текст", telegram_send_url=SEND, chat_id=-100500, webhook_url=HOOK, payload={"kind": "spike"}
    )
    assert reached == ["webhook", "telegram"]
    sent = httpx.Response(200, content=tg.calls.last.request.content).json()
    assert sent["chat_id"] == -100500 and sent["text"] == "текст"
    assert httpx.Response(200, content=hook.calls.last.request.content).json() == {
        "text": "текст",
        "kind": "spike",
    }


@respx.mock
async def test_telegram_errors_are_classified_and_never_leak_the_token():
    respx.post(SEND).mock(
        return_value=httpx.Response(429, json={"ok": False, "parameters": {"retry_after": 7}})
    )
    with pytest.raises(RateLimited) as exc:
        await deliver("x", telegram_send_url=SEND, chat_id=1)
    assert exc.value.retry_after == 7.0 and TOKEN not in str(exc.value)

    respx.post(SEND).mock(return_value=httpx.Response(502))
    with pytest.raises(Transient):
        await deliver("x", telegram_send_url=SEND, chat_id=1)

    respx.post(SEND).mock(
        return_value=httpx.Response(400, json={"ok": False, "description": "chat not found"})
    )
    with pytest.raises(Fatal, match="chat not found") as exc:
        await deliver("x", telegram_send_url=SEND, chat_id=1)
    assert TOKEN not in str(exc.value)

    respx.post(SEND).mock(side_effect=httpx.ConnectError(f"cannot reach {SEND}"))
    with pytest.raises(Transient) as exc:
        await deliver("x", telegram_send_url=SEND, chat_id=1)
    assert TOKEN not in str(exc.value) and exc.value.__cause__ is None


async def test_nothing_configured_is_a_fatal_error():
    with pytest.raises(Fatal, match="no alert destination"):
        await deliver("x")


@respx.mock
async def test_send_alert_uses_the_configured_bot_and_formats_stored_alerts():
    tg = respx.post(SEND).mock(return_value=httpx.Response(200, json={"ok": True}))
    source = SimpleNamespace(base_url="https://tg.example", secret=lambda key: {"token": TOKEN}[key])
    settings = SimpleNamespace(
        notify=SimpleNamespace(telegram_chat_id="-42", telegram_source="bot", webhook_url=None),
        source=lambda name: name,
        resolve_source=lambda src: source,
    )
    reached = await send_alert(settings, kind="spike", text=ALERT.text, data=ALERT.model_dump(mode="json"))
    assert reached == ["telegram"]
    body = httpx.Response(200, content=tg.calls.last.request.content).json()
    assert body["chat_id"] == "-42" and body["text"] == format_alert(ALERT)
    # an operator alert (not a spike) goes out as its own text
    await send_alert(settings, kind="auth_failed", text="source vk: token revoked", data={"source": "vk"})
    assert (
        httpx.Response(200, content=tg.calls.last.request.content).json()["text"]
        == "source vk: token revoked"
    )
