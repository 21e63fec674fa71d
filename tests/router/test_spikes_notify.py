from datetime import datetime, timedelta

import httpx
import respx

from otklik.settings import Settings
from router.notify import send_alert
from router.spikes import SpikeDetector

T = datetime(2026, 1, 10, 10)


def test_spike_over_baseline_once_per_cooldown():
    d = SpikeDetector(min_count=5)
    quiet = [a for i in range(48) for a in d.observe(T + timedelta(hours=i), "ЖКХ", None, message_id=str(i))]
    assert quiet == []
    burst = [
        a
        for i in range(10)
        for a in d.observe(T + timedelta(hours=48, minutes=i), "ЖКХ", "ул. Ленина", message_id=f"b{i}")
    ]
    assert [a.key for a in burst] == ["topic:ЖКХ", "place:ул. Ленина"]
    assert burst[0].count == 5 and "b4" in burst[0].message_ids


def test_unusual_engagement_is_socially_significant():
    d = SpikeDetector(engagement_min=100)
    assert d.observe(T, "Дороги", None, engagement=20, message_id="1") == []
    alerts = d.observe(T, "Дороги", None, engagement=250, message_id="2")
    assert alerts[0].kind == "significant"
    assert d.observe(T, "Дороги", None, engagement=260, message_id="2") == []  # once per message


@respx.mock
async def test_alert_goes_to_webhook_and_telegram(monkeypatch):
    monkeypatch.setenv("OTKLIK_SECRET_HEADBOT_TOKEN", "123:abc")
    settings = Settings(
        notify={
            "webhook_url": "https://hooks.example/otklik",
            "telegram_chat_id": "-100",
            "telegram_source": "headbot",
        },
        sources=[{"name": "headbot", "platform": "telegram", "base_url": "https://tg.example"}],
    )
    hook = respx.post("https://hooks.example/otklik").mock(return_value=httpx.Response(200))
    tg = respx.post("https://tg.example/bot123:abc/sendMessage").mock(
        return_value=httpx.Response(200, json={"ok": True, "result": {}})
    )
    await send_alert(settings, kind="spike", text="Всплеск", data={"count": 5})
    assert hook.called and tg.called
    assert b"-100" in tg.calls[0].request.content
