"""Answer quality checks on every draft, shown to the approver (000 §23, 001 §18, 003 §16,
003 app. 1 §16): greeting, no bureaucratese, no rudeness or familiarity, light spelling, a
length that fits the network, confirming photos where the platform requires them. Pure."""

from __future__ import annotations

import functools
import re
from pathlib import Path

from pydantic import BaseModel, Field

from otklik.datafile import load_model

DATA = Path(__file__).resolve().parent / "data" / "kantselyarizmy.yaml"
MAX_LENGTH = {"telegram": 4096, "vk": 4000, "ok": 4000, "pos": 10000, "incident_management": 5000,
              "kamchatka": 5000}
MIN_LENGTH = 40  # "explains the matter": a bare "решено" is not an answer
PHOTOS_REQUIRED = {"kamchatka"}  # 000 app. 2 §2.5


class Phrase(BaseModel):
    phrase: str
    instead: str


class Misspelling(BaseModel):
    wrong: str
    right: str


class QualityData(BaseModel):
    phrases: list[Phrase]
    rude: list[str] = Field(default_factory=list)
    familiar: list[str] = Field(default_factory=list)
    greetings: list[str]
    misspellings: list[Misspelling] = Field(default_factory=list)


class QualityIssue(BaseModel):
    code: str  # no_greeting, bureaucratese, rude, familiar, spelling, too_long, too_short, photos_missing
    message: str
    span: tuple[int, int] | None = None


@functools.cache
def _data(path: Path = DATA) -> QualityData:
    return load_model(path, QualityData)


def _find(text: str, needle: str) -> tuple[int, int] | None:
    m = re.search(r"(?<!\w)" + re.escape(needle), text, flags=re.IGNORECASE)
    return (m.start(), m.end()) if m else None


def check_answer(text: str, *, platform: str, has_photos: bool = False, author_name: str | None = None,
                 data: QualityData | None = None) -> list[QualityIssue]:
    data = data or _data()
    issues: list[QualityIssue] = []
    opening = text.strip()[:80].lower()
    greeted = any(g in opening for g in data.greetings)
    if author_name and author_name.split()[0].lower() in opening:
        greeted = True  # an address to the author by name counts
    if not greeted:
        issues.append(QualityIssue(code="no_greeting", message="начните с приветствия или обращения к автору"))
    for p in data.phrases:
        span = _find(text, p.phrase)
        if span:
            issues.append(QualityIssue(code="bureaucratese", span=span,
                                       message=f"канцелярит «{text[span[0]:span[1]]}»: лучше «{p.instead}»"))
    for word in data.rude:
        if span := _find(text, word):
            issues.append(QualityIssue(code="rude", span=span, message=f"грубость: «{word}»"))
    for word in data.familiar:
        if span := _find(text, word):
            issues.append(QualityIssue(code="familiar", span=span, message=f"фамильярность: «{word}»"))
    for m in data.misspellings:
        if span := _find(text, m.wrong):
            issues.append(QualityIssue(code="spelling", span=span, message=f"«{m.wrong}» → «{m.right}»"))
    for m in re.finditer(r"\b(\w+)\s+\1\b", text, flags=re.IGNORECASE):
        issues.append(QualityIssue(code="spelling", span=(m.start(), m.end()), message=f"повтор слова «{m.group(1)}»"))
    for m in re.finditer(r"\s+[,.!?;:]", text):
        issues.append(QualityIssue(code="spelling", span=(m.start(), m.end()), message="пробел перед знаком препинания"))
    for m in re.finditer(r"[.!?]\s+([а-яё])", text):
        issues.append(QualityIssue(code="spelling", span=(m.start(1), m.end(1)),
                                   message="предложение начинается со строчной буквы"))
    limit = MAX_LENGTH.get(platform, 4000)
    if len(text) > limit:
        issues.append(QualityIssue(code="too_long", message=f"длиннее {limit} знаков: в {platform} не поместится"))
    if len(text.strip()) < MIN_LENGTH:
        issues.append(QualityIssue(code="too_short", message="ответ должен исчерпывающе объяснять суть"))
    if platform in PHOTOS_REQUIRED and not has_photos:
        issues.append(QualityIssue(code="photos_missing", message="приложите подтверждающие фото (000 прил. 2 §2.5)"))
    return issues
