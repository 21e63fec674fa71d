"""Simulated citizens: realistic Russian messages across the 26 topic groups and the sample
municipality's settlements and streets, with a configurable share of obscene (also disguised),
insulting, threatening, spam and repeat messages, edits and deletions; ratings and disputes of
answers on the feedback platforms. Deterministic by seed. Texts are our own (sandbox/texts)."""

from __future__ import annotations

import functools
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from otklik.datafile import load_model

TEXTS = Path(__file__).resolve().parent / "texts" / "citizens.yaml"
Kind = Literal["new", "edit", "delete", "rate", "dispute"]
Label = Literal["legit", "obscene", "insult", "threat", "spam", "repeat", "duplicate"]


class Texts(BaseModel):
    places: list[str]
    streets: list[str]
    names: list[str]
    legit: dict[str, list[str]]
    abusive: dict[str, list[str]]


class TrafficMix(BaseModel):
    """Shares of each kind of event; the rest are legitimate new messages."""

    obscene: float = 0.05
    insult: float = 0.04
    threat: float = 0.01
    spam: float = 0.04
    duplicate: float = 0.04  # the same author re-posts the same text
    repeat: float = 0.03  # the same author writes again on the same problem, in other words
    edit: float = 0.03
    delete: float = 0.01


class CitizenEvent(BaseModel):
    seq: int
    kind: Kind = "new"
    text: str = ""
    author_id: int
    author_name: str
    label: Label = "legit"
    topic_group: str | None = None
    ref: int | None = None  # the earlier event an edit, deletion, rating or dispute refers to
    platform: str | None = None  # chosen when delivered; edits follow their original
    target: dict = Field(default_factory=dict)  # what the emulator returned (chat_id, message_id, ...)


@functools.cache
def load_texts(path: str | None = None) -> Texts:
    return load_model(Path(path) if path else TEXTS, Texts)


class TrafficGenerator:
    def __init__(self, seed: int = 0, mix: TrafficMix | None = None, texts: Texts | None = None,
                 authors: int = 400) -> None:
        self.rng = random.Random(seed)
        self.mix = mix or TrafficMix()
        self.texts = texts or load_texts()
        self.authors = authors
        self.history: list[CitizenEvent] = []

    def _fill(self, template: str) -> str:
        r = self.rng
        return template.format(place=r.choice(self.texts.places), street=r.choice(self.texts.streets),
                               house=r.randint(1, 60), days=r.randint(2, 9), time=f"{r.randint(7, 22)}:00",
                               object="дом")

    def _author(self) -> tuple[int, str]:
        n = self.rng.randrange(self.authors)
        return 500_000 + n, self.texts.names[n % len(self.texts.names)]

    def _new(self, seq: int, label: Label) -> CitizenEvent:
        author_id, name = self._author()
        if label in self.texts.abusive:
            return CitizenEvent(seq=seq, text=self._fill(self.rng.choice(self.texts.abusive[label])),
                                author_id=author_id, author_name=name, label=label)
        group = self.rng.choice(sorted(self.texts.legit))
        return CitizenEvent(seq=seq, text=self._fill(self.rng.choice(self.texts.legit[group])),
                            author_id=author_id, author_name=name, label="legit", topic_group=group)

    def next_event(self) -> CitizenEvent:
        seq = len(self.history)
        news = [e for e in self.history if e.kind == "new" and e.label == "legit"]
        roll = self.rng.random()
        m = self.mix
        edges = [("obscene", m.obscene), ("insult", m.insult), ("threat", m.threat), ("spam", m.spam),
                 ("duplicate", m.duplicate), ("repeat", m.repeat), ("edit", m.edit), ("delete", m.delete)]
        choice = "legit"
        acc = 0.0
        for name, share in edges:
            acc += share
            if roll < acc:
                choice = name
                break
        if choice in ("duplicate", "repeat", "edit", "delete") and not news:
            choice = "legit"
        if choice == "duplicate":
            orig = self.rng.choice(news)
            event = CitizenEvent(seq=seq, text=orig.text, author_id=orig.author_id, author_name=orig.author_name,
                                 label="duplicate", topic_group=orig.topic_group, ref=orig.seq)
        elif choice == "repeat":
            orig = self.rng.choice(news)
            event = CitizenEvent(seq=seq, text="Повторно пишу: " + orig.text, author_id=orig.author_id,
                                 author_name=orig.author_name, label="repeat", topic_group=orig.topic_group,
                                 ref=orig.seq)
        elif choice in ("edit", "delete"):
            orig = self.rng.choice(news)
            text = orig.text + " Добавлю: ситуация не меняется." if choice == "edit" else ""
            event = CitizenEvent(seq=seq, kind=choice, text=text, author_id=orig.author_id,
                                 author_name=orig.author_name, label=orig.label, topic_group=orig.topic_group,
                                 ref=orig.seq)
        else:
            event = self._new(seq, choice)  # type: ignore[arg-type]
        self.history.append(event)
        return event

    def events(self) -> Iterator[CitizenEvent]:
        while True:
            yield self.next_event()

    def feedback(self, answered_seq: int, *, dispute_share: float = 0.2) -> CitizenEvent:
        """A citizen rates or disputes the answer to an earlier message (feedback platforms)."""
        orig = self.history[answered_seq]
        dispute = self.rng.random() < dispute_share
        event = CitizenEvent(seq=len(self.history), kind="dispute" if dispute else "rate",
                             text="Ничего не сделано, проблема осталась." if dispute else "",
                             author_id=orig.author_id, author_name=orig.author_name, label="legit",
                             ref=answered_seq, platform=orig.platform)
        self.history.append(event)
        return event

    def platform_of(self, event: CitizenEvent, default: str | None) -> str | None:
        if event.ref is not None and event.kind != "new":
            return self.history[event.ref].platform
        return default

    def payload(self, event: CitizenEvent) -> dict:
        """What an emulator's POST /_sandbox/inject takes for this event."""
        body: dict = {"kind": event.kind, "text": event.text, "author_id": event.author_id,
                      "author_name": event.author_name}
        if event.kind != "new" and event.ref is not None:
            body.update(self.history[event.ref].target)
        return body
