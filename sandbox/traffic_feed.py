"""Feeding simulated citizens into running emulators: new messages spread over the platforms,
edits, deletions and repeats sent where their original went, a bounded number of requests in
flight, counts of what went in. On the feedback platforms citizens also answer back: when an
answer to one of their messages appears, some rate it and some dispute it.

    .venv/bin/python -m sandbox.traffic_feed --url telegram=http://127.0.0.1:8701 --rate 200 --duration 10

(`otklik sandbox --traffic RATE` does the same for the emulators it starts.)"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import time
from collections import Counter

import aiohttp
from pydantic import BaseModel, Field

from sandbox.traffic import (
    FEEDBACK_PLATFORMS,
    CitizenEvent,
    InjectRefused,
    TrafficGenerator,
    TrafficMix,
    deliver,
)

TRACKED = 20_000  # deliveries remembered for the edits and deletions that follow them
# Which field of an emulator's recorded reply names the citizen's item (its `inject` returned "id").
REPLY_ITEM = {"incident_management": "incident_id", "pos": "appeal_id", "kamchatka": "message_id",
              "kuzbass_online": "appeal_id"}
FEEDBACK_TRIES = 3  # a rating the platform refuses (answer not approved yet) is tried on later polls


class FeedStats(BaseModel):
    sent: int = 0
    by_kind: dict[str, int] = Field(default_factory=dict)
    by_label: dict[str, int] = Field(default_factory=dict)  # new messages by what the generator meant
    by_platform: dict[str, int] = Field(default_factory=dict)  # new messages by platform
    skipped: int = 0  # what a platform cannot carry (a rating on a social network, an edit of a lost message)
    refused: int = 0  # the emulator said no (nothing to edit any more, an answer not open to rating yet)
    errors: int = 0  # HTTP failures
    elapsed_s: float = 0.0

    @property
    def rate(self) -> float:
        return self.sent / self.elapsed_s if self.elapsed_s > 0 else 0.0


class Feeder:
    def __init__(
        self,
        generator: TrafficGenerator,
        urls: dict[str, str],
        *,
        concurrency: int = 32,
        feedback_share: float = 0.0,
        feedback_every: float = 5.0,
    ) -> None:
        if not urls:
            raise ValueError("no emulator to feed")
        self.generator = generator
        self.urls = dict(sorted(urls.items()))
        self.platforms = list(self.urls)
        self.feedback_share = feedback_share
        self.feedback_every = feedback_every
        self.stats = FeedStats()
        self._rng = random.Random(f"platforms-{generator.seed}")  # apart from the texts' random stream
        self._slots = asyncio.Semaphore(concurrency)
        self._planned: dict[int, str] = {}  # seq -> platform chosen for a new message
        self._done: dict[int, asyncio.Future[bool]] = {}  # seq -> delivered?
        self._items: dict[tuple[str, object], int] = {}  # (feedback platform, item id) -> seq
        self._counts: dict[str, Counter[str]] = {"kind": Counter(), "label": Counter(), "platform": Counter()}
        self._looked_at: Counter[str] = Counter()  # replies already seen, per feedback platform
        self._pending: list[tuple[str, int, int]] = []  # answered messages to rate: (platform, seq, tries)

    async def run(
        self,
        rate: float,
        *,
        count: int | None = None,
        duration: float | None = None,
        stop: asyncio.Event | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> FeedStats:
        own = session is None
        session = session or aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=10), connector=aiohttp.TCPConnector(limit=64)
        )
        started = time.monotonic()
        tasks: set[asyncio.Task] = set()
        watcher = None
        if self.feedback_share > 0 and FEEDBACK_PLATFORMS & set(self.urls):
            watcher = asyncio.ensure_future(self._watch_answers(session))
        try:
            async for event in self.generator.paced(rate, count=count, duration=duration):
                if stop is not None and stop.is_set():
                    break
                platform = self._platform_for(event)
                if platform is None:
                    self.stats.skipped += 1
                    continue
                await self._slots.acquire()  # back-pressure: a slow emulator slows the feed
                done = asyncio.get_running_loop().create_future()
                self._track(event.seq, platform, done)
                task = asyncio.create_task(self._send(session, event, platform, done))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            if tasks:
                await asyncio.gather(*tasks)
        finally:
            for task in [*tasks, *([watcher] if watcher else [])]:
                task.cancel()
            for task in [*tasks, *([watcher] if watcher else [])]:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if own:
                await session.close()
            self._finish(time.monotonic() - started)
        return self.stats

    def _platform_for(self, event: CitizenEvent) -> str | None:
        first = self._planned.get(event.ref) if event.ref is not None else None
        if event.kind == "new":  # a repeat or duplicate goes where the author wrote first
            return first or self._rng.choice(self.platforms)
        return first

    def _track(self, seq: int, platform: str, done: asyncio.Future[bool]) -> None:
        self._planned[seq] = platform
        self._done[seq] = done
        while len(self._done) > TRACKED:
            oldest = next(iter(self._done))
            self._done.pop(oldest)
            self._planned.pop(oldest, None)

    async def _send(
        self, session: aiohttp.ClientSession, event: CitizenEvent, platform: str, done: asyncio.Future[bool]
    ) -> None:
        ok = False
        try:
            if event.ref is not None:  # after the message it refers to, whose ids it may need
                before = self._done.get(event.ref)
                arrived = await before if before is not None else True
                if not arrived and event.kind != "new":  # nothing to edit, delete or rate
                    self.stats.skipped += 1
                    return
            ok = await self._deliver(session, event, platform)
        finally:
            if not done.done():
                done.set_result(ok)
            self._slots.release()

    async def _deliver(self, session: aiohttp.ClientSession, event: CitizenEvent, platform: str) -> bool:
        try:
            original = self.generator.original(event)
            answer = await deliver(event, self.urls[platform], platform, original=original, session=session)
        except InjectRefused:
            self.stats.refused += 1
            return False
        except (TimeoutError, aiohttp.ClientError, ValueError):
            self.stats.errors += 1
            return False
        if answer is None:
            self.stats.skipped += 1
            return False
        self.stats.sent += 1
        self._counts["kind"][event.kind] += 1
        if event.kind == "new":
            self._counts["label"][event.label] += 1
            self._counts["platform"][platform] += 1
            if platform in FEEDBACK_PLATFORMS and "id" in event.target:
                self._items[(platform, event.target["id"])] = event.seq
        return True

    async def _watch_answers(self, session: aiohttp.ClientSession) -> None:
        while True:
            await asyncio.sleep(self.feedback_every)
            await self.answer_back(session)

    async def answer_back(self, session: aiohttp.ClientSession) -> int:
        """Look at the answers the feedback platforms received since last time; the author of an
        answered message rates or disputes it with probability `feedback_share`. Returns how many
        ratings and disputes went in."""
        for platform in sorted(FEEDBACK_PLATFORMS & set(self.urls)):
            try:
                async with session.get(f"{self.urls[platform]}/_sandbox/replies") as r:
                    replies = (await r.json(content_type=None))["replies"]
            except (TimeoutError, aiohttp.ClientError, ValueError, KeyError):
                continue
            for reply in replies[self._looked_at[platform] :]:
                seq = self._items.get((platform, reply.get(REPLY_ITEM[platform])))
                if (
                    seq is not None
                    and seq in self.generator.history
                    and self._rng.random() < self.feedback_share
                ):
                    self._pending.append((platform, seq, 0))
            self._looked_at[platform] = len(replies)
        sent, retry = 0, []
        for platform, seq, tries in self._pending:
            if seq not in self.generator.history:
                continue
            if await self._deliver(session, self.generator.feedback(seq), platform):
                sent += 1
            elif tries + 1 < FEEDBACK_TRIES:
                retry.append((platform, seq, tries + 1))
        self._pending = retry
        return sent

    def _finish(self, elapsed: float) -> None:
        self.stats.elapsed_s = round(elapsed, 3)
        self.stats.by_kind = dict(self._counts["kind"])
        self.stats.by_label = dict(self._counts["label"])
        self.stats.by_platform = dict(self._counts["platform"])


async def feed(
    urls: dict[str, str],
    rate: float,
    *,
    seed: int = 0,
    shares: TrafficMix | None = None,
    count: int | None = None,
    duration: float | None = None,
    stop: asyncio.Event | None = None,
    concurrency: int = 32,
    feedback_share: float = 0.0,
) -> FeedStats:
    """Simulated citizens writing to the emulators at `urls` (platform -> base URL) at `rate`/s."""
    feeder = Feeder(
        TrafficGenerator(seed=seed, shares=shares),
        urls,
        concurrency=concurrency,
        feedback_share=feedback_share,
    )
    return await feeder.run(rate, count=count, duration=duration, stop=stop)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sandbox.traffic_feed", description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--url",
        action="append",
        required=True,
        metavar="PLATFORM=URL",
        help="an emulator to feed (repeatable), e.g. telegram=http://127.0.0.1:8701",
    )
    ap.add_argument("--rate", type=float, default=5.0, help="events per second (0.1 … thousands)")
    ap.add_argument("--duration", type=float, help="seconds to run (default: until Ctrl-C)")
    ap.add_argument("--count", type=int, help="stop after this many events")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--concurrency", type=int, default=32, help="requests in flight at most")
    ap.add_argument(
        "--feedback", type=float, default=0.3, help="share of answered citizens who rate or dispute (0.3)"
    )
    args = ap.parse_args(argv)
    urls = dict(u.split("=", 1) for u in args.url)
    holder: list[Feeder] = []

    async def run() -> None:
        feeder = Feeder(
            TrafficGenerator(seed=args.seed), urls, concurrency=args.concurrency, feedback_share=args.feedback
        )
        holder.append(feeder)
        await feeder.run(args.rate, count=args.count, duration=args.duration)

    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: the counts so far are still worth printing
        asyncio.run(run())
    if not holder:
        return 130
    stats = holder[0].stats
    print(json.dumps(stats.model_dump() | {"achieved_rate_per_s": round(stats.rate, 1)}, ensure_ascii=False))
    return 0 if stats.errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
