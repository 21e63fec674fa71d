"""Location: the settlements and streets of the municipality's gazetteer (a data file), and house
numbers, found in a message and shown on the case.

A settlement is found in any of its forms («в Бергуле», «из Бергуля»); names that are also common
words («Северное» — «северный») are matched only when capitalised. A street is found after a street
word («ул. Ленина», «по улице Школьной», «пер. Садовый, 5») — known or not — or, for a street of the
gazetteer, when a house number follows («на Советской, 12»)."""

from __future__ import annotations

import functools
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from otklik.datafile import load_model
from router.text import _analyzer, clean

DATA = Path(__file__).resolve().parent / "data" / "gazetteer.yaml"


class Settlement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=2)
    kind: str = "населённый пункт"
    forms: list[str] = Field(default_factory=list)  # inflected forms; the name is always one
    case_sensitive: bool = False  # match only when capitalised: the name is also a common word


class Street(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=2)  # as written after «улица»: Ленина, Советская, Мира
    kind: str = "ул."
    forms: list[str] = Field(default_factory=list)


class GazetteerFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    municipality: str = ""
    settlements: list[Settlement] = Field(default_factory=list)
    streets: list[Street] = Field(default_factory=list)

    @field_validator("streets", mode="before")
    @classmethod
    def _plain_names(cls, v: object) -> object:
        # A bare string is a street name: most gazetteers are just a list.
        return [{"name": s} if isinstance(s, str) else s for s in v] if isinstance(v, list) else v


class LocationMention(BaseModel):
    name: str  # «село Бергуль», «ул. Ленина, д. 5»
    kind: str  # settlement | street | address
    start: int  # character offsets in the cleaned text
    end: int


STREET_WORD = (
    r"(?i:ул\.?|улиц[аеуы]|улицей|пр-?т\.?|просп\.?|проспект[аеу]?|пер\.?|переул(?:ок|ке|ка|ку)"
    r"|пл\.?|площад(?:ь|и)|мкр\.?|микрорайон[аеу]?|ш\.|шоссе|бульвар[аеу]?|б-р)"
)
# The words STREET_WORD can start with, as WORDLIKE cuts them («ул.» → «ул»): a cheap set test
# decides whether the street pattern is worth trying at that word.
STREET_TOKENS = frozenset(
    {
        "ул",
        "улица",
        "улице",
        "улицу",
        "улицы",
        "улицей",
        "пр",
        "пр-т",
        "прт",
        "просп",
        "проспект",
        "проспекта",
        "проспекте",
        "проспекту",
        "пер",
        "переулок",
        "переулке",
        "переулка",
        "переулку",
        "пл",
        "площадь",
        "площади",
        "мкр",
        "микрорайон",
        "микрорайона",
        "микрорайоне",
        "микрорайону",
        "ш",
        "шоссе",
        "бульвар",
        "бульвара",
        "бульваре",
        "бульвару",
        "б-р",
    }
)
KIND_BY_WORD = (
    ("пр", "пр-т"),
    ("пер", "пер."),
    ("пл", "пл."),
    ("мкр", "мкр."),
    ("микр", "мкр."),
    ("ш", "ш."),
    ("бул", "б-р"),
    ("б-р", "б-р"),
)
HOUSE = r"(?:\s*,?\s*(?:д\.|дом[аеу]?|№)?\s*(\d{1,4}[а-яА-Я]?(?:/\d{1,4})?)(?![\d:]|\.\d))?"
LETTER = "А-Яа-яЁёA-Za-z"
WORDLIKE = re.compile(rf"[{LETTER}]+(?:-[{LETTER}]+)*")
LETTER_RUN = re.compile("[а-яa-z]+")  # the letters of a lower-cased, ё-less text (router.text.words)
LETTERS = frozenset(c for c in map(chr, range(0x500)) if re.fullmatch(f"[{LETTER}]", c))
# The only characters outside LETTER that lower() makes letters: «K» (Kelvin sign) → k, «İ» → i̇.
# Without them, a word of the text and of its lower-case copy start and end at the same places.
INTO_LETTER = ("\u212a", "\u0130")
HOUSE_AFTER = re.compile(r"\s*,?\s*(?:д\.|дом\s)?\s*(\d{1,4}[а-яА-Я]?(?:/\d{1,4})?)(?![\w:/-]|\.\d)")
NAME = r"((?:\d{1,2}-?[а-яё]{0,2}\s)?[А-ЯЁ][а-яё-]+(?:\s[А-ЯЁ][а-яё-]+)?)"


def _forms(name: str) -> set[str]:
    """The forms pymorphy3 is sure of: an adjective name declines in its own gender and number
    («Советская» → «Советской», «Северное» → «Северном»), a known noun in the singular
    («Набережная»); a genitive name («Ленина», «Мира») and an unknown word stay as written —
    the gazetteer lists their forms itself."""
    word = name.lower().replace("ё", "е")
    if " " in word or "-" in word:
        return {word}
    p = _analyzer().parse(word)[0]
    g = p.tag.grammemes
    if p.is_known and "ADJF" in g and "nomn" in g:
        keep = {p.tag.gender or "plur", "ADJF"} if p.tag.number == "sing" else {"plur", "ADJF"}
        return {word} | {f.word.replace("ё", "е") for f in p.lexeme if keep <= f.tag.grammemes}
    if p.is_known and "NOUN" in g and p.normal_form.replace("ё", "е") == word:
        return {word} | {f.word.replace("ё", "е") for f in p.lexeme if "sing" in f.tag.grammemes}
    return {word}


