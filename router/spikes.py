"""Spikes of activity and socially significant messages (000 §25, 001 §23, 002 §19, 003 §17: an
immediate report to the head). Pure and in memory: feed it events, it returns alerts at once.

A *spike*: the messages on one topic group, or about one place, inside a sliding window reach
both `min_count` and `factor` × their usual number per window. The usual number is an
exponentially weighted average of past windows (half-life `baseline_half_life`, corrected for
the windows before the key first appeared), so the state
per key is a few numbers plus the timestamps inside the current window — small and bounded
(`max_keys` keys, least recently active forgotten first; at most `max_window_events` timestamps
a key). A *significant* message: one whose engagement (likes, comments, reposts) reaches
`engagement_min` and `engagement_factor` × the typical engagement seen so far.

No spike is reported during the detector's first `warmup` of events: every usual number starts
at zero. After a restart, replay the last days' messages through `observe` and drop the alerts."""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

MAX_IDS_IN_ALERT = 20


class Alert(BaseModel):
    kind: Literal["spike", "significant"]
    key: str  # "topic:<group>", "place:<name>" or "message:<id>"
    at: datetime
    topic_group: str | None = None
    location: str | None = None
    count: int = 0  # messages in the window (spike) or the engagement (significant)
    baseline: float = 0.0  # the usual number per window, or the typical engagement
    window_minutes: int = 0
    message_ids: list[str] = Field(default_factory=list)
    text: str  # ready to show or send, in Russian


@dataclass
class _KeyState:
    times: deque = field(default_factory=deque)  # (at, message_id) inside the window
    bucket_start: datetime | None = None  # the current baseline bucket (one window long)
    bucket_count: int = 0
    average: float = 0.0  # messages per window, exponentially weighted over past buckets
    weight: float = 0.0  # the weights' sum so far, to correct the average's start at zero
    last_alert: datetime | None = None
    newest: datetime | None = None  # events may arrive slightly out of order


