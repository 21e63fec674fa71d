"""The words simulated citizens write: the municipality they live in, the templates of
sandbox/texts/*.yaml, and how a template becomes a message (slots, alternatives, disguised
obscenity, the way people type on a phone). Pure apart from loading the data files."""

from __future__ import annotations

import functools
import random
import re
from pathlib import Path

from pydantic import BaseModel, Field, field_validator, model_validator

from otklik.datafile import load_model
from router.rubricator import GROUPS

TEXTS_DIR = Path(__file__).resolve().parent / "texts"

# The 26 «группы тем», spelled exactly as the router knows them.
TOPIC_GROUPS = GROUPS
MIN_TEMPLATES_PER_GROUP = 5
SLOT = re.compile(r"\{([A-Za-z_]+)\}")
CHOICE = re.compile(r"\[([^\[\]]*\|[^\[\]]*)\]")
KIND_ABBREV = {
    "село": "с.",
    "деревня": "д.",
    "посёлок": "пос.",
    "поселок": "пос.",
    "город": "г.",
    "хутор": "х.",
}

# Disguises people use to slip past word filters.
LATIN_LOOKALIKE = {
    "а": "a",
    "е": "e",
    "о": "o",
    "р": "p",
    "с": "c",
    "у": "y",
    "х": "x",
    "к": "k",
    "м": "m",
    "т": "t",
    "н": "h",
    "в": "b",
}
DIGIT_LOOKALIKE = {"з": "3", "о": "0", "б": "6", "ч": "4", "а": "@"}
SEPARATORS = (".", "-", " ", "_", "*")
VOWELS = set("аеёиоуыэюя")


# -- the municipality ---------------------------------------------------------------------------
class Settlement(BaseModel):
    name: str = Field(min_length=1)
    kind: str = "село"
    loc: str | None = None  # after «в»: «Северном»
    gen: str | None = None  # after «из», «около»: «Северного»
    weight: float = Field(1.0, gt=0)  # the district centre writes more

    def _invariant(self) -> str:
        abbrev = KIND_ABBREV.get(self.kind.lower())
        return f"{abbrev} {self.name}" if abbrev else self.name

    @property
    def in_form(self) -> str:
        return f"в {self.loc}" if self.loc else f"в {self._invariant()}"

    @property
    def from_form(self) -> str:
        return f"из {self.gen}" if self.gen else f"из {self._invariant()}"

    @property
    def gen_form(self) -> str:
        return self.gen or self._invariant()


class Street(BaseModel):
    name: str = Field(min_length=1)
    loc: str | None = None  # after «на»: «Советской»; None for names in the genitive («Ленина»)

    def on_forms(self) -> list[str]:
        if self.loc:
            return [f"на {self.loc}", f"на ул. {self.loc}", f"на улице {self.loc}"]
        return [f"на ул. {self.name}", f"на улице {self.name}"]


class Municipality(BaseModel):
    name: str = "муниципальный район"
    name_gen: str = "района"
    settlements: list[Settlement] = Field(min_length=1)
    streets: list[Street | str] = Field(min_length=1)

    @field_validator("streets")
    @classmethod
    def _streets(cls, v: list[Street | str]) -> list[Street | str]:
        return [Street(name=s) if isinstance(s, str) else s for s in v]

    @classmethod
    def from_gazetteer(cls, path: str | Path) -> Municipality:
        """Any gazetteer in router/data/gazetteer.yaml's shape (settlements with name and kind,
        streets as plain names): the forms fall back to the invariant «в с. Бергуль»."""
        return load_model(path, cls)


# -- the texts ----------------------------------------------------------------------------------
class People(BaseModel):
    male: list[str] = Field(min_length=1)
    female: list[str] = Field(min_length=1)
    surnames: list[str] = Field(min_length=1)
    nicknames: list[str] = Field(min_length=1)


