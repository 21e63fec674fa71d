"""The rubricator: «Группа тем» → «Тема» with keyword rules, loaded from YAML and compiled into a
matcher whose cost does not grow with the number of topics (stems are bucketed by prefix)."""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from pathlib import Path

from pydantic import BaseModel, Field, field_validator

from otklik.datafile import load_model
from router.text import normalize, words

DATA = Path(__file__).resolve().parent / "data" / "rubricator.yaml"
GROUPS = (
    "Безопасность", "Благоустройство", "Газ и топливо", "Государственная собственность", "Дороги", "ЖКХ",
    "Здравоохранение/Медицина", "Коронавирус", "Культура", "МФЦ «Мои документы»", "Мобилизация",
    "Мусор/Свалки/ТКО", "Образование", "Общественный транспорт", "Памятники и объекты культурного наследия",
    "Погребение и похоронное дело", "Роспотребнадзор", "Связь и телевидение", "Социальное обслуживание и защита",
    "Спецпроекты", "Строительство и архитектура", "Торговля", "Физическая культура и спорт", "Экология",
    "Экономика и бизнес", "Электроснабжение",
)


class Topic(BaseModel):
    name: str
    keywords: list[str] = Field(default_factory=list)
    weight: float = Field(1.0, gt=0)


class Group(BaseModel):
    name: str
    topics: list[Topic] = Field(min_length=1)


class RubricatorFile(BaseModel):
    groups: list[Group]

    @field_validator("groups")
    @classmethod
    def _unique(cls, groups: list[Group]) -> list[Group]:
        names = [g.name for g in groups]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"groups listed twice: {sorted(dupes)}")
        return groups


class Rubricator:
    """Scores every (group, topic) for a text. Stems match word starts, `=word` whole words,
    and phrases (several stems) words in a row."""

    def __init__(self, data: RubricatorFile) -> None:
        self.data = data
        self.topics: list[tuple[str, str, float]] = []
        self.stems: dict[str, list[tuple[str, int]]] = defaultdict(list)  # 2-letter head -> (stem, topic)
        self.exact: dict[str, list[int]] = defaultdict(list)
        phrases: list[tuple[str, int]] = []
        for group in data.groups:
            for topic in group.topics:
                idx = len(self.topics)
                self.topics.append((group.name, topic.name, topic.weight))
                for kw in topic.keywords:
                    kw = kw.lower().replace("ё", "е").strip()
                    if kw.startswith("="):
                        self.exact[kw[1:]].append(idx)
                    elif " " in kw:
                        phrases.append((kw, idx))
                    else:
                        self.stems[kw[:2]].append((kw, idx))
        self.phrases = [(re.compile(r"\b" + r"\w*\s+".join(map(re.escape, kw.split())) + r"\w*"), idx)
                        for kw, idx in phrases]
        alternation = "|".join(p.pattern for p, _ in self.phrases) or "(?!)"
        self._any_phrase = re.compile(alternation)

    @property
    def groups(self) -> list[str]:
        return [g.name for g in self.data.groups]

    def topic_index(self, group: str, topic: str | None) -> int | None:
        for i, (g, t, _) in enumerate(self.topics):
            if g == group and (topic is None or t == topic):
                return i
        return None

    def scores(self, text: str) -> dict[int, float]:
        norm = normalize(text)
        out: dict[int, float] = defaultdict(float)
        for w in set(words(norm)):
            for idx in self.exact.get(w, ()):
                out[idx] += self.topics[idx][2]
            for stem, idx in self.stems.get(w[:2], ()):
                if w.startswith(stem):
                    out[idx] += self.topics[idx][2]
        if self._any_phrase.search(norm):  # one cheap pass first: most texts have no phrase
            for pattern, idx in self.phrases:
                if pattern.search(norm):
                    out[idx] += 2 * self.topics[idx][2]  # a phrase is more specific than a stem
        return out


@functools.cache
def load_rubricator(path: str | None = None) -> Rubricator:
    return Rubricator(load_model(Path(path) if path else DATA, RubricatorFile))
