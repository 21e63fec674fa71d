"""The router: topic group and topic with a confidence, location, importance, executors, and
whether the curator must decide by hand. The rules work on day one; a model trained on the
municipality's archive (`otklik router train`), when configured, decides the group and the rules
pick the topic inside it.

`Router.route` is pure given its inputs (text, flags, date): no I/O, no clock unless `when` is
omitted. Profiles name the data files: router/data/profiles/<name>.yaml."""

from __future__ import annotations

import copy
import functools
import math
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from otklik.datafile import load_model
from otklik.exceptions import ConfigError
from router.corrections import CorrectionMemory
from router.executors import Assignment, Executors, load_executors
from router.importance import ImportanceRules, load_importance
from router.location import Gazetteer, LocationMention, load_gazetteer
from router.rubricator import Rubricator, load_rubricator
from router.text import clean, normalize, words

PROFILES = Path(__file__).resolve().parent / "data" / "profiles"
FALLBACK_GROUP = "ЖКХ"  # the commonest group in municipal archives, when no rule matches
EVIDENCE_POINTS = 3.0  # points at which the rules' evidence counts as substantial


class Routing(BaseModel):
    topic_group: str
    topic: str
    confidence: float
    importance: Literal["normal", "high"]
    location: list[LocationMention] = Field(default_factory=list)
    executors: list[str] = Field(default_factory=list)  # department ids, responsible first
    needs_manual: bool = False
    reasons: list[str] = Field(default_factory=list)  # how it was decided, why high, substitutions
    # A model trained on an archive with its own topics and executors answers in its words too.
    archive_topic: str | None = None
    archive_executors: list[str] = Field(default_factory=list)  # responsible first


class RouterProfile(BaseModel):
    """A municipality's router: data files (relative to the profile file) and thresholds."""

    model_config = ConfigDict(extra="forbid")

    name: str = "default"
    timezone: str = "Europe/Moscow"  # absences and seasons are local dates
    rubricator: str | None = None
    executors: str | None = None
    gazetteer: str | None = None
    importance: str | None = None
    model: str | None = None  # a model trained with `otklik router train`
    min_confidence: float = Field(0.35, ge=0, le=1)  # rules: below this the curator routes by hand
    min_model_confidence: float = Field(0.5, ge=0, le=1)  # the model's calibrated probability

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}") from None
        return v


class Decision(BaseModel):
    topic_group: str
    topic: str
    confidence: float
    method: Literal["rules", "model", "platform", "correction"]
    archive_topic: str | None = None
    archive_executors: list[str] = Field(default_factory=list)
    executor: str | None = None  # a curator's correction names the responsible department


def _built(cls: type[BaseModel], values: dict) -> BaseModel:
    """`cls.model_construct(**values)` for values naming every field, at half its cost (~4 µs
    against ~8, twice per message): the router builds its results from values it computed."""
    out = cls.__new__(cls)
    object.__setattr__(out, "__dict__", values)
    object.__setattr__(out, "__pydantic_fields_set__", set(values))
    object.__setattr__(out, "__pydantic_extra__", None)
    object.__setattr__(out, "__pydantic_private__", None)
    return out


MAX_CACHED_ASSIGNMENTS = 4096  # (group, topic, day, places) → executors; a day's worth is far fewer


