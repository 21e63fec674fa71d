"""Undo disguise before matching: look-alike Latin letters, digits and symbols standing for
letters, separators inside words, repeated letters, ё, zero-width and combining characters.

`normalize(text)` returns the normalized text and, for every normalized character, the index of
the original character it came from, so a verdict can point at the span in the original text.
Wildcards (`*`, `"`, `%`, `#`, `@` where not a letter, `…`) stay as `*`: the rules let them stand
for any letter.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator

from moderation import hinted

# Latin letters, digits and symbols that people use for Cyrillic letters.
LOOKALIKE = str.maketrans("abcehkmoptxyunzrdils3064$€91", "абсенкмортхуипзгдилсзобчсеяи")
WILDCARDS = '*"%#_…?~^@'
ZERO_WIDTH = re.compile("[\u200b-\u200f\u2060-\u2064\ufeff\u00ad\u034f]")
CYR = re.compile("[а-яё]")
CYR_WORD = re.compile("[а-я]+")
# Runs of single letters split by separators: "п.и.з.д.а", "х у й", "б-л-я".
SPACED = re.compile(r"(?<![\w*])(?:[\w*](?:[ .\-_,·•|/\\]{1,2})){2,}[\w*](?![\w*])")


# Characters that make cleaning more than lower-casing: combining marks, hidden characters.
_NEEDS_CLEANING = re.compile(
    "[\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
    "\u200b-\u200f\u2060-\u2064\ufeff\u00ad\u034f]"
)


def _clean(text: str) -> tuple[str, str, list[int]]:
    """NFC, hidden characters and decoration dropped, lower case with ё -> е; every character
    keeps the index of the original character it came from, and its original case."""
    if not _NEEDS_CLEANING.search(text) and unicodedata.is_normalized("NFC", text):
        low = text.lower()
        if len(low) == len(text):  # the common case: nothing to drop, one character each
            return text, low.replace("ё", "е"), list(range(len(text)))
    cased: list[str] = []
    index: list[int] = []
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        while j < n and unicodedata.combining(text[j]):
            j += 1  # a letter with its combining marks: "и" + U+0306 is "й"
        cluster = unicodedata.normalize("NFC", text[i:j]) if j > i + 1 else text[i]
        for ch in cluster:
            # Combining marks left after NFC are decoration (ударения, "zalgo"); zero-width hides.
            if ZERO_WIDTH.match(ch) or unicodedata.category(ch) == "Mn":
                continue
            cased.append(ch if len(ch.lower()) == 1 else ch.lower()[0])  # "İ".lower() is two characters
            index.append(i)
        i = j
    low = "".join(cased).lower().replace("ё", "е")
    return "".join(cased), low, index


_PLAIN_TOKEN = re.compile(r"[а-я]+|[a-z]+|\d+")


# A number with a short Cyrillic ending or beginning: "16а", "2020г", "5ти", "кв12".
NUMBER = re.compile(r"\d+[а-я]{0,3}|[а-я]{1,3}\d+")


CONSONANTS = frozenset("бвгджзйклмнпрстфхцчшщ")


def _token_fix(tok: str, cased: str = "") -> str:
    """A token that mixes Cyrillic with look-alikes becomes all-Cyrillic; pure Latin stays Latin.
    `cased`: the token as written, when known: a capital "B" is "в", a "b" after a consonant is
    "ь" ("тварb"), else "б"."""
    if _PLAIN_TOKEN.fullmatch(tok) or NUMBER.fullmatch(tok):
        return tok
    if not CYR.search(tok):
        return tok  # Latin words are judged by their look-alike reading (lookalike_reading)
    out = list(tok.translate(LOOKALIKE))
    if "3" in tok:  # "3" is "з" ("пи3дец", "3десь"), but "е" between two consonants ("д3бил")
        for i, ch in enumerate(tok):
            if ch == "3" and 0 < i < len(tok) - 1 and out[i - 1] in CONSONANTS and out[i + 1] in CONSONANTS:
                out[i] = "е"
    if "b" in tok:
        for i, ch in enumerate(tok):
            if ch == "b":
                if cased[i : i + 1] == "B":
                    out[i] = "в"
                elif i and out[i - 1] in CONSONANTS:
                    out[i] = "ь"
    return "".join("*" if ch in WILDCARDS else ch for ch in out)


WORD = re.compile(r"[\w*\"'%#@$€…?~^]+")
# The tokens of WORD that hold anything but Cyrillic letters (a whole token: from where no WORD
# character precedes, to its last character); most tokens are plain Cyrillic words, skipped in C.
_UNPLAIN_TOKEN = re.compile(
    r"(?<![\w*\"'%#@$€…?~^])[\w*\"'%#@$€…?~^]*(?:[^\Wа-я]|[*\"'%#@$€…?~^])[\w*\"'%#@$€…?~^]*"
)
_LOOKALIKE_CHARS = re.compile("[a-z0-9$€]")
# What makes a token of WORD unplain is a character of it that is not a Cyrillic letter. Any
# character but the commonest ones that cannot be that (Cyrillic letters, spaces, punctuation
# outside WORD) may be one: a simple class, which `re` scans for fast. The token around it starts
# after the last character before it that is not in WORD.
_UNPLAIN_CHAR = re.compile(r"[^а-я\s.,!:;()«»–—/-]")
_TOKEN_SYMBOLS = frozenset("_*\"'%#@$€…?~^")


def _token_start(text: str, i: int) -> int:
    """Where the token of WORD holding text[i] starts (`re`'s \\w is str.isalnum() or "_")."""
    while i > 0 and (text[i - 1].isalnum() or text[i - 1] in _TOKEN_SYMBOLS):
        i -= 1
    return i


def _unplain_tokens(low: str) -> Iterator[re.Match[str]]:
    """`_UNPLAIN_TOKEN.finditer(low)`, looked for from the characters that make a token unplain."""
    return hinted.finditer(_UNPLAIN_TOKEN, _UNPLAIN_CHAR, low, _token_start)


def lookalike_reading(word: str) -> str | None:
    """A word the normalizer leaves as it is, read with its look-alikes as Cyrillic: wholly Latin
    ("cyka"), or a number-like token ("6ля"). None when something has no Cyrillic twin. The rules
    judge this reading too, so "6ля" counts while "16а" stays a house number."""
    if not _LOOKALIKE_CHARS.search(word):
        return None
    reading = word.translate(LOOKALIKE)
    return reading if reading != word and CYR_WORD.fullmatch(reading) else None


# Transliteration into Latin ("pizdec", "debil", "blyat"): multi-letter spellings first; letters
# read several ways ("y" is ы, й or у; "c" is ц, с or к) give several readings.
_TRANSLIT_MULTI = (
    ("shch", ("щ",)), ("sch", ("щ",)), ("sh", ("ш",)), ("ch", ("ч",)), ("zh", ("ж",)), ("kh", ("х",)),
    ("ts", ("ц", "тс")), ("ya", ("я", "ыа")), ("ja", ("я",)), ("yu", ("ю",)), ("ju", ("ю",)),
    ("yo", ("е",)), ("jo", ("е",)), ("ye", ("е", "ые")),
)
_TRANSLIT_ONE = {
    "a": ("а",), "b": ("б",), "v": ("в",), "g": ("г",), "d": ("д",), "e": ("е",), "z": ("з",),
    "i": ("и", "й"), "j": ("й",), "k": ("к",), "l": ("л",), "m": ("м",), "n": ("н",), "o": ("о",),
    "p": ("п",), "r": ("р",), "s": ("с",), "t": ("т",), "u": ("у",), "f": ("ф",), "h": ("х",),
    "x": ("х",), "c": ("ц", "с", "к"), "y": ("ы", "й", "у"), "w": ("в",), "q": ("к",), "'": ("ь",),
    "9": ("я",), "3": ("з",), "0": ("о",), "6": ("б",), "4": ("ч",),
}
_LATIN_WORD = re.compile(r"[a-z][a-z'0-9]{2,19}")
MAX_READINGS = 24


def translit_readings(word: str) -> list[str]:
    """Cyrillic readings of a transliterated word (at most MAX_READINGS); [] when it is not one."""
    if not _LATIN_WORD.fullmatch(word):
        return []
    readings = [""]
    i = 0
    while i < len(word):
        for latin, multi in _TRANSLIT_MULTI:
            if word.startswith(latin, i):
                i += len(latin)
                cyr = multi
                break
        else:
            cyr = _TRANSLIT_ONE.get(word[i])
            if word[i] == "y" and i and word[i - 1] in "aeiou":
                cyr = ("й",)  # "ebay", "hyundai": after a vowel it is "й"
            i += 1
            if cyr is None:
                return []
        readings = [r + c for r in readings for c in cyr][:MAX_READINGS]
    return readings


# Dots, a comma or question marks inside a Cyrillic word hide letters: "нае...ли", "д,билы", "бл.ть",
# "х?й". Only short fragments on either side: "забыла,пиздец", "сука.а я", "тупой?ведь" are two
# words without a space. A one-letter fragment before a single dot is an abbreviation when it is
# capitalised ("Е.Л", "Г.Курск", "Х.Ясный" is a хутор); a short word before the gap is a word, not a
# fragment ("бы..люди", "ну,да").
INNER_GAP = re.compile(r"(?<![а-яa-z-])([а-яa-z]{1,4})(\.+|,|\?+)(?=([а-я]{1,5})(?![а-я]))")
NOT_FRAGMENTS = frozenset(
    "а и в к с у о я бы ну не ни да то же ли ль но вот так все как что это уже еще мне "
    "нет он она они мы вы ты их его ее там тут где ага угу ой ох эх ух ай эй чо че ща "
    "аж уж".split()
)
# Letters spaced by stars or underscores: "б*л*я", "б_л_я_д_ь". A star may also stand for a letter
# ("п*з*а"), so this is the second reading (join_gaps off), the first keeps the stars as letters.
STAR_SPACED = re.compile(r"(?<![\w*\"%#@$])[а-яa-z](?:[*_][а-яa-z]){2,}(?![\w*])")
QUESTION_INSIDE = re.compile(r"(?<=[а-яa-z])\?+(?=[а-яa-z])")


def _gap(m: re.Match[str], low: str, cased: str) -> str:
    """What one INNER_GAP match in `low` becomes: left as it is, or the gap closed by a `*`."""
    left, dots, right = m.group(1), m.group(2), m.group(3)
    if left in NOT_FRAGMENTS and (len(right) > 2 or dots[0] != "."):
        return m.group(0)
    if dots[0] in ",?" and len(left) > 2 or dots == "." and (len(left) > 3 or len(left) + len(right) > 7):
        return m.group(0)
    # Initials and abbreviations are capitalised; "х.ня" is not.
    if (
        dots == "."
        and len(left) == 1
        and (len(right) > 4 or cased[m.start()].isupper() or cased[m.start(3)].isupper())
    ):
        return m.group(0)
    # "п.и.з.д.а" is a chain of spaced letters: _join_spaced takes it whole.
    if dots == "." and (low[m.end(3) : m.end(3) + 1] == "." or low[m.start() - 1 : m.start()] == "."):
        return m.group(0)
    return left + "*" + "\x00" * (len(dots) - 1)


# The punctuation of an INNER_GAP match: its first character, after at most four letters (a comma
# or a dot after a longer word, the common case, is none), before a Cyrillic letter. A text with
# none has no gap to close.
_GAP_PUNCT = re.compile("[.,?](?<=[а-яa-z].)(?<![а-яa-z]{5}.)[.,?]*[а-я]")
_GAP_LETTERS = frozenset("абвгдежзийклмнопрстуфхцчшщъыьэюяabcdefghijklmnopqrstuvwxyz")


def _gap_start(text: str, i: int) -> int:
    """Where the letters before the punctuation at i start (five are more than INNER_GAP takes)."""
    start = i
    while start > 0 and i - start < 5 and text[start - 1] in _GAP_LETTERS:
        start -= 1
    return start


def _inner_gaps(low: str) -> Iterator[re.Match[str]]:
    """`INNER_GAP.finditer(low)`, looked for from the punctuation (see moderation/hinted.py)."""
    return hinted.finditer(INNER_GAP, _GAP_PUNCT, low, _gap_start)


def _gaps(low: str, cased: str, join: bool) -> str:
    if join:
        original = low
        low = hinted.sub(INNER_GAP, _GAP_PUNCT, low, _gap_start, lambda m: _gap(m, original, cased))
    else:
        low = STAR_SPACED.sub(lambda m: re.sub("[*_]", "\x00", m.group()), low)
    # A question mark left between letters ends a sentence: "тупой?ведь".
    if "?" not in low:
        return low
    return QUESTION_INSIDE.sub(lambda m: " " * len(m.group()), low)


def _gap_changes(low: str) -> bool:
    """Whether `_gaps(low, low, True)` would change `low`, without building the new text."""
    if any(_gap(m, low, low) != m.group() for m in _inner_gaps(low)):
        return True
    return "?" in low and QUESTION_INSIDE.search(low) is not None


PI = re.compile(r"(?<![\d.,])3[.,]14(?=[а-я])")
# Letters drawn with several symbols: "}{" and ")(" for "х", ">|<" for "ж" (inside a word).
DRAWN = re.compile(r"}{|(?<=[а-я])\)\((?=[а-я])|>\|<")
DRAWN_LETTER = {"}{": "х", ")(": "х", ">|<": "ж"}
INNER_BRACKET = re.compile(r"(?<=[а-я])[()](?=[а-я])")


_NUL = re.compile("\x00")


def normalize(text: str, join_gaps: bool = True) -> tuple[str, list[int]]:
    """Lower-cased, de-disguised text with an index map back to the original. With `join_gaps`
    off, dots and commas inside words are read as punctuation ("оу..уроды" is two words)."""
    norm, index = normalize_lazily(text, join_gaps)
    return norm, index()


def normalize_lazily(text: str, join_gaps: bool = True) -> tuple[str, Callable[[], list[int]]]:
    """`normalize`, with the index map computed only when asked for: most texts are accepted and
    never need it, and building it costs as much as the text itself."""
    cased, low, origin = _clean(text)
    if not join_gaps or "?" in low or _GAP_PUNCT.search(low):  # a cheap first look for a gap
        low = _gaps(low, cased, join_gaps)
    # "3.14" for "пи" (3.14дорас); brackets inside a word hide nothing ("хо(х)лы", "ч)урка").
    if "14" in low:
        low = PI.sub(lambda m: "пи" + "\x00" * (len(m.group()) - 2), low)
    if "}{" in low or ")(" in low or ">|<" in low:
        low = DRAWN.sub(lambda m: DRAWN_LETTER[m.group()] + "\x00" * (len(m.group()) - 1), low)
    if "(" in low or ")" in low:
        low = INNER_BRACKET.sub("\x00", low)
    # Only the tokens that need it are rewritten, one character for one, so positions stay.
    pieces: list[str] = []
    pos = 0
    for m in _unplain_tokens(low):  # the tokens WORD finds that are not all Cyrillic letters
        tok = m.group()
        if _PLAIN_TOKEN.fullmatch(tok):
            continue  # nothing to change: it goes out with the text around it
        # Trailing symbols are punctuation, not wildcards; so are opening quotes and "???или".
        core = tok.rstrip('?…~^*"%#') or tok
        lead = len(core) - len(core.lstrip("\"'?…~^"))
        start = m.start() + lead
        core = core[lead:]
        pieces += [low[pos:start], _token_fix(core, cased[start : start + len(core)])]
        pos = start + len(core)
    pieces.append(low[pos:])
    marked = "".join(pieces)
    text_ = marked.replace("\x00", "") if "\x00" in marked else marked  # placeholders of removed characters
    norm = squeeze_runs(_join_spaced(text_, None)[0])

    def index() -> list[int]:
        index = origin
        if text_ is not marked:  # "3.14" for "пи", brackets, gaps
            index, prev = [], 0
            for m in _NUL.finditer(marked):
                index += origin[prev : m.start()]
                prev = m.end()
            index += origin[prev:]
        return _squeeze(*_join_spaced(text_, index))[1]

    return norm, index


def _join_spaced(text: str, index: list[int] | None) -> tuple[str, list[int] | None]:
    """Spaced letters joined ("х у й" -> "хуй"); the index map follows when given."""
    if not _SPACED_HINT.search(text):  # SPACED needs two single characters between separators
        return text, index
    out: list[str] = []
    idx: list[int] = []
    pos = 0
    for m in SPACED.finditer(text):
        letters = [(i, ch) for i, ch in enumerate(m.group(), m.start()) if ch.isalnum() or ch == "*"]
        fixed = [(i, _token_fix("ж" + ch)[1:]) for i, ch in letters]
        if (
            len(letters) < 3
            or not all(CYR.match(ch) or ch == "*" for _, ch in fixed)
            or sum(ch != "*" for _, ch in fixed) < 2
        ):
            continue
        out.append(text[pos : m.start()])
        out += [ch for _, ch in fixed]
        if index is not None:
            idx += index[pos : m.start()]
            idx += [index[i] for i, _ in fixed]
        pos = m.end()
    out.append(text[pos:])
    if index is None:
        return "".join(out), None
    idx += index[pos:]
    return "".join(out), idx


def _squeeze(text: str, index: list[int]) -> tuple[str, list[int]]:
    """Runs of one letter become one ("мляяяя" -> "мля", "ссука" -> "сука"); roots are squeezed too."""
    if not _RUNS.search(text):
        return text, index
    runs = [m.span() for m in _RUNS.finditer(text)]
    idx = list(index)
    for start, end in reversed(runs):  # from the end, so earlier positions stay put; a slice each, in C
        del idx[start + 1 : end]
    return squeeze_runs(text), idx  # squeeze_runs is _RUNS.sub(r"\1", text)


def squeeze(word: str) -> str:
    return re.sub(r"(\w)\1+", r"\1", word.lower().replace("ё", "е"))


# Anything that the full pass would change beyond lower-casing and squeezing: mixed scripts or
# digits inside words, wildcards, hidden characters, spaced or gapped letters. A few cheap searches
# (each starts on a character class, which `re` scans fast) instead of one slow alternation.
_SPECIAL = re.compile(
    '[*"%#_~^@…$€{\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff'
    "\ufe20-\ufe2f\u200b-\u200f\u2060-\u2064\ufeff\u00ad\u034f]"
)
_LATIN = re.compile("[a-z]")
# Each look starts on one character class, which `re` scans fast, and the rarer condition comes
# second (a lookaround): a Latin letter next to a Cyrillic one, a digit next to a Cyrillic letter,
# punctuation between a letter or digit and a letter, two single characters between separators.
_MIXED = re.compile("[a-z](?:(?<=[а-я][a-z])|(?=[а-я]))")
_DIGIT_BY_CYRILLIC = re.compile("[0-9](?:(?<=[а-я][0-9])|(?=[а-я]))")
_DIGITS = re.compile("[0-9]+")
_PUNCT_BEFORE_LETTER = re.compile(r"[.,?()](?<=[^\W_][.,?()])[.,?()]*(?=[а-яa-z])")
_SPACED_HINT = re.compile(r"[ .\-_,·•|/\\][\w*][ .\-_,·•|/\\]{1,2}[\w*](?![\w*])")  # needed by SPACED
_RUNS = re.compile(r"([а-яa-z])\1+")
_CONTROL = re.compile("[\x00-\x08\x0b-\x0c\x0e-\x1f]")  # control characters other than \t \n \r
_RUNS_COMMON = re.compile(r"([а-яa-z])\1")  # a cheap first look for _RUNS


def _cyrillic(ch: str) -> bool:
    return "а" <= ch <= "я"


def _plain(low: str) -> bool:
    if _SPECIAL.search(low) or _LATIN.search(low) and _MIXED.search(low):
        return False
    if _DIGIT_BY_CYRILLIC.search(low):  # "3десь", "пи3дец": digits inside a Cyrillic word ("16а" is a number)
        for m in _DIGITS.finditer(low):
            start, end = m.start(), m.end()
            if start > 0 and _cyrillic(low[start - 1]) or end < len(low) and _cyrillic(low[end]):
                while start > 0 and low[start - 1].isalnum():
                    start -= 1
                while end < len(low) and low[end].isalnum():
                    end += 1
                if _token_fix(low[start:end]) != low[start:end]:
                    return False
    # "бл.ть", "д,билы", "х?й", "3.14дор", "ч)урка"; but "г.Курск" or "ситуации,что" change nothing.
    # Gaps are closed as the full pass would (without its capitals exceptions: it changes no more).
    if _PUNCT_BEFORE_LETTER.search(low):
        if "14" in low and PI.search(low) or ("(" in low or ")" in low) and INNER_BRACKET.search(low):
            return False
        if _gap_changes(low):
            return False
    if (")(" in low or ">|<" in low) and DRAWN.search(low):
        return False
    if _SPACED_HINT.search(low) and SPACED.search(low):
        return False
    return low.isprintable() or _CONTROL.search(low) is None


def squeeze_runs(low: str) -> str:
    """`_RUNS.sub(r"\1", low)`: a run of one letter becomes one letter; a replace per doubled
    letter (in C) instead of a template expansion per run."""
    if not _RUNS_COMMON.search(low):
        return low
    for ch in set(_RUNS_COMMON.findall(low)):
        double = ch + ch
        while double in low:
            low = low.replace(double, ch)
    return low


def plain_normalized(text: str) -> str | None:
    """The normalized text of a plain message (nothing disguised: lower-casing and squeezing are
    all it takes), or None when the full pass is needed. The common case, so it is kept cheap."""
    low = text.lower().replace("ё", "е")
    if len(low) != len(text) or not _plain(low):
        return None
    # No combining marks (they are _SPECIAL), so the text is already composed (NFC).
    return squeeze_runs(low)


def plain_index(text: str) -> list[int]:
    """For a plain message, the position in `text` of every character of plain_normalized(text)."""
    low = text.lower().replace("ё", "е")
    return _squeeze(low, list(range(len(low))))[1]


def normalize_text(text: str) -> str:
    """The normalized text alone, fast for the common plain message (no index map)."""
    fast = plain_normalized(text)
    return normalize_lazily(text)[0] if fast is None else fast
