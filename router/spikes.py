"""Spikes of activity and socially significant messages (000 §25, 001 §23, 002 §19, 003 §17):
when messages on one topic or place rise above their baseline in a sliding window, or one
message draws unusual engagement, an alert is raised at once. State is small and bounded:
per key, the timestamps inside the window and an hourly baseline."""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta

from pydantic import BaseModel, Field


class Alert(BaseModel):
    kind: str  # spike | significant
    key: str  # "topic:<group>" or "place:<name>" or "message:<id>"
    at: datetime
    count: int = 0
    baseline: float = 0.0
    message_ids: list[str] = Field(default_factory=list)
    text: str


class SpikeDetector:
    def __init__(self, *, window: timedelta = timedelta(hours=1), min_count: int = 5, factor: float = 3.0,
                 baseline_hours: int = 24 * 7, engagement_threshold: int = 100,
                 cooldown: timedelta = timedelta(hours=3), max_keys: int = 5000) -> None:
        self.window = window
        self.min_count = min_count
        self.factor = factor
        self.baseline_hours = baseline_hours
        self.engagement_threshold = engagement_threshold
        self.cooldown = cooldown
        self.max_keys = max_keys
        self.recent: dict[str, deque[tuple[datetime, str]]] = {}
        self.hourly: dict[str, deque[tuple[int, int]]] = {}  # (hour, messages) for the baseline
        self.last_alert: dict[str, datetime] = {}
        self.seen_significant: set[str] = set()

    def _baseline(self, key: str, at: datetime) -> float:
        """Mean messages per window over the past baseline hours, from hourly buckets."""
        hour = int(at.timestamp() // 3600)
        buckets = self.hourly.setdefault(key, deque())
        if buckets and buckets[-1][0] == hour:
            buckets[-1] = (hour, buckets[-1][1] + 1)
        else:
            buckets.append((hour, 1))
        while buckets and buckets[0][0] <= hour - self.baseline_hours:
            buckets.popleft()
        past = sum(n for h, n in buckets if h < hour - self.window.total_seconds() / 3600)
        return past / self.baseline_hours * (self.window.total_seconds() / 3600)

    def _observe_key(self, key: str, label: str, at: datetime, message_id: str | None) -> Alert | None:
        q = self.recent.setdefault(key, deque())
        q.append((at, message_id or ""))
        while q and q[0][0] <= at - self.window:
            q.popleft()
        base = self._baseline(key, at)
        count = len(q)
        threshold = max(self.min_count, self.factor * base)
        last = self.last_alert.get(key)
        if count >= threshold and (last is None or at - last >= self.cooldown):
            self.last_alert[key] = at
            return Alert(kind="spike", key=key, at=at, count=count, baseline=round(base, 3),
                         message_ids=[m for _, m in q if m][-20:],
                         text=f"Всплеск активности: {label} — {count} сообщений за "
                              f"{int(self.window.total_seconds() // 60)} мин")
        return None

    def observe(self, at: datetime, topic_group: str, location: str | None, engagement: int = 0,
                message_id: str | None = None) -> list[Alert]:
        alerts = []
        if len(self.recent) > self.max_keys:  # bounded: forget the quietest keys
            for key in sorted(self.recent, key=lambda k: len(self.recent[k]))[: len(self.recent) // 2]:
                self.recent.pop(key, None)
                self.hourly.pop(key, None)
        for key, label in ((f"topic:{topic_group}", f"тема «{topic_group}»"),
                           (f"place:{location}", f"место «{location}»") if location else (None, None)):
            if key and (a := self._observe_key(key, label, at, message_id)):
                alerts.append(a)
        if engagement >= self.engagement_threshold and message_id and message_id not in self.seen_significant:
            self.seen_significant.add(message_id)
            alerts.append(Alert(kind="significant", key=f"message:{message_id}", at=at, count=engagement,
                                message_ids=[message_id],
                                text=f"Общественно значимое сообщение: {engagement} реакций, тема «{topic_group}»"))
        return alerts
