"""Simulated citizens: realistic Russian messages across the 26 topic groups and a municipality's
settlements and streets, with a configurable share of obscene (also disguised), insulting,
threatening, spam, duplicate and repeat messages, edits and deletions; ratings and disputes of
answers on the feedback platforms. Deterministic by seed; paced from a trickle to thousands per
second. The texts are our own (sandbox/texts/*.yaml).

    gen = TrafficGenerator(seed=1)
    async for event in gen.paced(50, duration=10):       # 50 events/s for 10 s
        await deliver(event, url, "telegram", original=gen.original(event))

`sandbox.traffic_feed.Feeder` drives several emulators at once (and lets citizens rate or dispute
answers); `python -m sandbox.traffic_feed --url telegram=URL --rate 100` does it from a terminal,
e.g. against `otklik sandbox` (which has `--traffic RATE` for the same)."""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, Literal

import aiohttp
from pydantic import BaseModel, Field, model_validator

from sandbox.traffic_texts import (
    TOPIC_GROUPS,
    AbuseTexts,
    CitizenTexts,
    Municipality,
    disguise,
    fake_link,
    fake_phone,
    fill,
    load_abuse_texts,
    load_citizen_texts,
    load_municipality,
    person_name,
    typed_on_a_phone,
)

Kind = Literal["new", "edit", "delete", "rate", "dispute"]
Label = Literal["legit", "obscene", "obscene_disguised", "insult", "threat", "spam", "repeat", "duplicate"]
# Only the regional feedback platforms let a citizen rate or dispute an answer.
FEEDBACK_PLATFORMS = frozenset({"incident_management", "pos", "kamchatka", "kuzbass_online"})
# How often each group comes up: roads, housing and yards dominate any municipality's mail.
DEFAULT_GROUP_WEIGHTS = {g: 1.0 for g in TOPIC_GROUPS} | {
    "Дороги": 4.0,
    "ЖКХ": 4.0,
    "Благоустройство": 3.5,
    "Мусор/Свалки/ТКО": 2.0,
    "Электроснабжение": 2.0,
    "Общественный транспорт": 1.5,
    "Образование": 1.5,
    "Здравоохранение/Медицина": 1.5,
}
RECENT = 1000  # edits, deletions, repeats and feedback refer to one of the last RECENT messages
HISTORY_LIMIT = 100_000  # events kept for `original()`; a long run at thousands/s must not grow forever


class TrafficMix(BaseModel):
    """Shares of each kind of event; what is left over is ordinary new messages. Ratings and
    disputes are off by default: they only make sense once an answer exists (see `feedback`)."""

    obscene: float = Field(0.03, ge=0, le=1)
    obscene_disguised: float = Field(0.03, ge=0, le=1)
    insult: float = Field(0.04, ge=0, le=1)
    threat: float = Field(0.01, ge=0, le=1)
    spam: float = Field(0.04, ge=0, le=1)
    duplicate: float = Field(0.04, ge=0, le=1)  # the same author re-posts the same text
    repeat: float = Field(0.03, ge=0, le=1)  # the same author, the same problem, other words
    edit: float = Field(0.03, ge=0, le=1)
    delete: float = Field(0.01, ge=0, le=1)
    rate: float = Field(0.0, ge=0, le=1)
    dispute: float = Field(0.0, ge=0, le=1)
    groups: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_GROUP_WEIGHTS))

    @model_validator(mode="after")
    def _sane(self) -> TrafficMix:
        total = sum(self.shares().values())
        if total > 1.0 + 1e-9:
            raise ValueError(f"the shares add up to {total:.3f}, more than 1")
        unknown = sorted(set(self.groups) - set(TOPIC_GROUPS))
        if unknown or not any(w > 0 for w in self.groups.values()):
            raise ValueError(f"groups must be some of the 26 topic groups with a positive weight: {unknown}")
        return self

    def shares(self) -> dict[str, float]:
        return {k: v for k, v in self.model_dump(exclude={"groups"}).items()}


