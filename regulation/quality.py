"""Answer quality checks on every draft, shown to the approver (000 §23, 001 §18, 002 §17,
003 §14, 003 прил. 1 §16): a greeting or an address to the author, no bureaucratese, no rudeness
or familiarity, a light spelling check, a length that fits the network, confirming photos where
the platform requires them, and — for a repeat — what was done. Pure; the word lists are data
(regulation/data/*.yaml).

Issues are "error" (the regulation requires it, or the platform will refuse the text) or
"warning" (worth a second look); the approver decides.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from otklik.datafile import load_model

DATA_DIR = Path(__file__).resolve().parent / "data"


class Phrase(BaseModel):
    phrase: str
    instead: str


class Misspelling(BaseModel):
    wrong: str
    right: str


class Lexicon(BaseModel):
    phrases: list[Phrase]


class Limits(BaseModel):
    max: int = Field(gt=0)
    recommended: int = Field(gt=0)


class AnswerChecks(BaseModel):
    greetings: list[str] = Field(min_length=1)
    rude: list[str] = Field(default_factory=list)
    familiar: list[str] = Field(default_factory=list)
    misspellings: list[Misspelling] = Field(default_factory=list)
    abbreviations: list[str] = Field(default_factory=list)
    measures: list[str] = Field(default_factory=list)
    platforms: dict[str, Limits] = Field(default_factory=dict)
    default_platform: Limits
    min_answer_length: int = 40
    photos_required: list[str] = Field(default_factory=list)


class QualityData(BaseModel):
    phrases: list[Phrase]
    checks: AnswerChecks


class QualityIssue(BaseModel):
    # no_greeting, bureaucratese, rude, familiar, spelling, too_long, long, too_short, photos_missing,
    # no_measures, no_question
    code: str
    message: str
    severity: Literal["error", "warning"] = "warning"
    span: tuple[int, int] | None = None


@functools.cache
def load_quality_data(directory: Path = DATA_DIR) -> QualityData:
    lexicon = load_model(directory / "kantselyarizmy.yaml", Lexicon)
    checks = load_model(directory / "answer_checks.yaml", AnswerChecks)
    return QualityData(phrases=lexicon.phrases, checks=checks)


@functools.lru_cache(maxsize=1024)
def _pattern(entry: str) -> re.Pattern[str]:
    """A lexicon entry as a regex: from a word start; "*" at the end allows any ending."""
    stem = entry.rstrip("*").replace("ё", "е").replace("Ё", "Е")
    body = r"\s+".join(re.escape(w) for w in stem.split())
    tail = r"\w*" if entry.endswith("*") else r"(?!\w)"
    return re.compile(r"(?<!\w)" + body + tail, re.IGNORECASE)


def _fold(text: str) -> str:
    return text.replace("ё", "е").replace("Ё", "Е")  # same length: spans stay valid


def _find(folded: str, entry: str) -> tuple[int, int] | None:
    m = _pattern(entry).search(folded)
    return (m.start(), m.end()) if m else None


def check_answer(
    text: str,
    *,
    platform: str,
    has_photos: bool = False,
    author_name: str | None = None,
    kind: str = "answer",
    repeat: bool = False,
    data: QualityData | None = None,
) -> list[QualityIssue]:
    """The problems of a draft. `kind`: answer, intermediate or clarify; `repeat`: the message
    repeats an earlier one, so the answer must report the measures taken."""
    data = data or load_quality_data()
    c = data.checks
    folded = _fold(text)
    issues: list[QualityIssue] = []

    def add(
        code: str,
        message: str,
        severity: Literal["error", "warning"] = "warning",
        span: tuple[int, int] | None = None,
    ) -> None:
        issues.append(QualityIssue(code=code, message=message, severity=severity, span=span))

    # A greeting or an address to the author opens the answer (003 прил. 1 §16).
    opening = folded.strip()[:80]
    greeted = any(_find(opening, g) for g in c.greetings)
    if author_name and author_name.split():
        greeted = greeted or bool(_find(opening, _fold(author_name.split()[0])))
    if not greeted:
        add("no_greeting", "начните с приветствия или обращения к автору", "error")

    covered: list[tuple[int, int]] = []  # "на данный момент" is one finding, not two
    for p in sorted(data.phrases, key=lambda p: -len(p.phrase)):
        span = _find(folded, p.phrase)
        if span and not any(a <= span[0] and span[1] <= b for a, b in covered):
            covered.append(span)
            add("bureaucratese", f"канцелярит «{text[span[0] : span[1]]}»: лучше «{p.instead}»", span=span)
    for entry in c.rude:
        if span := _find(folded, entry):
            add("rude", f"грубо или пренебрежительно: «{text[span[0] : span[1]]}»", "error", span)
    for entry in c.familiar:
        if span := _find(folded, entry):
            add("familiar", f"фамильярно: «{text[span[0] : span[1]]}»", "error", span)
    for m in re.finditer(r"[!?]{2,}|\){2,}|\({2,}", text):
        add(
            "familiar",
            "повторяющиеся знаки и смайлики не для официального ответа",
            "warning",
            (m.start(), m.end()),
        )

    issues.extend(_spelling(text, folded, c))
    issues.extend(
        _length_and_content(
            text, folded, c, platform=platform, has_photos=has_photos, kind=kind, repeat=repeat
        )
    )
    return issues


def _spelling(text: str, folded: str, c: AnswerChecks) -> list[QualityIssue]:
    out = []
    for m in c.misspellings:
        if span := _find(folded, m.wrong):
            out.append(
                QualityIssue(code="spelling", span=span, message=f"«{text[span[0] : span[1]]}» → «{m.right}»")
            )
    for m in re.finditer(r"(?<!\w)([^\W\d_]+)\s+\1(?!\w)", folded, flags=re.IGNORECASE):
        out.append(
            QualityIssue(code="spelling", span=(m.start(), m.end()), message=f"повтор слова «{m.group(1)}»")
        )
    for m in re.finditer(r"[ \t]+[,.!?;:](?![.\w])", text):
        out.append(
            QualityIssue(code="spelling", span=(m.start(), m.end()), message="пробел перед знаком препинания")
        )
    for m in re.finditer(r"[а-яёА-ЯЁ][,;:][а-яёА-ЯЁ]", text):
        out.append(
            QualityIssue(code="spelling", span=(m.start(), m.end()), message="нет пробела после знака")
        )
    abbreviations = {a.lower() for a in c.abbreviations}
    for m in re.finditer(r"(\w*)([.!?])(?=\s+([а-яё]))", text):
        word, mark = m.group(1), m.group(2)
        if mark == "." and (
            word.lower() in abbreviations or text[max(0, m.start(2) - 2) : m.start(2)] == ".."
        ):
            continue  # "т. е. мы", "5 тыс. рублей" and "..." continue a sentence
        out.append(
            QualityIssue(
                code="spelling",
                span=(m.start(3), m.end(3)),
                message="предложение начинается со строчной буквы",
            )
        )
    for m in re.finditer(r"[а-яё]{2,}[.!?][А-ЯЁ]", text):
        out.append(
            QualityIssue(code="spelling", span=(m.start(), m.end()), message="нет пробела после точки")
        )
    return out


def _length_and_content(
    text: str, folded: str, c: AnswerChecks, *, platform: str, has_photos: bool, kind: str, repeat: bool
) -> list[QualityIssue]:
    out = []
    limits = c.platforms.get(platform, c.default_platform)
    size = len(text.strip())
    if size > limits.max:
        out.append(
            QualityIssue(
                code="too_long",
                severity="error",
                message=f"{size} знаков: {platform} принимает не больше {limits.max}",
            )
        )
    elif size > limits.recommended:
        out.append(
            QualityIssue(
                code="long",
                message=f"{size} знаков: ответ в соцсети должен быть кратким (до {limits.recommended})",
            )
        )
    if kind == "answer" and size < c.min_answer_length:
        out.append(
            QualityIssue(code="too_short", severity="error", message="ответ должен объяснять суть вопроса")
        )
    if kind == "answer" and platform in c.photos_required and not has_photos:
        out.append(
            QualityIssue(
                code="photos_missing",
                severity="error",
                message="приложите подтверждающие фото (000 прил. 2 §2.5), если результат можно снять",
            )
        )
    if kind == "answer" and repeat and not any(_find(folded, w) for w in c.measures):
        out.append(
            QualityIssue(
                code="no_measures",
                severity="error",
                message="ответ на повторное сообщение сообщает о принятых мерах или ходе решения "
                "(000 §20, 001 §17, 002 §15, 003 §13)",
            )
        )
    if kind == "clarify" and "?" not in text:
        out.append(
            QualityIssue(code="no_question", message="уточняющий запрос обычно содержит вопрос автору")
        )
    return out