def _word_starts(text: str, i: int) -> bool:
    """Whether WORDLIKE starts a word at `i` (a letter there): no letter, and no hyphen joined to a
    letter, just before it."""
    if i == 0:
        return True
    before = text[i - 1]
    return before not in LETTERS and not (before == "-" and i >= 2 and text[i - 2] in LETTERS)


def _word_spans(text: str, words: frozenset[str]) -> list[tuple[int, int]]:
    """Where WORDLIKE finds each of `words` in the text, in order: a substring search for the few
    words known to be there, instead of cutting the whole text into words."""
    spans = []
    for word in words:
        i = text.find(word)
        while i >= 0:
            if _word_starts(text, i) and (m := WORDLIKE.match(text, i)) and m.end() == i + len(word):
                spans.append((i, m.end()))
            i = text.find(word, i + 1)
    return sorted(spans)


class Gazetteer:
    def __init__(self, data: GazetteerFile) -> None:
        self.data = data
        self._settlement_by_form: dict[str, Settlement] = {}
        for s in data.settlements:
            for f in {*(x.lower() for x in s.forms)} | _forms(s.name):
                self._settlement_by_form.setdefault(f.replace("ё", "е"), s)
        self._street_by_form: dict[str, Street] = {}
        for st in data.streets:
            for f in {*(x.lower() for x in st.forms)} | _forms(st.name):
                self._street_by_form.setdefault(f.replace("ё", "е"), st)
        self._any_form = STREET_TOKENS | self._settlement_by_form.keys() | self._street_by_form.keys()
        # Everything find() asks of a word, in one look-up: a street word?, the settlement, the street.
        self._by_form: dict[str, tuple[bool, Settlement | None, Street | None]] = {
            f: (f in STREET_TOKENS, self._settlement_by_form.get(f), self._street_by_form.get(f))
            for f in self._any_form
        }
        self._street = re.compile(rf"{STREET_WORD}\s*{NAME}{HOUSE}")
        self._settlement_names = frozenset(s.name for s in data.settlements)

    def _canonical_street(self, name: str, word: str) -> tuple[str, str]:
        st = self._street_by_form.get(name.lower().replace("ё", "е"))
        kind = next((k for prefix, k in KIND_BY_WORD if word.lower().startswith(prefix)), "ул.")
        if st is not None:
            return st.kind if kind == "ул." else kind, st.name
        return kind, name

    def find(self, text: str, *, cleaned: bool = False, tokens: list[str] | None = None) -> list[LocationMention]:
        """Places named in the text, in order. `cleaned`: the caller already ran router.text.clean
        (the router does, once for the rules, importance and the gazetteer). `tokens`: the text's
        router.text.words, which the router has already cut, to find the candidate words from."""
        if not cleaned:
            text = clean(text)
        out: list[LocationMention] = []
        seen: set[str] = set()

        def add(name: str, kind: str, start: int, end: int) -> None:
            if name not in seen:
                seen.add(name)
                out.append(LocationMention(name=name, kind=kind, start=start, end=end))

        lowered = text.lower().replace("ё", "е")
        if tokens is not None and "-" not in lowered:
            # words() cuts `lowered` into maximal runs of [а-яa-z0-9]; without a hyphen, WORDLIKE's
            # words there are exactly those runs' letter runs (the letters lower() leaves are а-я
            # and a-z). Reusing them saves a second pass over the text (~3 µs of ~11).
            runs = []
            for t in tokens:
                if t.isalpha():
                    runs.append(t)
                elif not t.isdigit():
                    runs.extend(LETTER_RUN.findall(t))
            here = self._any_form.intersection(runs)
        else:
            here = self._any_form.intersection(WORDLIKE.findall(lowered))
        if not here:
            return []  # most messages name no place of the gazetteer and no street word
        # Only the words that are forms matter, and they are known: look for just them. With a
        # character that lower() turns into a letter or into two, the words of `lowered` are not
        # those of the text: then every word of the text is tried, as they are.
        if len(lowered) == len(text) and not any(c in text for c in INTO_LETTER):
            spans = _word_spans(lowered, here)
        else:
            spans = [m.span() for m in WORDLIKE.finditer(text)]
        # One pass over those words, in order: a street word starts an anchored street match;
        # otherwise the word may be a settlement, or a street of the gazetteer followed by a number.
        covered_to = -1
        for start, end in spans:
            if start < covered_to:
                continue
            word = text[start:end]
            found = self._by_form.get(word.lower().replace("ё", "е"))
            if found is None:
                continue
            street_word, s, st = found
            if street_word:
                sm = self._street.match(text, start)
                if sm:
                    kind, name = self._canonical_street(sm.group(1), word)
                    house = sm.group(2)
                    add(
                        f"{kind} {name}" + (f", д. {house}" if house else ""),
                        "address" if house else "street",
                        sm.start(),
                        sm.end(),
                    )
                    covered_to = sm.end()
                    continue
            if s is not None and (word[0].isupper() or not s.case_sensitive):
                add(f"{s.kind} {s.name}", "settlement", start, end)
                continue
            if st is None:
                continue
            house = HOUSE_AFTER.match(text, end)
            if house:
                add(f"{st.kind} {st.name}, д. {house.group(1)}", "address", start, house.end())
                covered_to = house.end()
        return sorted(out, key=lambda x: x.start)

    def settlements(self, mentions: list[LocationMention]) -> list[str]:
        """Settlement names among the mentions, as written in the gazetteer (for executor routes)."""
        names = self._settlement_names
        return [
            n for m in mentions if m.kind == "settlement" for n in [m.name.split(" ", 1)[-1]] if n in names
        ]


@functools.cache
def load_gazetteer(path: str | None = None) -> Gazetteer:
    return Gazetteer(load_model(Path(path) if path else DATA, GazetteerFile))