class Router:
    def __init__(
        self,
        rubricator: Rubricator,
        executors: Executors,
        gazetteer: Gazetteer,
        importance: ImportanceRules,
        *,
        profile: RouterProfile | None = None,
        model=None,
    ) -> None:
        self.rubricator = rubricator
        self.executors = executors
        self.gazetteer = gazetteer
        self.importance = importance
        self.profile = profile or RouterProfile()
        self.model = model
        self.tz = ZoneInfo(self.profile.timezone)
        self.corrections: CorrectionMemory | None = None  # curators' corrections, consulted first
        # Most messages of a batch share the date and a few routes: both are worked out once.
        self._local: tuple[datetime | None, datetime | None] = (None, None)
        self._assigned: dict[tuple, Assignment] = {}
        # A model keeps the rubricator it was trained with; while the data file is unchanged, the
        # router's own rule scores can be handed to it instead of scoring every text twice.
        self._model_shares_rules = model is not None and model.rubricator_data == rubricator.data
        self._check_references()

    def _check_references(self) -> None:
        """Executor routes must name topics and places the other files know."""
        topics = {(t.group, t.name) for t in self.rubricator.topics}
        places = {s.name for s in self.gazetteer.data.settlements}
        for r in self.executors.data.routes:
            if r.topic and (r.group, r.topic) not in topics:
                raise ConfigError(f"executors: route {r.group} / {r.topic}: no such topic in the rubricator")
            if r.location and r.location not in places:
                raise ConfigError(
                    f"executors: route {r.group} @ {r.location}: no such settlement in the gazetteer"
                )

    @classmethod
    def load(cls, profile: str | Path | None = None, model_path: str | Path | None = None) -> Router:
        return _load(str(profile) if profile else None, str(model_path) if model_path else None)

    def with_corrections(self, path: str | Path) -> Router:
        """This router (shared, cached) plus the memory of the curators' corrections in `path`
        (router.corrections): a near-identical message takes the corrected route at once."""
        out = copy.copy(self)
        out.corrections = CorrectionMemory(path)
        return out

    # -- classification --------------------------------------------------------------------
    def rules(self, text: str) -> Decision:
        return self._rules(self.rubricator.scores_for_words(words(normalize(text))))

    def _rules(self, scores: dict[int, float]) -> Decision:
        if not scores:
            return Decision(
                topic_group=FALLBACK_GROUP,
                topic=self._first_topic(FALLBACK_GROUP),
                confidence=0.0,
                method="rules",
            )
        by_group: dict[str, float] = defaultdict(float)
        for idx, s in scores.items():
            by_group[self.rubricator.topics[idx].group] += s
        group, top = max(by_group.items(), key=lambda kv: kv[1])
        share = top / sum(by_group.values())
        evidence = 1.0 - math.exp(-top / EVIDENCE_POINTS)
        topic = self._best_topic(group, scores)
        return _built(Decision, {  # type: ignore[return-value]
            "topic_group": group,
            "topic": topic,
            "confidence": round(share * evidence, 3),
            "method": "rules",
            "archive_topic": None,
            "archive_executors": [],
            "executor": None,
        })

    def _best_topic(self, group: str, scores: dict[int, float]) -> str:
        inside = [i for i in scores if self.rubricator.topics[i].group == group]
        if inside:
            return self.rubricator.topics[max(inside, key=lambda i: scores[i])].name
        return self._first_topic(group)

    def _first_topic(self, group: str) -> str:
        idx = self.rubricator.topic_index(group)
        return self.rubricator.topics[idx].name if idx is not None else group

    def _platform(self, platform_topic: str) -> Decision | None:
        """A feedback platform already classified the message: its topic wins when it names one
        of ours (a group, or a topic)."""
        wanted = platform_topic.strip().lower()
        for ref in self.rubricator.topics:
            if wanted == ref.name.lower():
                return Decision(topic_group=ref.group, topic=ref.name, confidence=1.0, method="platform")
        for ref in self.rubricator.topics:
            if wanted == ref.group.lower():  # the topic inside the group is left to the rules
                return Decision(topic_group=ref.group, topic="", confidence=1.0, method="platform")
        return None

    def classify(self, text: str, *, platform_topic: str | None = None) -> Decision:
        return self._classify_many([text], [normalize(text)], [platform_topic])[0]

    def _classify_many(
        self,
        texts: list[str],
        norms: list[str],
        platform_topics: list[str | None],
        tokens: list[list[str]] | None = None,
    ) -> list[Decision]:
        out: list[Decision | None] = [self._platform(p) if p else None for p in platform_topics]
        # Each text is split and scored by the rules once: the rules' decision, the topic inside a
        # group, the gazetteer and (when the model was trained with the same rubricator) the model
        # all read it.
        if tokens is None:
            tokens = [words(n) for n in norms]
        scores = [self.rubricator.scores_for_words(t) for t in tokens]
        todo = [i for i, d in enumerate(out) if d is None]
        if self.corrections is not None and todo:
            todo = self._corrected(out, todo, tokens)
        if self.model is not None and todo:
            docs = None
            if self._model_shares_rules:
                from router.features import Doc

                docs = [Doc(tokens[i], scores[i], texts[i]) for i in todo]
            predicted = self.model.predict_all([texts[i] for i in todo], docs)  # one batch: numpy per call
            for i, (group, confidence, archive_topic, archive_executors) in zip(todo, predicted, strict=True):
                out[i] = _built(Decision, {
                    "topic_group": group,
                    "topic": self._best_topic(group, scores[i]),
                    "confidence": confidence,
                    "method": "model",
                    "archive_topic": archive_topic,
                    "archive_executors": archive_executors,
                    "executor": None,
                })
        else:
            for i in todo:
                out[i] = self._rules(scores[i])
        for i, d in enumerate(out):
            if d is not None and not d.topic:
                d.topic = self._best_topic(d.topic_group, scores[i])
        return [d for d in out if d is not None]

    def _corrected(self, out: list[Decision | None], todo: list[int], tokens: list[list[str]]) -> list[int]:
        """Fill `out` where a curator corrected a near-identical message; the rest still to do."""
        memory = self.corrections
        assert memory is not None
        memory.refresh()  # another process (the console) may have appended since
        if not len(memory):
            return todo
        rest = []
        for i in todo:
            hit = memory.match(tokens[i])
            if hit is None:
                rest.append(i)
                continue
            fix, similarity = hit
            out[i] = Decision.model_construct(
                topic_group=fix.topic_group,
                topic=fix.topic or "",
                confidence=similarity,
                method="correction",
                archive_topic=None,
                archive_executors=[],
                executor=fix.executor,
            )
        return rest

    # -- routing ---------------------------------------------------------------------------
    def route(
        self,
        text: str,
        *,
        fast_track: bool = False,
        platform_topic: str | None = None,
        when: datetime | None = None,
        platform: str | None = None,
    ) -> Routing:
        cleaned = clean(text)  # once: the rules, importance and the gazetteer all read it
        norm = cleaned.lower().replace("ё", "е")
        tokens = words(norm)
        decision = self._classify_many([text], [norm], [platform_topic], [tokens])[0]
        return self._finish(
            cleaned, norm, tokens, decision, fast_track=fast_track, when=when, platform=platform
        )

    def route_many(self, texts: list[str], *, when: datetime | None = None) -> list[Routing]:
        """Several texts at once: with a model, one prediction call for the batch."""
        cleaned = [clean(t) for t in texts]
        norms = [c.lower().replace("ё", "е") for c in cleaned]
        tokens = [words(n) for n in norms]
        decisions = self._classify_many(texts, norms, [None] * len(texts), tokens)
        return [
            self._finish(c, n, t, d, when=when)
            for c, n, t, d in zip(cleaned, norms, tokens, decisions, strict=True)
        ]

    def _finish(
        self,
        cleaned: str,
        norm: str,
        tokens: list[str],
        decision: Decision,
        *,
        fast_track: bool = False,
        when: datetime | None = None,
        platform: str | None = None,
    ) -> Routing:
        when = when or datetime.now(UTC)
        seen, local = self._local
        if when is not seen:
            local = when.astimezone(self.tz) if when.tzinfo else when  # seasons and absences are local
            self._local = (when, local)
        assert local is not None
        importance, why = self.importance.assess(
            cleaned, fast_track=fast_track, when=local, platform=platform, normalized=norm
        )
        location = self.gazetteer.find(cleaned, cleaned=True, tokens=tokens)
        assignment = self._assign(decision.topic_group, decision.topic, local, location)
        fixed = getattr(decision, "executor", None)
        if decision.method == "correction" and fixed:
            # The curator named the responsible department for this message: it replaces the
            # route's responsible one, the route's co-executors stay beside it; its absence still
            # goes to its substitute (a department of the directory this router's file does not
            # list is taken as named).
            who, absent = self.executors.present(fixed, local.date()) if fixed in self.executors.by_id else (fixed, None)
            subs = [f"{fixed}->{who} ({absent})"] if absent else []
            assignment = assignment.model_copy(update={
                "executors": [who, *(e for e in assignment.executors[1:] if e != who)],
                "substitutions": subs + assignment.substitutions,
            })
        threshold = (
            self.profile.min_model_confidence if decision.method == "model" else self.profile.min_confidence
        )
        needs_manual = decision.method not in ("platform", "correction") and decision.confidence < threshold
        reasons = [decision.method, *why, *(f"substitute:{s}" for s in assignment.substitutions)]
        if not assignment.executors:
            needs_manual = True
            reasons.append("no_executor")
        # Built from values this module computed: validation would only cost time (~15 µs).
        return _built(Routing, {  # type: ignore[return-value]
            "topic_group": decision.topic_group,
            "topic": decision.topic,
            "confidence": decision.confidence,
            "importance": importance,
            "location": location,
            "executors": list(assignment.executors),  # the assignment may be shared (_assign)
            "needs_manual": needs_manual,
            "reasons": reasons,
            "archive_topic": getattr(decision, "archive_topic", None),
            "archive_executors": getattr(decision, "archive_executors", None) or [],
        })

    def _assign(self, group: str, topic: str, local: datetime, location: list[LocationMention]) -> Assignment:
        """Executors.assign, remembered per (group, topic, day, settlements named): read only."""
        places = self.gazetteer.settlements(location)
        key = (group, topic, local.date(), tuple(places))
        hit = self._assigned.get(key)
        if hit is None:
            if len(self._assigned) >= MAX_CACHED_ASSIGNMENTS:
                self._assigned = {}
            hit = self._assigned[key] = self.executors.assign(group, topic, key[2], places)
        return hit