class CitizenEvent(BaseModel):
    seq: int
    kind: Kind = "new"
    text: str = ""
    author_id: int
    author_name: str
    label: Label = "legit"
    topic_group: str | None = None  # the group the author wrote about (None: spam, pure abuse)
    ref: int | None = None  # the earlier event an edit, deletion, repeat, rating or dispute refers to
    rating: int | None = None  # 1..5 for kind=rate
    platform: str | None = None  # set when delivered; edits go where their original went
    target: dict[str, Any] = Field(default_factory=dict)  # the ids the emulator returned (chat_id, ...)


class TrafficGenerator:
    def __init__(
        self,
        seed: int = 0,
        shares: TrafficMix | None = None,
        municipality: Municipality | None = None,
        *,
        authors: int = 400,
        texts: CitizenTexts | None = None,
        abuse: AbuseTexts | None = None,
    ) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.shares = shares or TrafficMix()
        self.town = municipality or load_municipality()
        self.texts = texts or load_citizen_texts()
        self.abuse = abuse or load_abuse_texts()
        self.history: dict[int, CitizenEvent] = {}
        self._slots: dict[int, dict[str, Any]] = {}  # the place etc. of each message, for repeats
        self._recent: deque[int] = deque(maxlen=RECENT)  # legit new messages still on the platform
        self._seq = 0
        self._kinds = list(self.shares.shares().items())
        self._groups = [g for g, w in self.shares.groups.items() if w > 0]
        self._group_weights = [self.shares.groups[g] for g in self._groups]
        self._places = self.town.settlements
        self._place_weights = [s.weight for s in self._places]
        names_rng = random.Random(f"authors-{seed}")
        self.authors = [
            (500_000 + n, person_name(self.texts.people, names_rng)) for n in range(max(1, authors))
        ]

    # -- events ----------------------------------------------------------------------------------
    def events(self) -> Iterator[CitizenEvent]:
        while True:
            yield self.next_event()

    def next_event(self) -> CitizenEvent:
        roll, acc, choice = self.rng.random(), 0.0, "legit"
        for kind, share in self._kinds:
            acc += share
            if roll < acc:
                choice = kind
                break
        if choice in ("duplicate", "repeat", "edit", "delete", "rate", "dispute") and not self._recent:
            choice = "legit"
        builder = {
            "duplicate": self._duplicate,
            "repeat": self._repeat,
            "edit": self._edit,
            "delete": self._delete,
            "rate": self._rate,
            "dispute": self._dispute,
        }.get(choice)
        event = builder() if builder else self._new(choice)
        return self._remember(event)

    def feedback(self, answered_seq: int, *, dispute_share: float = 0.2) -> CitizenEvent:
        """A citizen rates or disputes the answer to an earlier message (feedback platforms)."""
        orig = self.history[answered_seq]
        event = self._dispute(orig) if self.rng.random() < dispute_share else self._rate(orig)
        event.platform = orig.platform
        return self._remember(event)

    def original(self, event: CitizenEvent) -> CitizenEvent | None:
        """The message an edit, deletion, repeat, rating or dispute refers to (if still kept)."""
        return self.history.get(event.ref) if event.ref is not None else None

    def _remember(self, event: CitizenEvent) -> CitizenEvent:
        self.history[event.seq] = event
        if len(self.history) > HISTORY_LIMIT:
            oldest = next(iter(self.history))
            del self.history[oldest]
            self._slots.pop(oldest, None)
            if self._recent and self._recent[0] == oldest:  # _recent is in seq order
                self._recent.popleft()
        return event

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq - 1

    def _author(self) -> tuple[int, str]:
        # A few people write a lot, most write once or twice.
        return self.authors[int(len(self.authors) * self.rng.random() ** 2)]

    def _pick_recent(self) -> CitizenEvent:
        return self.history[self._recent[int(len(self._recent) * (1 - self.rng.random() ** 2))]]

    def _place_slots(self) -> dict[str, Any]:
        r = self.rng
        place = r.choices(self._places, self._place_weights)[0]
        street = r.choice(self.town.streets)
        return {
            "in_place": place.in_form,
            "from_place": place.from_form,
            "place_gen": place.gen_form,
            "place": place.name,
            "district_gen": self.town.name_gen,
            "street": f"ул. {street.name}",
            "on_street": r.choice(street.on_forms()),
            "house": r.randint(1, 60),
            "since": r.choice(self.texts.since),
            "when": r.choice(self.texts.when),
            "route": f"№ {r.randint(101, 129)}",
        }

    def _abuse_slots(self, disguised: bool) -> dict[str, Any]:
        r, a = self.rng, self.abuse

        def mat(words: list[str]) -> Callable[[], str]:
            def word() -> str:
                plain = r.choice(words)
                return disguise(plain, r) if disguised else plain

            return word

        return {
            "mat_interj": mat(a.mat.interj),
            "mat_noun": mat(a.mat.noun),
            "mat_verb": mat(a.mat.verb),
            "official": lambda: r.choice(a.officials),
            "officials": lambda: r.choice(a.officials_plural),
            "insult_word": lambda: r.choice(a.insult_word),
            "insult_words": lambda: r.choice(a.insult_words),
            "money": lambda: r.choice((3000, 5000, 8000, 15000, 50000)),
            "percent": lambda: r.choice((20, 30, 50)),
            "phone": lambda: fake_phone(r),
            "link": lambda: fake_link(r),
        }

    def _legit_text(self, group: str, slots: dict[str, Any], *, dress: bool = True) -> str:
        r = self.rng
        # The template is remembered with the slots, so a repeat restates the same problem.
        template = slots.setdefault("template", r.choice(self.texts.legit[group]))
        body = fill(template, slots, r)
        if not dress:
            return body
        if r.random() < 0.35:
            body = f"{r.choice(self.texts.openings)} {body}"
        if r.random() < 0.35:
            body = f"{body} {r.choice(self.texts.closings)}"
        return typed_on_a_phone(body, r)

    def _new(self, label: str) -> CitizenEvent:
        r = self.rng
        seq, (author_id, name) = self._next_seq(), self._author()
        slots = self._place_slots()
        group: str | None = r.choices(self._groups, self._group_weights)[0]
        if label == "legit":
            text = self._legit_text(group, slots)
        elif label == "spam":
            group = None
            text = fill(r.choice(self.abuse.spam), slots | self._abuse_slots(False), r)
        else:
            kind = "obscene" if label.startswith("obscene") else label
            abuse_slots = slots | self._abuse_slots(disguised=label == "obscene_disguised")
            if r.random() < 0.5:  # a real complaint with words that are not allowed
                tail = fill(r.choice(getattr(self.abuse, f"{kind}_tails")), abuse_slots, r)
                text = f"{self._legit_text(group, slots, dress=False)} {tail}"
            else:
                group = None
                text = fill(r.choice(getattr(self.abuse, kind)), abuse_slots, r)
        event = CitizenEvent(
            seq=seq, text=text, author_id=author_id, author_name=name, label=label, topic_group=group
        )
        if label == "legit":
            self._slots[seq] = slots
            self._recent.append(seq)
        return event

    def _duplicate(self) -> CitizenEvent:
        orig = self._pick_recent()
        text = (
            orig.text
            if self.rng.random() < 0.7
            else orig.text + self.rng.choice((" !!!", " Ау!", " Ответьте!"))
        )
        return CitizenEvent(
            seq=self._next_seq(),
            text=text,
            author_id=orig.author_id,
            author_name=orig.author_name,
            label="duplicate",
            topic_group=orig.topic_group,
            ref=orig.seq,
        )

    def _repeat(self) -> CitizenEvent:
        orig = self._pick_recent()
        # The same template and place; the alternatives are chosen anew, so the words differ.
        slots = self._slots.get(orig.seq) or self._place_slots()
        body = self._legit_text(orig.topic_group, slots, dress=False)
        text = f"{self.rng.choice(self.texts.repeat_openings)} {body}"
        return CitizenEvent(
            seq=self._next_seq(),
            text=text,
            author_id=orig.author_id,
            author_name=orig.author_name,
            label="repeat",
            topic_group=orig.topic_group,
            ref=orig.seq,
        )

    def _edit(self) -> CitizenEvent:
        orig = self._pick_recent()
        slots = self._slots.get(orig.seq) or self._place_slots()
        addition = fill(self.rng.choice(self.texts.edit_additions), slots, self.rng)
        return CitizenEvent(
            seq=self._next_seq(),
            kind="edit",
            text=f"{orig.text} {addition}",
            author_id=orig.author_id,
            author_name=orig.author_name,
            label=orig.label,
            topic_group=orig.topic_group,
            ref=orig.seq,
        )

    def _delete(self) -> CitizenEvent:
        orig = self._pick_recent()
        self._recent.remove(orig.seq)  # a deleted message is edited or repeated no more
        return CitizenEvent(
            seq=self._next_seq(),
            kind="delete",
            author_id=orig.author_id,
            author_name=orig.author_name,
            label=orig.label,
            topic_group=orig.topic_group,
            ref=orig.seq,
        )

    def _rate(self, orig: CitizenEvent | None = None) -> CitizenEvent:
        orig = orig or self._pick_recent()
        stars = self.rng.choices((5, 4, 3, 2, 1), (40, 25, 15, 10, 10))[0]
        return CitizenEvent(
            seq=self._next_seq(),
            kind="rate",
            rating=stars,
            text=fill(self.rng.choice(self.texts.ratings[stars]), {}, self.rng)
            if self.texts.ratings.get(stars)
            else "",
            author_id=orig.author_id,
            author_name=orig.author_name,
            topic_group=orig.topic_group,
            ref=orig.seq,
        )

    def _dispute(self, orig: CitizenEvent | None = None) -> CitizenEvent:
        orig = orig or self._pick_recent()
        return CitizenEvent(
            seq=self._next_seq(),
            kind="dispute",
            text=fill(self.rng.choice(self.texts.disputes), {}, self.rng),
            author_id=orig.author_id,
            author_name=orig.author_name,
            topic_group=orig.topic_group,
            ref=orig.seq,
        )

    # -- pacing ----------------------------------------------------------------------------------
    async def paced(
        self,
        rate_per_s: float,
        *,
        count: int | None = None,
        duration: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        tick: float = 0.01,
    ) -> AsyncIterator[CitizenEvent]:
        """Events on a schedule of `rate_per_s` (0.1 … thousands). Event i is due at i/rate from the
        start; whatever is due is yielded at once and then we sleep until the next one — at least
        `tick`, so at high rates events come in small bursts instead of a sleep per event. A
        consumer that falls behind gets the backlog without sleeping."""
        if rate_per_s <= 0:
            raise ValueError("rate_per_s must be positive")
        start, emitted = clock(), 0
        limit = count if count is not None else float("inf")
        if duration is not None:  # the events due before `duration` has passed
            limit = min(limit, max(0, math.ceil(duration * rate_per_s - 1e-9)))
        while emitted < limit:
            due = min(limit, int((clock() - start) * rate_per_s) + 1)
            while emitted < due:
                yield self.next_event()
                emitted += 1
            if emitted >= limit:
                return
            delay = start + emitted / rate_per_s - clock()
            await sleep(max(delay, tick) if delay > 0 else 0)

    # -- compatibility with the demo's feeder (otklik/demo/traffic.py) --------------------------
    def platform_of(self, event: CitizenEvent, default: str | None) -> str | None:
        """Where an event goes: a new message to `default`, unless it repeats or duplicates an
        earlier one (the author writes again where they wrote first); edits, deletions and
        feedback after their original (ratings and disputes only on feedback platforms)."""
        orig = self.original(event)
        if event.kind == "new":
            return orig.platform if orig is not None and orig.platform else default
        platform = orig.platform if orig else None
        if event.kind in ("rate", "dispute") and platform not in FEEDBACK_PLATFORMS:
            return None
        return platform

    def payload(self, event: CitizenEvent) -> dict[str, Any]:
        """The body of `POST /_sandbox/inject` for this event, with each emulator's default target."""
        body = inject_payload(event, event.platform or "", self.original(event), spread=False)
        return body if body is not None else base_payload(event)


