from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from router.spikes import Alert, SpikeDetector

T0 = datetime(2026, 2, 1, tzinfo=UTC)


def steady(
    det: SpikeDetector, hours: int, per_hour: int, group: str = "ЖКХ", place: str | None = None
) -> list[Alert]:
    """A quiet background: `per_hour` messages every hour, spread evenly."""
    alerts = []
    for h in range(hours):
        for k in range(per_hour):
            at = T0 + timedelta(hours=h, minutes=60 * k / per_hour)
            alerts += det.observe(at, group, place, message_id=f"bg-{group}-{h}-{k}")
    return alerts


def test_a_burst_above_the_baseline_raises_one_alert_at_once():
    det = SpikeDetector(min_count=5, factor=3.0)
    assert steady(det, hours=48, per_hour=2) == []  # two an hour is the usual: no alert
    start = T0 + timedelta(hours=48)
    fired = []
    for k in range(12):
        fired.append(det.observe(start + timedelta(minutes=3 * k), "ЖКХ", None, message_id=f"b{k}"))
    first = next(i for i, a in enumerate(fired) if a)
    (alert,) = fired[first]
    assert alert.kind == "spike" and alert.key == "topic:ЖКХ"
    assert alert.count >= 3 * alert.baseline and alert.count >= 5
    assert 1.0 < alert.baseline < 3.0
    assert "Всплеск активности" in alert.text and "ЖКХ" in alert.text
    assert sum(bool(a) for a in fired) == 1  # the cooldown keeps it to one report


def test_busy_topic_needs_more_than_a_quiet_one():
    det = SpikeDetector(min_count=5, factor=3.0)
    steady(det, hours=48, per_hour=6, group="Дороги")
    start = T0 + timedelta(hours=48)
    # ten messages in an hour is normal-ish for a topic with six an hour: no alert
    alerts = [a for k in range(10) for a in det.observe(start + timedelta(minutes=5 * k), "Дороги", None)]
    assert alerts == []


def test_place_spikes_are_separate_from_topic_spikes():
    det = SpikeDetector(min_count=4, factor=3.0, warmup=timedelta(0))
    at = T0
    alerts = []
    for k, group in enumerate(["ЖКХ", "Дороги", "Электроснабжение", "Благоустройство"]):
        alerts += det.observe(at + timedelta(minutes=k), group, "село Бергуль", message_id=str(k))
    assert [a.key for a in alerts] == ["place:село Бергуль"]
    assert alerts[0].location == "село Бергуль" and alerts[0].message_ids == ["0", "1", "2", "3"]


def test_no_spike_while_warming_up_then_the_baseline_is_learned():
    det = SpikeDetector(min_count=5, factor=3.0, warmup=timedelta(hours=6))
    # a busy start (ten an hour) is not a spike: nothing is known yet
    assert steady(det, hours=30, per_hour=10) == []
    assert 9 < det.baseline("topic:ЖКХ") <= 10


def test_messages_outside_the_window_do_not_add_up():
    det = SpikeDetector(min_count=3, window=timedelta(hours=1), warmup=timedelta(0))
    alerts = []
    for k in range(6):
        alerts += det.observe(T0 + timedelta(minutes=40 * k), "Культура", None)
    assert alerts == []


def test_a_reprocessed_message_is_counted_once():
    det = SpikeDetector(min_count=3, warmup=timedelta(0))
    alerts = []
    for _ in range(5):
        alerts += det.observe(T0, "Торговля", None, message_id="same")
    assert alerts == []


def test_unusual_engagement_is_significant_once():
    det = SpikeDetector(engagement_min=50, engagement_factor=10)
    for k in range(200):
        assert (
            det.observe(T0 + timedelta(minutes=k), "Дороги", None, engagement=k % 5, message_id=f"m{k}") == []
        )
    alerts = det.observe(T0 + timedelta(hours=5), "Дороги", "ул. Ленина", engagement=400, message_id="viral")
    assert [a.kind for a in alerts] == ["significant"]
    assert alerts[0].count == 400 and "Общественно значимое" in alerts[0].text
    # more likes on the same post later: no second report
    assert det.observe(T0 + timedelta(hours=6), "Дороги", None, engagement=900, message_id="viral") == []


def test_engagement_must_be_unusual_not_just_large():
    det = SpikeDetector(engagement_min=50, engagement_factor=10)
    for k in range(100):
        det.observe(T0 + timedelta(minutes=k), "Культура", None, engagement=300, message_id=f"m{k}")
    assert det.observe(T0 + timedelta(hours=3), "Культура", None, engagement=400, message_id="x") == []


def test_state_stays_bounded():
    det = SpikeDetector(max_keys=50, max_window_events=20, remember_ids=100, min_count=10**6)
    for k in range(5000):
        det.observe(T0 + timedelta(seconds=k), f"g{k % 7}", f"place {k}", message_id=str(k))
    assert len(det._keys) <= 50
    assert len(det._seen_ids) <= 100
    assert all(len(s.times) <= 20 for s in det._keys.values())


def test_alert_round_trips_as_json():
    det = SpikeDetector(min_count=2, warmup=timedelta(0))
    det.observe(T0, "ЖКХ", None, message_id="1")
    (alert,) = det.observe(T0 + timedelta(minutes=1), "ЖКХ", None, message_id="2")
    assert Alert.model_validate_json(alert.model_dump_json()) == alert


def test_rejects_nonsense_settings():
    with pytest.raises(ValueError):
        SpikeDetector(window=timedelta(0))
