"""The router: topic group and topic, confidence, location, importance, executors, and whether
the curator must decide by hand. Rules work on day one; a trained model, when configured, decides
the group and the rules pick the topic inside it."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from router.executors import Executors, load_executors
from router.importance import ImportanceRules, load_importance
from router.location import Gazetteer, LocationMention, load_gazetteer
from router.rubricator import Rubricator, load_rubricator

FALLBACK_GROUP = "ЖКХ"  # the most frequent group in municipal archives, when nothing matches


class Routing(BaseModel):
    topic_group: str
    topic: str
    confidence: float
    importance: Literal["normal", "high"]
    location: list[LocationMention] = Field(default_factory=list)
    executors: list[str] = Field(default_factory=list)
    needs_manual: bool = False
    reasons: list[str] = Field(default_factory=list)


class RouterProfile(BaseModel):
    rubricator: str | None = None
    executors: str | None = None
    gazetteer: str | None = None
    importance: str | None = None
    min_confidence: float = 0.5


class Router:
    def __init__(self, rubricator: Rubricator, executors: Executors, gazetteer: Gazetteer,
                 importance: ImportanceRules, *, min_confidence: float = 0.5, model=None) -> None:
        self.rubricator = rubricator
        self.executors = executors
        self.gazetteer = gazetteer
        self.importance = importance
        self.min_confidence = min_confidence
        self.model = model

    @classmethod
    def load(cls, profile: str | Path | None = None, model_path: str | Path | None = None) -> Router:
        return _load(str(profile) if profile else None, str(model_path) if model_path else None)

    def rules(self, text: str) -> tuple[str, str, float]:
        scores = self.rubricator.scores(text)
        if not scores:
            group = FALLBACK_GROUP
            idx = self.rubricator.topic_index(group, None)
            return group, self.rubricator.topics[idx][1], 0.0
        by_group: dict[str, float] = {}
        for idx, s in scores.items():
            g = self.rubricator.topics[idx][0]
            by_group[g] = by_group.get(g, 0.0) + s
        ranked = sorted(by_group.items(), key=lambda kv: -kv[1])
        group, top = ranked[0]
        total = sum(by_group.values())
        confidence = (top / total) * min(1.0, top / 2.0)  # a clear winner with some evidence
        topic_idx = max((i for i in scores if self.rubricator.topics[i][0] == group), key=lambda i: scores[i])
        return group, self.rubricator.topics[topic_idx][1], round(confidence, 3)

    def _topic_in(self, group: str, text: str) -> str:
        scores = self.rubricator.scores(text)
        inside = [i for i in scores if self.rubricator.topics[i][0] == group]
        if inside:
            return self.rubricator.topics[max(inside, key=lambda i: scores[i])][1]
        idx = self.rubricator.topic_index(group, None)
        return self.rubricator.topics[idx][1] if idx is not None else group

    def route(self, text: str, *, fast_track: bool = False, platform_topic: str | None = None,
              when: datetime | None = None) -> Routing:
        when = when or datetime.now(UTC)
        reasons: list[str] = []
        if self.model is not None:
            group, confidence = self.model.predict([text])[0]
            topic = self._topic_in(group, text)
            reasons.append("model")
        else:
            group, topic, confidence = self.rules(text)
            reasons.append("rules")
        if platform_topic:
            # A regional platform already classified it: its topic wins when it names one of ours.
            for g, t, _ in self.rubricator.topics:
                if platform_topic in (t, g):
                    group, topic, confidence = g, t, 1.0
                    reasons.append("platform_topic")
                    break
        importance, why = self.importance.assess(text, fast_track=fast_track, when=when)
        return Routing(topic_group=group, topic=topic, confidence=confidence, importance=importance,
                       location=self.gazetteer.find(text),
                       executors=self.executors.for_topic(group, topic, when.date()),
                       needs_manual=confidence < self.min_confidence, reasons=reasons + why)


@functools.cache
def _load(profile: str | None, model_path: str | None) -> Router:
    from otklik.datafile import load_model

    cfg = load_model(profile, RouterProfile) if profile else RouterProfile()
    model = None
    if model_path:
        from router.model import TopicModel

        model = TopicModel.load(Path(model_path))
    return Router(load_rubricator(cfg.rubricator), load_executors(cfg.executors), load_gazetteer(cfg.gazetteer),
                  load_importance(cfg.importance), min_confidence=cfg.min_confidence, model=model)