# -- delivery to the emulators -----------------------------------------------------------------
# Where a new message appears on each platform, with weights (see each emulator's `inject`; VK's
# emulator picks wall comment / reply / post / board / private message by its own seeded mix).
TARGETS: dict[str, list[tuple[dict[str, Any], float]]] = {
    "telegram": [({"chat": "private"}, 0.5), ({"chat": "group"}, 0.3), ({"chat": "channel_comment"}, 0.2)],
    "ok": [({"target": "comment"}, 0.75), ({"target": "chat"}, 0.2), ({"target": "topic"}, 0.05)],
    "max": [({"chat": "dialog"}, 0.5), ({"chat": "chat"}, 0.3), ({"chat": "channel_comment"}, 0.2)],
}
UNSUPPORTED: dict[str, frozenset[str]] = {"pos": frozenset({"delete"})}  # ПОС appeals are not withdrawn
NOT_A_TARGET = frozenset(
    {"update_id", "delivered", "ok", "error", "kind", "text", "author_id", "author_name", "rating"}
)


class InjectRefused(ValueError):
    """The emulator answered the injection with an error (no such message, no answer to rate...)."""


def base_payload(event: CitizenEvent) -> dict[str, Any]:
    return {
        "kind": event.kind,
        "text": event.text,
        "author_id": event.author_id,
        "author_name": event.author_name,
    }