class CitizenTexts(BaseModel):
    people: People
    openings: list[str] = Field(min_length=1)
    closings: list[str] = Field(min_length=1)
    since: list[str] = Field(min_length=1)
    when: list[str] = Field(min_length=1)
    legit: dict[str, list[str]]
    repeat_openings: list[str] = Field(min_length=1)
    edit_additions: list[str] = Field(min_length=1)
    disputes: list[str] = Field(min_length=1)
    ratings: dict[int, list[str]]

    @field_validator("legit")
    @classmethod
    def _all_groups(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = sorted(set(v) - set(TOPIC_GROUPS))
        if unknown:
            raise ValueError(f"not one of the 26 topic groups: {', '.join(unknown)}")
        thin = [g for g in TOPIC_GROUPS if len(v.get(g, [])) < MIN_TEMPLATES_PER_GROUP]
        if thin:
            raise ValueError(f"fewer than {MIN_TEMPLATES_PER_GROUP} templates for: {', '.join(thin)}")
        return v


class Mat(BaseModel):
    interj: list[str] = Field(min_length=1)
    noun: list[str] = Field(min_length=1)
    verb: list[str] = Field(min_length=1)


class AbuseTexts(BaseModel):
    mat: Mat
    officials: list[str] = Field(min_length=1)
    officials_plural: list[str] = Field(min_length=1)
    insult_word: list[str] = Field(min_length=1)
    insult_words: list[str] = Field(min_length=1)
    obscene: list[str] = Field(min_length=1)
    obscene_tails: list[str] = Field(min_length=1)
    insult: list[str] = Field(min_length=1)
    insult_tails: list[str] = Field(min_length=1)
    threat: list[str] = Field(min_length=1)
    threat_tails: list[str] = Field(min_length=1)
    spam: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _roots_are_words(self) -> AbuseTexts:
        for word in self.mat.interj + self.mat.noun + self.mat.verb:
            if not word.isalpha():
                raise ValueError(f"obscene word {word!r}: write it plainly, the generator disguises it")
        return self


@functools.cache
def load_municipality(path: str | None = None) -> Municipality:
    return load_model(Path(path) if path else TEXTS_DIR / "municipality.yaml", Municipality)


@functools.cache
def load_citizen_texts(path: str | None = None) -> CitizenTexts:
    return load_model(Path(path) if path else TEXTS_DIR / "citizens.yaml", CitizenTexts)


@functools.cache
def load_abuse_texts(path: str | None = None) -> AbuseTexts:
    return load_model(Path(path) if path else TEXTS_DIR / "abuse.yaml", AbuseTexts)


# -- rendering ----------------------------------------------------------------------------------
def disguise(word: str, rng: random.Random) -> str:
    """The word as someone hiding it from a filter would write it; never the plain word."""
    letters = list(word)
    inner = range(1, len(letters) - 1) if len(letters) > 2 else range(len(letters))
    how = rng.choice(("latin", "latin", "star", "separators", "digits", "stretch", "latin_star"))
    if how in ("latin", "latin_star"):
        spots = [i for i, ch in enumerate(letters) if ch.lower() in LATIN_LOOKALIKE]
        for i in rng.sample(spots, k=min(len(spots), rng.randint(1, 3))):
            letters[i] = LATIN_LOOKALIKE[letters[i].lower()]
    if how in ("star", "latin_star"):
        vowels = [i for i in inner if letters[i].lower() in VOWELS] or list(inner)
        letters[rng.choice(vowels)] = "*"
    if how == "separators":
        return rng.choice(SEPARATORS[:4]).join(letters)
    if how == "digits":
        spots = [i for i, ch in enumerate(letters) if ch.lower() in DIGIT_LOOKALIKE]
        if not spots:
            return ".".join(letters)
        for i in spots:
            letters[i] = DIGIT_LOOKALIKE[letters[i].lower()]
    if how == "stretch":
        i = rng.choice([i for i in inner if letters[i].lower() in VOWELS] or list(inner))
        letters[i] = letters[i] * rng.randint(3, 5)
    out = "".join(letters)
    return out if out != word else "*".join(letters)


def fill(template: str, slots: dict[str, object], rng: random.Random) -> str:
    """Resolve `[a|b]` alternatives, then `{slot}`s (a capitalised slot name capitalises the value).
    A slot's value may be a callable, so each occurrence can differ (two different insults)."""
    text = CHOICE.sub(lambda m: rng.choice(m.group(1).split("|")), template)

    def value(m: re.Match[str]) -> str:
        name = m.group(1)
        key = name[0].lower() + name[1:]
        if key not in slots:
            raise KeyError(f"unknown slot {{{name}}} in template {template!r}")
        v = slots[key]
        s = str(v() if callable(v) else v)
        return s[:1].upper() + s[1:] if name[0].isupper() else s

    text = SLOT.sub(value, text)
    return text[:1].upper() + text[1:]


def typed_on_a_phone(text: str, rng: random.Random) -> str:
    """Now and then a message looks typed in a hurry."""
    roll = rng.random()
    if roll < 0.08:
        return text[:1].lower() + text[1:]
    if roll < 0.14:
        return text.rstrip(".")
    if roll < 0.18 and text.endswith(("!", "?")):
        return text + text[-1] * 2
    return text


def fake_phone(rng: random.Random) -> str:
    return f"+7 9{rng.randint(0, 99):02d} {rng.randint(100, 999)}-{rng.randint(0, 99):02d}-{rng.randint(0, 99):02d}"


def fake_link(rng: random.Random) -> str:
    word = rng.choice(("dengi", "zarabotok", "bonus", "priz", "invest", "udalenka"))
    tail = "".join(rng.choice("abcdefghkmnpqrstuvwxyz23456789") for _ in range(6))
    return rng.choice(
        (f"https://clck.ru/{tail}", f"https://{word}-{tail}.online", f"t.me/{word}_{tail}", f"bit.ly/{tail}")
    )


def feminine(surname: str) -> str:
    if surname.endswith(("ий", "ый", "ой")):
        return surname[:-2] + "ая"
    if surname.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return surname + "а"
    return surname


def person_name(people: People, rng: random.Random) -> str:
    """A made-up name the way people sign on social networks."""
    female = rng.random() < 0.55
    first = rng.choice(people.female if female else people.male)
    surname = rng.choice(people.surnames)
    surname = feminine(surname) if female else surname
    roll = rng.random()
    if roll < 0.6:
        return f"{first} {surname}"
    if roll < 0.75:
        return first
    if roll < 0.9:
        return f"{first} {surname[0]}."
    return f"{rng.choice(people.nicknames)}{rng.randint(1, 99)}"
