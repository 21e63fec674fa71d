"""Location: settlements and streets of the municipality's gazetteer, and house numbers, found in
the text and shown on the case."""

from __future__ import annotations

import functools
import re
from pathlib import Path

from pydantic import BaseModel, Field

from otklik.datafile import load_model
from router.text import clean

DATA = Path(__file__).resolve().parent / "data" / "gazetteer.yaml"


class Settlement(BaseModel):
    name: str
    stem: str
    kind: str = "населённый пункт"


class GazetteerFile(BaseModel):
    settlements: list[Settlement] = Field(default_factory=list)
    streets: list[str] = Field(default_factory=list)


class LocationMention(BaseModel):
    name: str
    kind: str  # settlement | street | address
    start: int
    end: int


STREET_WORD = r"(?:ул\.?|улиц[аеуы]|улицей|пр-т|просп\.?|проспект[аеу]?|пер\.?|переул(?:ок|ке|ка)|пл\.?|площад[ьи]|мкр\.?|микрорайон[аеу]?)"
HOUSE = r"(?:[,\s]+(?:д\.?|дом[аеу]?)?\s*(\d+[а-яА-Я]?(?:/\d+)?))?"


class Gazetteer:
    def __init__(self, data: GazetteerFile) -> None:
        self.data = data
        stems = sorted((s.stem for s in data.settlements), key=len, reverse=True)
        self._settlement = re.compile(r"(?<!\w)(" + "|".join(map(re.escape, stems)) + r")\w*", re.I) if stems else None
        self._by_stem = {s.stem.lower(): s for s in data.settlements}
        known = "|".join(re.escape(s[:-2] if len(s) > 5 else s) for s in data.streets)
        self._street = re.compile(rf"{STREET_WORD}\s*([А-ЯЁ][\w-]+(?:\s[А-ЯЁ][\w-]+)?){HOUSE}")
        self._known_street = re.compile(rf"(?<!\w)({known})\w*{HOUSE}", re.I) if known else None

    def find(self, text: str) -> list[LocationMention]:
        text = clean(text)
        out: list[LocationMention] = []
        if self._settlement:
            for m in self._settlement.finditer(text):
                s = self._by_stem[m.group(1).lower()]
                out.append(LocationMention(name=f"{s.kind} {s.name}", kind="settlement", start=m.start(), end=m.end()))
        covered: list[tuple[int, int]] = []
        for m in self._street.finditer(text):
            name = f"ул. {m.group(1)}" + (f", д. {m.group(2)}" if m.group(2) else "")
            out.append(LocationMention(name=name, kind="address" if m.group(2) else "street",
                                       start=m.start(), end=m.end()))
            covered.append((m.start(), m.end()))
        if self._known_street:
            for m in self._known_street.finditer(text):
                if any(a <= m.start() < b for a, b in covered):
                    continue
                street = next(s for s in self.data.streets if s.lower().startswith(m.group(1).lower()))
                if m.group(2):
                    out.append(LocationMention(name=f"ул. {street}, д. {m.group(2)}", kind="address",
                                               start=m.start(), end=m.end()))
        return out


@functools.cache
def load_gazetteer(path: str | None = None) -> Gazetteer:
    return Gazetteer(load_model(Path(path) if path else DATA, GazetteerFile))