def _spread(seq: int) -> float:
    """A well-spread number in [0, 1) from the sequence number (golden-ratio sequence): targets
    are chosen deterministically without touching the generator's random stream."""
    return (seq * 0.6180339887498949) % 1.0


def _platform_fields(event: CitizenEvent, platform: str, original: CitizenEvent | None) -> dict[str, Any]:
    """What a regional platform knows on arrival: its own topic classification, repeats."""
    out: dict[str, Any] = {}
    if platform == "incident_management" and event.topic_group:
        out["topic_group"] = event.topic_group
    if platform == "kamchatka":
        if event.topic_group:
            out["group"] = event.topic_group
        if event.label == "repeat" and original is not None and "id" in original.target:
            out["repeat_of"] = original.target["id"]
    return out


def inject_payload(
    event: CitizenEvent, platform: str, original: CitizenEvent | None = None, *, spread: bool = True
) -> dict[str, Any] | None:
    """The body of `POST /_sandbox/inject`, or None when the platform cannot carry the event
    (a rating on a social network, a withdrawn ПОС appeal, an edit of a message that never arrived)."""
    body = base_payload(event)
    if event.kind == "new":
        choices = TARGETS.get(platform, [])
        if choices:
            target = choices[0][0]
            if spread:
                roll, acc = _spread(event.seq) * sum(w for _, w in choices), 0.0
                for candidate, weight in choices:
                    acc += weight
                    if roll < acc:
                        target = candidate
                        break
            body = {**target, **body}
        return {**body, **_platform_fields(event, platform, original)}
    if event.kind in ("rate", "dispute") and platform not in FEEDBACK_PLATFORMS:
        return None
    if event.kind in UNSUPPORTED.get(platform, ()):
        return None
    if original is None or not original.target:
        return None
    body = {**original.target, **body}
    if event.rating is not None:
        body["rating"] = event.rating
    return body


