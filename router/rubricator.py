"""The rubricator: «Группа тем» → «Тема» of the regional management centres (26 groups), with the
words that point at each topic. Loaded from YAML and compiled into lookup tables, so scoring a
message costs a few dictionary lookups per word whatever the number of topics.

Keyword syntax (router/data/rubricator.yaml):
- `яма` — a lemma: matches every form of its paradigm («ямы», «ям», «ямой»);
- `=ук` — this exact word only (short abbreviations that would otherwise inflect wrongly);
- `ливнев*` — any word starting with the prefix (a word family, or words pymorphy3 does not know);
- `детская площадка` — a phrase: each word as above, in this order, at most one word between.

A topic has `keywords` (a point each, a phrase two) and `context` words (half a point): words that
suggest the topic but often only say where the problem is («около школы», «возле остановки»).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

from pydantic import BaseModel, Field, field_validator

from otklik.datafile import load_model
from router.text import normalize, word_forms, words

DATA = Path(__file__).resolve().parent / "data" / "rubricator.yaml"
GROUPS = (
    "Безопасность",
    "Благоустройство",
    "Газ и топливо",
    "Государственная собственность",
    "Дороги",
    "ЖКХ",
    "Здравоохранение/Медицина",
    "Коронавирус",
    "Культура",
    "МФЦ «Мои документы»",
    "Мобилизация",
    "Мусор/Свалки/ТКО",
    "Образование",
    "Общественный транспорт",
    "Памятники и объекты культурного наследия",
    "Погребение и похоронное дело",
    "Роспотребнадзор",
    "Связь и телевидение",
    "Социальное обслуживание и защита",
    "Спецпроекты",
    "Строительство и архитектура",
    "Торговля",
    "Физическая культура и спорт",
    "Экология",
    "Экономика и бизнес",
    "Электроснабжение",
)
PHRASE_POINTS = 2.0  # a phrase is more specific than any of its words
CONTEXT_POINTS = 0.5
MAX_GAP = 1  # words allowed between the words of a phrase («детской игровой площадки»)
PREFIX_MIN = 3
NOTHING: tuple[tuple[int, ...], tuple[int, ...]] = ((), ())  # a word that is no keyword and anchors no phrase
MAX_PLANS = 500_000


def _check_keyword(kw: str) -> str:
    kw = " ".join(kw.lower().replace("ё", "е").split())
    if not kw:
        raise ValueError("empty keyword")
    for part in kw.split(" "):
        body = part.removeprefix("=").removesuffix("*")
        if not body or not all(ch.isalnum() for ch in body):
            raise ValueError(
                f"keyword {kw!r}: {part!r} must be letters or digits, optionally =word or prefix*"
            )
        if part.endswith("*") and len(body) < PREFIX_MIN:
            raise ValueError(f"keyword {kw!r}: a prefix needs at least {PREFIX_MIN} letters")
    return kw


class Topic(BaseModel):
    name: str = Field(min_length=1)
    keywords: list[str] = Field(default_factory=list)
    context: list[str] = Field(default_factory=list)
    weight: float = Field(1.0, gt=0)  # scales every keyword of the topic

    @field_validator("keywords", "context")
    @classmethod
    def _keywords(cls, v: list[str]) -> list[str]:
        return [_check_keyword(k) for k in v]


class Group(BaseModel):
    name: str
    topics: list[Topic] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _known_group(cls, v: str) -> str:
        if v not in GROUPS:
            raise ValueError(
                f"{v!r} is not one of the 26 topic groups of the regional centres: {', '.join(GROUPS)}"
            )
        return v

    @field_validator("topics")
    @classmethod
    def _unique_topics(cls, topics: list[Topic]) -> list[Topic]:
        names = [t.name for t in topics]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"topics listed twice in the group: {dupes}")
        return topics


class RubricatorFile(BaseModel):
    groups: list[Group] = Field(min_length=1)

    @field_validator("groups")
    @classmethod
    def _unique(cls, groups: list[Group]) -> list[Group]:
        names = [g.name for g in groups]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"groups listed twice: {dupes}")
        return groups


class TopicRef(NamedTuple):
    group: str
    name: str
    weight: float


class _Word(NamedTuple):
    forms: frozenset[str]  # empty for a prefix
    prefix: str

    def matches(self, word: str) -> bool:
        return word in self.forms if self.forms else word.startswith(self.prefix)


def _word(part: str) -> _Word:
    if part.startswith("="):
        return _Word(frozenset({part[1:]}), "")
    if part.endswith("*"):
        return _Word(frozenset(), part[:-1])
    return _Word(word_forms(part), "")


class Rubricator:
    def __init__(self, data: RubricatorFile) -> None:
        self.data = data
        self.topics: list[TopicRef] = []
        self.keyword_topic: list[tuple[int, float]] = []  # keyword id -> (topic index, points)
        self.keyword_text: list[str] = []  # keyword id -> as written, for explanations
        self.by_form: dict[str, list[int]] = defaultdict(list)
        self.by_prefix: dict[str, list[tuple[str, int]]] = defaultdict(
            list
        )  # first 3 letters -> (prefix, kw)
        phrase_words: list[tuple[list[_Word], int]] = []
        for group in data.groups:
            for topic in group.topics:
                t = len(self.topics)
                self.topics.append(TopicRef(group.name, topic.name, topic.weight))
                listed = [(k, 1.0) for k in topic.keywords] + [(k, CONTEXT_POINTS) for k in topic.context]
                for kw, base in dict(reversed(listed)).items():  # a word listed twice: the first wins
                    parts = kw.split(" ")
                    kid = len(self.keyword_topic)
                    points = base * (PHRASE_POINTS if len(parts) > 1 else 1.0) * topic.weight
                    self.keyword_topic.append((t, points))
                    self.keyword_text.append(kw)
                    if len(parts) > 1:
                        phrase_words.append(([_word(p) for p in parts], kid))
                    else:
                        self._index(_word(parts[0]), kid)
        # A phrase is found from its anchor, its longest word («площадка» in «детская площадка»):
        # short words such as «не» or «во» begin too many phrases and occur in every message.
        self.phrase_start: dict[str, list[int]] = defaultdict(list)
        self.phrase_start_prefix: dict[str, list[tuple[str, int]]] = defaultdict(list)
        self.phrase_of: dict[int, tuple[list[_Word], int, int]] = {}  # -> (words, keyword id, anchor)
        for n, (ws, kid) in enumerate(phrase_words):
            anchor = max(range(len(ws)), key=lambda k: len(ws[k].prefix or min(ws[k].forms, key=len)))
            self.phrase_of[n] = (ws, kid, anchor)
            a = ws[anchor]
            if a.forms:
                for f in a.forms:
                    self.phrase_start[f].append(n)
            else:
                self.phrase_start_prefix[a.prefix[:PREFIX_MIN]].append((a.prefix, n))
        self.by_form = dict(self.by_form)
        self.by_prefix = dict(self.by_prefix)
        self._plans: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {}
        # A phrase stands for its words: «дорожный знак» scores as a phrase, not also as «знак».
        self.subsumes: dict[int, list[int]] = {}
        for ws, kid in phrase_words:
            t = self.keyword_topic[kid][0]
            inside = {k for w in ws for f in (w.forms or ()) for k in self.by_form.get(f, ())}
            inside |= {
                k
                for w in ws
                if not w.forms
                for k2 in [w.prefix[:PREFIX_MIN]]
                for p, k in self.by_prefix.get(k2, ())
                if p == w.prefix
            }
            same_topic = sorted(k for k in inside if self.keyword_topic[k][0] == t)
            if same_topic:
                self.subsumes[kid] = same_topic

    def _index(self, w: _Word, kid: int) -> None:
        if w.forms:
            for f in w.forms:
                self.by_form[f].append(kid)
        else:
            self.by_prefix[w.prefix[:PREFIX_MIN]].append((w.prefix, kid))

    @property
    def groups(self) -> list[str]:
        return [g.name for g in self.data.groups]

    def topic_index(self, group: str, topic: str | None = None) -> int | None:
        for i, ref in enumerate(self.topics):
            if ref.group == group and (topic is None or ref.name == topic):
                return i
        return None

    def _plan(self, w: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """What a word form brings: the ids of the single-word keywords it is, and the phrases
        anchored on it. Worked out once per form and cached, so routing is one dictionary hit per
        word; most words bring nothing."""
        plan = self._plans.get(w)
        if plan is None:
            head = w[:PREFIX_MIN]
            hits = [
                *self.by_form.get(w, ()),
                *(k for p, k in self.by_prefix.get(head, ()) if w.startswith(p)),
            ]
            phrases = [
                *self.phrase_start.get(w, ()),
                *(n for p, n in self.phrase_start_prefix.get(head, ()) if w.startswith(p)),
            ]
            plan = (tuple(hits), tuple(phrases)) if hits or phrases else NOTHING
            if len(self._plans) >= MAX_PLANS:  # a daemon meets new word forms forever: stay bounded
                self._plans.clear()
            self._plans[w] = plan
        return plan

    def matched_keywords(self, tokens: list[str]) -> set[int]:
        """Ids of the keywords present in the words; each keyword counts once per message."""
        found: set[int] = set()
        plans, plan_of = self._plans, self._plan
        for i, w in enumerate(tokens):
            plan = plans.get(w) or plan_of(w)
            if plan is NOTHING:
                continue
            hits, phrases = plan
            found.update(hits)
            for n in phrases:
                self._phrase_at(tokens, i, n, found)
        return found

    def _phrase_at(self, tokens: list[str], i: int, n: int, found: set[int]) -> None:
        """Does the phrase whose anchor word is at position i match around it?"""
        ws, kid, anchor = self.phrase_of[n]
        if kid in found:
            return
        pos = i
        for w in ws[anchor + 1 :]:  # forwards from the anchor
            for j in range(pos + 1, min(pos + 2 + MAX_GAP, len(tokens))):
                if w.matches(tokens[j]):
                    pos = j
                    break
            else:
                return
        pos = i
        for w in reversed(ws[:anchor]):  # and backwards
            for j in range(pos - 1, max(pos - 2 - MAX_GAP, -1), -1):
                if w.matches(tokens[j]):
                    pos = j
                    break
            else:
                return
        found.add(kid)

    def explain(self, text: str) -> dict[str, list[str]]:
        """Group -> the keywords found, for the curator and for whoever tunes the data file."""
        out: dict[str, list[str]] = defaultdict(list)
        for kid in sorted(self.matched_keywords(words(normalize(text)))):
            out[self.topics[self.keyword_topic[kid][0]].group].append(self.keyword_text[kid])
        return dict(out)

    def scores(self, text: str) -> dict[int, float]:
        """Topic index -> points for a raw text."""
        return self.scores_for_words(words(normalize(text)))

    def scores_for_words(self, tokens: list[str]) -> dict[int, float]:
        out: dict[int, float] = defaultdict(float)
        found = self.matched_keywords(tokens)
        for kid in [k for k in found if k in self.subsumes]:
            found.difference_update(self.subsumes[kid])
        for kid in found:
            t, points = self.keyword_topic[kid]
            out[t] += points
        return dict(out)


@functools.cache
def load_rubricator(path: str | None = None) -> Rubricator:
    return Rubricator(load_model(Path(path) if path else DATA, RubricatorFile))
