"""Feeding simulated citizens into the emulators at a steady rate, counting what went in."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import Counter

import httpx

from sandbox.traffic import TrafficGenerator

log = logging.getLogger("otklik.demo.traffic")


# What an emulator returns about a created message that an edit or deletion must name again.
TARGET_KEYS = ("chat_id", "message_id", "id", "owner_id", "post_id", "comment_id", "peer_id",
               "conversation_message_id", "topic_id")


class TrafficFeeder:
    def __init__(self, emulators: dict[str, str], *, seed: int, rate: float) -> None:
        self.emulators = emulators
        self.rate = rate
        self.generator = TrafficGenerator(seed=seed)
        self.injected: Counter[str] = Counter()  # new citizen messages per platform
        self.events: Counter[str] = Counter()  # every event by kind (new, edit, delete, ...)
        self.labels: Counter[str] = Counter()  # what the generator meant (legit, obscene, spam, ...)
        self.errors = 0
        self.lock = threading.Lock()

    def run(self, stop: threading.Event, duration: float) -> None:
        platforms = itertools.cycle(sorted(self.emulators))
        interval = 1.0 / self.rate if self.rate > 0 else 1.0
        started = time.monotonic()
        with httpx.Client(timeout=5) as client:
            for i, event in enumerate(self.generator.events()):
                if stop.is_set() or time.monotonic() - started >= duration:
                    return
                platform = next(platforms) if event.kind == "new" else None
                self._deliver(client, event, platform)
                # Pace by schedule, not by sleeping a fixed gap after each post.
                delay = started + (i + 1) * interval - time.monotonic()
                if delay > 0:
                    stop.wait(delay)

    def _deliver(self, client: httpx.Client, event, platform: str | None) -> None:
        try:
            target = self.generator.platform_of(event, default=platform)
            if target not in self.emulators:
                return
            event.platform = target
            r = client.post(f"{self.emulators[target]}/_sandbox/inject", json=self.generator.payload(event))
            r.raise_for_status()
            if event.kind == "new":
                event.target = {k: v for k, v in r.json().items() if k in TARGET_KEYS}
        except httpx.HTTPError:
            with self.lock:
                self.errors += 1
            return
        with self.lock:
            self.events[event.kind] += 1
            if event.kind == "new":
                self.injected[target] += 1
                self.labels[event.label] += 1
