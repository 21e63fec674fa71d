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

# Latin letters and digits that people use for Cyrillic ones, inside Cyrillic words.
LOOKALIKE = str.maketrans({
    "a": "а", "b": "б", "c": "с", "e": "е", "h": "н", "k": "к", "m": "м", "o": "о", "p": "р", "t": "т",
    "x": "х", "y": "у", "u": "и", "n": "п", "z": "з", "r": "г", "d": "д", "i": "і", "l": "л", "s": "с",
    "3": "з", "0": "о", "6": "б", "4": "ч", "$": "с", "€": "е", "9": "я", "1": "і",
})
WILDCARDS = "*\"%#_…?~^@"
ZERO_WIDTH = re.compile("[\u200b-\u200f\u2060-\u2064\ufeff\u00ad\u034f]")
CYR = re.compile("[а-яё]")
# Runs of single letters split by separators: "п.и.з.д.а", "х у й", "б-л-я".
SPACED = re.compile(r"(?<![\w*])(?:[\w*](?:[ .\-_,·•|/\\]{1,2})){2,}[\w*](?![\w*])")


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    text = ZERO_WIDTH.sub("", text)
    # Combining marks left after NFC are decoration (ударения, "zalgo"): drop them.
    return "".join(ch for ch in text if unicodedata.category(ch) != "Mn")


def _token_fix(tok: str) -> str:
    """A token that mixes Cyrillic with look-alikes becomes all-Cyrillic; pure Latin stays Latin."""
    letters = len(CYR.findall(tok))
    if letters < 1 or sum(ch.isdigit() for ch in tok) >= letters:
        return tok  # "16а", "5-й": numbers, not disguise
    out = tok.translate(LOOKALIKE).replace("і", "и")
    return "".join("*" if ch in WILDCARDS else ch for ch in out)


WORD = re.compile(r"[\w*\"'%#@$€…?~^]+")


# Dots or a comma inside a Cyrillic word hide letters: "нае...ли", "д,билы".
# Only short fragments on either side: "забыла,пиздец" is two words without a space.
INNER_GAP = re.compile(r"(?<![а-яa-z])([а-яa-z]{1,4})(\.{2,}|,)(?=[а-я]{1,5}(?![а-я]))")


PI = re.compile(r"(?<![\d.,])3[.,]14(?=[а-я])")
INNER_BRACKET = re.compile(r"(?<=[а-я])[()](?=[а-я])")


def normalize(text: str) -> tuple[str, list[int]]:
    """Lower-cased, de-disguised text with an index map back to the original."""
    src = _clean(text)
    low = src.lower().replace("ё", "е")
    low = INNER_GAP.sub(lambda m: m.group(1) + "*" + "\x00" * (len(m.group(2)) - 1), low)
    # "3.14" for "пи" (3.14дорас); brackets inside a word hide nothing ("хо(х)лы", "ч)урка").
    low = PI.sub(lambda m: "пи" + "\x00" * (len(m.group()) - 2), low)
    low = INNER_BRACKET.sub("\x00", low)
    chars: list[str] = []
    index: list[int] = []
    pos = 0
    for m in WORD.finditer(low):
        for i in range(pos, m.start()):
            chars.append(low[i])
            index.append(i)
        tok = m.group()
        # Trailing ? or … are punctuation, not wildcards.
        core = tok.rstrip("?…~^*\"%#") or tok  # trailing symbols are punctuation
        lead = len(core) - len(core.lstrip("\"'"))  # so are opening quotes
        for i in range(lead):
            chars.append(low[m.start() + i])
            index.append(m.start() + i)
        start = m.start() + lead
        core = core[lead:]
        fixed = _token_fix(core)
        for i, ch in enumerate(fixed):
            chars.append(ch)
            index.append(start + min(i, len(core) - 1))
        for i in range(start + len(core), m.end()):
            chars.append(low[i])
            index.append(i)
        pos = m.end()
    for i in range(pos, len(low)):
        chars.append(low[i])
        index.append(i)
    text_ = "".join(chars)
    keep = [i for i, ch in enumerate(text_) if ch != "\x00"]
    joined, index = _join_spaced("".join(text_[i] for i in keep), [index[i] for i in keep])
    return _squeeze(joined, index)


def _join_spaced(text: str, index: list[int]) -> tuple[str, list[int]]:
    out: list[str] = []
    idx: list[int] = []
    pos = 0
    for m in SPACED.finditer(text):
        letters = [(i, ch) for i, ch in enumerate(m.group(), m.start()) if ch.isalnum() or ch == "*"]
        fixed = [(i, _token_fix("ж" + ch)[1:]) for i, ch in letters]
        if len(letters) < 3 or not all(CYR.match(ch) or ch == "*" for _, ch in fixed) \
                or sum(ch != "*" for _, ch in fixed) < 2:
            continue
        out.extend(text[pos:m.start()])
        idx.extend(index[pos:m.start()])
        for i, ch in fixed:
            out.append(ch)
            idx.append(index[i])
        pos = m.end()
    out.extend(text[pos:])
    idx.extend(index[pos:])
    return "".join(out), idx


def _squeeze(text: str, index: list[int]) -> tuple[str, list[int]]:
    """Runs of one letter become one ("мляяяя" -> "мля", "ссука" -> "сука"); roots are squeezed too."""
    out: list[str] = []
    idx: list[int] = []
    prev = ""
    for ch, i in zip(text, index, strict=True):
        if ch == prev and ch.isalpha():
            continue
        out.append(ch)
        idx.append(i)
        prev = ch
    return "".join(out), idx


def squeeze(word: str) -> str:
    return re.sub(r"(\w)\1+", r"\1", word.lower().replace("ё", "е"))


# Anything that the full pass would change beyond lower-casing and squeezing: mixed scripts or
# digits inside words, wildcards between letters, hidden characters, spaced or gapped letters.
_NOT_PLAIN = re.compile(
    r"[a-z][а-я]|[а-я][a-z]|[а-я][0-9@$€]|[0-9@$€][а-я]|[*\"%#_~^@…]|[а-я]\?[а-я]"
    r"|[\u0300-\u036f\u200b-\u200f\u2060-\u2064\ufeff\u00ad\u034f]|(?<![\w*])\w[ .\-_,·•|/\\]{1,2}\w[ .\-_,·•|/\\]"
    r"|[а-яa-z](?:\.{2,}|,)[а-я]|3[.,]14[а-я]|[а-я][()][а-я]")
_RUNS = re.compile(r"([^\W\d_])\1+")


def normalize_text(text: str) -> str:
    """The normalized text alone, fast for the common plain message (no index map)."""
    low = text.lower().replace("ё", "е")
    if _NOT_PLAIN.search(low) or not low.isprintable() and any(ord(c) < 32 and c not in "\n\r\t" for c in low):
        return normalize(text)[0]
    return _RUNS.sub(r"\1", unicodedata.normalize("NFC", low))