async def deliver(
    event: CitizenEvent,
    emulator_base_url: str,
    platform: str,
    *,
    original: CitizenEvent | None = None,
    session: aiohttp.ClientSession | None = None,
    spread: bool = True,
) -> dict[str, Any] | None:
    """Post the event to the emulator's `POST /_sandbox/inject`; remember where a new message
    landed (event.target) so its edits, deletion and feedback can find it. Returns the emulator's
    answer, or None when this platform cannot carry the event. Raises aiohttp.ClientError, and
    InjectRefused when the emulator answers with an error.

    aiohttp rather than httpx here: the feed must reach thousands of requests per second, and
    httpx's connection pool costs several times more per request under that concurrency."""
    body = inject_payload(event, platform, original, spread=spread)
    if body is None:
        return None
    own = session is None
    session = session or aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
    try:
        async with session.post(f"{emulator_base_url.rstrip('/')}/_sandbox/inject", json=body) as r:
            r.raise_for_status()
            data = await r.json(content_type=None)
    finally:
        if own:
            await session.close()
    if not isinstance(data, dict):
        raise InjectRefused(f"{platform}: unexpected answer {str(data)[:100]}")
    if data.get("error"):
        raise InjectRefused(f"{platform}: {data['error']}")
    event.platform = platform
    if event.kind == "new":
        event.target = {
            k: v for k, v in data.items() if k not in NOT_A_TARGET and isinstance(v, str | int | float | bool)
        }
    return data