def resolve_profile(profile: str | None) -> Path | None:
    """A profile name (router/data/profiles/<name>.yaml) or a path to a YAML file."""
    if not profile:
        return None
    path = Path(profile)
    if path.suffix in (".yaml", ".yml"):
        return path
    candidate = PROFILES / f"{profile}.yaml"
    if not candidate.exists():
        known = ", ".join(sorted(p.stem for p in PROFILES.glob("*.yaml")))
        raise ConfigError(f"unknown router profile {profile!r}; known: {known}")
    return candidate


@functools.cache
def _load(profile: str | None, model_path: str | None) -> Router:
    path = resolve_profile(profile)
    cfg = load_model(path, RouterProfile) if path else RouterProfile()
    base = path.parent if path else PROFILES

    def rel(p: str | None) -> str | None:
        return str((base / p).resolve()) if p else None

    model = None
    chosen_model = model_path or rel(cfg.model)
    if chosen_model:
        from router.model import TopicModel  # sklearn is imported only when a model is used

        model = TopicModel.load(Path(chosen_model))
    return Router(
        load_rubricator(rel(cfg.rubricator)),
        load_executors(rel(cfg.executors)),
        load_gazetteer(rel(cfg.gazetteer)),
        load_importance(rel(cfg.importance)),
        profile=cfg,
        model=model,
    )
