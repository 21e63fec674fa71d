"""Disguised spellings of the obscene and insulting lexicon, generated deterministically by seed.

For development and measurement only (bench/moderation_disguise.py, tests): the rules are tuned on
the roots of one half of ROOTS and measured on the other half (`split_roots`), so a figure on the
held-out half says how the normaliser generalises to words it was never shown disguised.

Families (one function each, all pure given the random generator):
- homoglyph: Latin and digit look-alikes for Cyrillic letters ("cyкa", "6ля");
- mask: a symbol (* @ % " #) over one or more inner letters ("х*йня", "п@@дец");
- separators: a character between the letters ("д.е.б.и.л", "у р о д");
- repeats: letters doubled or tripled ("мууудак");
- translit: the word written in Latin ("pizdec", "debil");
- zero_width: invisible characters between letters;
- mixed_case: random capitals ("ДеБиЛ");
- glue: the word glued to its neighbour without a space ("этотурод", "нуидиот");
- phonetic: one or two letters swapped for a letter that sounds alike ("епал", "гантон", "питары").
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from moderation.phonetic import CLASSES

# Root -> word forms. Written for this project; obscene roots first, then insults addressed to people.
ROOTS: dict[str, tuple[str, ...]] = {
    "хуй": ("хуйня", "нахуя", "охуели", "хуево"),
    "пизд": ("пиздец", "пиздеть", "пиздабол"),
    "еб": ("заебали", "уебок", "ебаный", "выебываться"),
    "бляд": ("блядь", "блядство", "бляди"),
    "сук": ("сука", "суки"),
    "муд": ("мудак", "мудила", "мудаки"),
    "пидор": ("пидор", "пидорасы"),
    "гандон": ("гандон", "гандоны"),
    "залуп": ("залупа",),
    "шлюх": ("шлюха", "шлюхи"),
    "дебил": ("дебил", "дебилы", "дебильный"),
    "идиот": ("идиот", "идиоты"),
    "урод": ("урод", "уроды"),
    "мраз": ("мразь", "мрази"),
    "твар": ("тварь", "твари"),
    "ублюд": ("ублюдок", "ублюдки"),
    "дегенерат": ("дегенерат", "дегенераты"),
    "кретин": ("кретин", "кретины"),
    "придур": ("придурок", "придурки"),
    "даун": ("даун", "дауны"),
    "чмо": ("чмо", "чмошники"),
    "олигофрен": ("олигофрен", "олигофрены"),
    "имбецил": ("имбецил", "имбецилы"),
    "быдл": ("быдло",),
    "скот": ("скотина", "скоты"),
    "выродк": ("выродок", "выродки"),
    "тупорыл": ("тупорылый", "тупорылые"),
}
FAMILIES = ("homoglyph", "mask", "separators", "repeats", "translit", "zero_width", "mixed_case", "glue", "phonetic")
# Neutral frames the disguised word is put into, as a comment would carry it.
FRAMES = ("{w}", "ну ты и {w}", "{w}, опять одно и то же", "там одни {w} сидят", "вот {w} же")

HOMOGLYPHS: dict[str, tuple[str, ...]] = {
    "а": ("a", "@"), "в": ("B",), "е": ("e",), "з": ("3",), "и": ("u",), "к": ("k",), "м": ("m",),
    "н": ("H",), "о": ("o", "0"), "р": ("p",), "с": ("c", "$"), "т": ("T",), "у": ("y",),
    "х": ("x", "}{"), "б": ("6",), "ч": ("4",), "п": ("n",), "ь": ("b",),
}
TRANSLIT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z", "и": "i",
    "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ф": "f", "х": "h", "ц": "c", "ч": "ch", "ш": "sh", "щ": "sch", "ъ": "", "ы": "y", "ь": "",
    "э": "e", "ю": "yu", "я": "ya",
}
TRANSLIT_VARIANTS = {"х": ("h", "kh", "x"), "я": ("ya", "ja", "9"), "ь": ("", "'"), "ю": ("yu", "ju"), "й": ("y", "j", "i")}
MASKS = '*@%"#'
SEPARATORS = (" ", ".", "-", "_", "*", "|")
ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad")
SOUND_CLASS = {ch: group for group in CLASSES for ch in group}
GLUE_LEFT = ("этот", "ну", "вы", "какой", "эти", "тупой")


@dataclass(frozen=True)
class Sample:
    root: str
    word: str
    family: str
    disguised: str  # the word alone, disguised
    text: str  # the disguised word in a frame


def homoglyph(word: str, rng: random.Random) -> str:
    spots = [i for i, ch in enumerate(word) if ch in HOMOGLYPHS]
    if not spots:
        return word
    chosen = set(rng.sample(spots, k=rng.randint(1, max(1, len(spots) // 2 + 1))))
    return "".join(rng.choice(HOMOGLYPHS[ch]) if i in chosen else ch for i, ch in enumerate(word))


def mask(word: str, rng: random.Random) -> str:
    """One symbol over one or more inner letters; the first letter and the last stay readable."""
    if len(word) < 4:
        i = 1 if len(word) > 1 else 0
        return word[:i] + rng.choice(MASKS) + word[i + 1 :]
    start = rng.randint(1, len(word) - 3)
    length = rng.randint(1, min(2, len(word) - 2 - start))
    symbol = rng.choice(MASKS)
    hidden = symbol * (length if rng.random() < 0.7 else 1)
    return word[:start] + hidden + word[start + length :]


def separators(word: str, rng: random.Random) -> str:
    return rng.choice(SEPARATORS).join(word)


def repeats(word: str, rng: random.Random) -> str:
    spots = set(rng.sample(range(len(word)), k=min(len(word), rng.randint(1, 2))))
    return "".join(ch * rng.randint(2, 4) if i in spots else ch for i, ch in enumerate(word))


def translit(word: str, rng: random.Random) -> str:
    return "".join(rng.choice(TRANSLIT_VARIANTS.get(ch, (TRANSLIT.get(ch, ch),))) for ch in word)


def zero_width(word: str, rng: random.Random) -> str:
    spots = set(rng.sample(range(len(word) - 1), k=rng.randint(1, len(word) - 1)))
    return "".join(ch + (rng.choice(ZERO_WIDTH) if i in spots else "") for i, ch in enumerate(word))


def mixed_case(word: str, rng: random.Random) -> str:
    out = "".join(ch.upper() if rng.random() < 0.5 else ch for ch in word)
    return out if out != word else word[0].upper() + word[1:]


def glue(word: str, rng: random.Random) -> str:
    return rng.choice(GLUE_LEFT) + word


def phonetic(word: str, rng: random.Random) -> str:
    """One or two letters swapped for another of their sound class (moderation.phonetic.CLASSES)."""
    spots = [i for i, ch in enumerate(word) if ch in SOUND_CLASS]
    if not spots:
        return word
    letters = list(word)
    for i in rng.sample(spots, k=min(len(spots), rng.randint(1, 2))):
        letters[i] = rng.choice([ch for ch in SOUND_CLASS[word[i]] if ch != word[i]])
    return "".join(letters)


DISGUISES = {
    "homoglyph": homoglyph,
    "mask": mask,
    "separators": separators,
    "repeats": repeats,
    "translit": translit,
    "zero_width": zero_width,
    "mixed_case": mixed_case,
    "glue": glue,
    "phonetic": phonetic,
}


def split_roots(seed: int = 0) -> tuple[list[str], list[str]]:
    """(development roots, held-out roots): every other root by a hash of the root and the seed."""
    dev, held = [], []
    for root in ROOTS:
        h = int(hashlib.sha1(f"{seed}:{root}".encode()).hexdigest(), 16)
        (dev if h % 2 == 0 else held).append(root)
    return dev, held


def generate(roots: list[str] | None = None, seed: int = 0, per_form: int = 2) -> list[Sample]:
    """`per_form` disguises of every form of every root, in every family; the same seed gives the
    same samples."""
    rng = random.Random(seed)
    out: list[Sample] = []
    for root in roots if roots is not None else list(ROOTS):
        for word in ROOTS[root]:
            for family, fn in DISGUISES.items():
                for _ in range(per_form):
                    disguised = fn(word, rng)
                    frame = rng.choice(FRAMES) if family != "glue" else "{w}"
                    out.append(Sample(root, word, family, disguised, frame.format(w=disguised)))
    return out