class SpikeDetector:
    def __init__(
        self,
        *,
        window: timedelta = timedelta(hours=1),
        min_count: int = 5,
        factor: float = 3.0,
        baseline_half_life: timedelta = timedelta(days=3),
        cooldown: timedelta = timedelta(hours=3),
        warmup: timedelta = timedelta(hours=6),
        engagement_min: int = 100,
        engagement_factor: float = 10.0,
        max_keys: int = 2000,
        max_window_events: int = 500,
        remember_ids: int = 10_000,
    ) -> None:
        if window <= timedelta(0) or min_count < 1 or factor <= 0:
            raise ValueError("window must be positive, min_count at least 1, factor positive")
        self.window = window
        self.min_count = min_count
        self.factor = factor
        self.cooldown = cooldown
        self.warmup = warmup
        self._first_event: datetime | None = None
        self.engagement_min = engagement_min
        self.engagement_factor = engagement_factor
        self.max_keys = max_keys
        self.max_window_events = max_window_events
        self.remember_ids = remember_ids
        # Weight a bucket keeps after one more window: a half-life of `baseline_half_life`.
        self._decay = 0.5 ** (window / baseline_half_life)
        self._keys: OrderedDict[str, _KeyState] = OrderedDict()
        self._seen_ids: OrderedDict[str, int] = OrderedDict()  # message id -> highest engagement seen
        self._significant: set[str] = set()
        self._typical_engagement = 0.0
        self._engagement_n = 0

    # -- state size, for the tests and the metrics --------------------------------------------
    @property
    def size(self) -> int:
        return len(self._keys) + len(self._seen_ids) + sum(len(s.times) for s in self._keys.values())

    def baseline(self, key: str) -> float:
        s = self._keys.get(key)
        return self._usual(s) if s else 0.0

    @staticmethod
    def _usual(s: _KeyState) -> float:
        return s.average / s.weight if s.weight > 0 else 0.0

    # -- events ------------------------------------------------------------------------------
    def observe(
        self,
        at: datetime,
        topic_group: str,
        location: str | None,
        engagement: int = 0,
        message_id: str | None = None,
    ) -> list[Alert]:
        alerts: list[Alert] = []
        if self._first_event is None or at < self._first_event:
            self._first_event = at
        first_time = True
        if message_id is not None:
            first_time = message_id not in self._seen_ids
            self._remember(message_id, engagement)
        if first_time:  # an edited or re-processed message does not count twice
            for key, label, place in (
                (f"topic:{topic_group}", f"тема «{topic_group}»", None),
                (f"place:{location}", f"место: {location}", location),
            ):
                if key.startswith("place:") and not location:
                    continue
                alert = self._count(key, label, at, message_id, topic_group, place)
                if alert:
                    alerts.append(alert)
        alert = self._engagement(at, topic_group, location, engagement, message_id, first_time)
        if alert:
            alerts.append(alert)
        return alerts

    def _remember(self, message_id: str, engagement: int) -> None:
        previous = self._seen_ids.pop(message_id, 0)
        self._seen_ids[message_id] = max(previous, engagement)
        while len(self._seen_ids) > self.remember_ids:
            old, _ = self._seen_ids.popitem(last=False)
            self._significant.discard(old)

    def _state(self, key: str) -> _KeyState:
        state = self._keys.pop(key, None) or _KeyState()
        self._keys[key] = state  # most recently active last
        while len(self._keys) > self.max_keys:
            self._keys.popitem(last=False)
        return state

    def _advance_baseline(self, s: _KeyState, at: datetime) -> None:
        """Close finished buckets into the average (empty ones count as zero)."""
        if s.bucket_start is None:
            s.bucket_start = at
            return
        elapsed = (at - s.bucket_start) // self.window
        if elapsed <= 0:
            return
        d = self._decay
        s.average = s.average * d + s.bucket_count * (1 - d)
        s.weight = s.weight * d + (1 - d)
        # the empty windows in between count as zero messages
        s.average *= d ** (elapsed - 1)
        s.weight = s.weight * d ** (elapsed - 1) + (1 - d ** (elapsed - 1))
        s.bucket_start += self.window * elapsed
        s.bucket_count = 0

    def _count(
        self, key: str, label: str, at: datetime, message_id: str | None, group: str, place: str | None
    ) -> Alert | None:
        s = self._state(key)
        if s.newest is not None and at <= s.newest - self.window:
            return None  # arrived after its window had passed: too late to be part of a spike
        self._advance_baseline(s, at)
        s.bucket_count += 1
        s.times.append((at, message_id))
        s.newest = at if s.newest is None else max(s.newest, at)
        while s.times and s.times[0][0] <= s.newest - self.window:
            s.times.popleft()
        while len(s.times) > self.max_window_events:
            s.times.popleft()
        count = len(s.times)
        usual = self._usual(s)
        if count < max(self.min_count, self.factor * usual):
            return None
        if at - self._first_event < self.warmup:
            return None
        if s.last_alert is not None and at - s.last_alert < self.cooldown:
            return None
        s.last_alert = at
        ids = [m for _, m in s.times if m][-MAX_IDS_IN_ALERT:]
        minutes = int(self.window.total_seconds() // 60)
        usual_text = f", обычно около {usual:.1f}" if usual >= 0.05 else ""
        return Alert(
            kind="spike",
            key=key,
            at=at,
            topic_group=group,
            location=place,
            count=count,
            baseline=round(usual, 3),
            window_minutes=minutes,
            message_ids=ids,
            text=f"Всплеск активности: {label} — {count} сообщений за {minutes} мин{usual_text}",
        )

    def _engagement(
        self,
        at: datetime,
        group: str,
        location: str | None,
        engagement: int,
        message_id: str | None,
        first_time: bool,
    ) -> Alert | None:
        typical = self._typical_engagement
        if first_time:  # the typical engagement learns from each message once
            self._engagement_n += 1
            rate = max(1 / self._engagement_n, 0.01)  # a plain mean first, then a slow moving average
            self._typical_engagement += rate * (math.log1p(max(engagement, 0)) - self._typical_engagement)
        if not message_id or message_id in self._significant or engagement < self.engagement_min:
            return None
        usual = math.expm1(typical)
        if engagement < self.engagement_factor * usual:
            return None
        self._significant.add(message_id)
        where = f", место: {location}" if location else ""
        return Alert(
            kind="significant",
            key=f"message:{message_id}",
            at=at,
            topic_group=group,
            location=location,
            count=engagement,
            baseline=round(usual, 2),
            message_ids=[message_id],
            text=f"Общественно значимое сообщение: {engagement} реакций (обычно около {usual:.0f}), "
            f"тема «{group}»{where}",
        )
