"""Text rules: obscenity (also disguised), insults, threats, intent to harm, spam.

Pure and fast: one normalization pass, a cached verdict per word, then only those phrase regexes
whose key fragments occur in the text (moderation/triggers.py). A text with nothing to report
costs a few dictionary lookups per word; the positions for the curator are computed only for
texts that are dropped."""

from __future__ import annotations

import re
from collections.abc import Callable

from moderation.lexicon import Lexicon
from moderation.normalizer import (
    lookalike_reading,
    normalize_lazily,
    plain_index,
    plain_normalized,
    translit_readings,
)
from moderation.triggers import Prefixes
from moderation.verdict import Span, Verdict

# Links in the normalized text, where letter runs are squeezed: "http" reads "htp", "www" reads "w".
URL = re.compile(
    r"(?:ht+ps?://|w+\.)([a-z0-9.-]+)|(?<![\w.@-])((?:[a-z0-9-]+\.)+(?:ru|com|net|org|рф|su|info|"
    r"biz|online|site|xyz|top|shop|club|pro|me|io|ly|cc))(?![\w-])"
)
LOOKS_LIKE_LINK = re.compile(r"[a-z0-9]\.[a-zр]")
WORD = re.compile(r"[\w*]+")
MAX_CHECKED = 20_000  # characters; a longer text is checked in its first and last parts
# Words that are never half of a word split by a space: "по ху" is not joined, "дро чи" is.
NOT_HALVES = frozenset(
    "а и в к с у о я бы ну не ни да то же ли но на за по до из от об под над при про "
    "без для это вот так как что все уже еще мне нет он она они мы вы ты их его ее "
    "там тут где".split()
)
# Words that people glue to the insult or obscenity that follows ("этотурод", "нуидиот"): a word is
# also judged without one of these at its start. No verbal prefixes here ("на", "за", "по"): the
# lexicon's own patterns decide those.
GLUE_HEADS = tuple(
    "и ну ты вы эти этот эта это какой какая какие тупой тупая тупые там тут вот все всё "
    "одни сам сами просто старый старая ваш ваши наш наши твой же они он она".split()
)
_GLUE_START = Prefixes(GLUE_HEADS)  # `startswith(GLUE_HEADS)`, faster
CYRILLIC_WORD = re.compile("[а-я]+")
MAX_CACHED = 500_000  # words whose verdict is kept
_DEFAULT: Lexicon | None = None
Finding = tuple[int, int, str]  # start, end in the normalized text, reason


def default_lexicon() -> Lexicon:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Lexicon.load()
    return _DEFAULT


def _span(original: str, index: list[int], start: int, end: int, reason: str) -> Span:
    a, b = index[start], index[max(start, end - 1)] + 1
    return Span(start=a, end=b, text=original[a:b], reason=reason)  # validating is faster than model_construct


def _plausible(word: str) -> bool:
    """A disguised word must keep most of its letters: `***` or `х**` is not evidence."""
    stars = word.count("*")
    if stars == 0:
        return True
    return not word.startswith("**") and len(word) - stars >= 2 and stars <= (len(word) + 1) // 2


def _masked(lex: Lexicon, word: str, forms: str | None = None) -> bool:
    """A self-censored word ("х**ня", "***ло", "п***ц"): stars stand for one or more letters.
    It counts when it fits one of the full obscene forms and keeps at least two real letters."""
    if "*" not in word:
        return False
    letters = sum(ch != "*" for ch in word)
    if letters < (2 if forms is None else 3):
        return False
    parts = []
    for run in re.findall(r"\*+|[^*]+", word):
        parts.append(f"[а-я]{{1,{max(3, len(run) + 2)}}}" if run[0] == "*" else re.escape(run))
    forms = lex.masked_forms if forms is None else forms
    return re.search("^" + "".join(parts) + "$", forms, re.MULTILINE) is not None


def _judge_word(lex: Lexicon, word: str, glued: bool = True) -> str | None:
    if lex.exception_start(word):
        return None
    # Most words are plain Cyrillic: no stars (plausible, never masked), no look-alikes, no
    # transliteration; only the patterns and the glued heads can find anything in them.
    cyrillic = CYRILLIC_WORD.fullmatch(word) is not None
    if (cyrillic or _plausible(word)) and ("*" in word or lex.word_gate(word)):
        if lex.obscene_word is not None and lex.obscene_word.fullmatch(word):
            return "obscene"
        if lex.insult_word is not None and lex.insult_word.fullmatch(word):
            return "insult"
        if len(word) > 5 and not (lex.exception_inside and lex.exception_inside.search(word)):
            if lex.obscene_inside is not None and lex.obscene_inside.search(word):
                return "obscene"
            if lex.insult_inside is not None and lex.insult_inside.search(word):
                return "insult"
    if not cyrillic:
        if _masked(lex, word):
            return "obscene"
        if _masked(lex, word, lex.masked_insults):
            return "insult"
        if (reading := lookalike_reading(word)) is not None:  # "cyka", "6ля": look-alikes throughout
            if found := _judge_word(lex, reading):
                return found
        for reading in translit_readings(word):  # "pizdec", "debily"
            if CYRILLIC_WORD.fullmatch(reading) and (found := _judge_word(lex, reading, glued=False)):
                return found
    if glued and len(word) >= 4 and "*" not in word and _GLUE_START(word):  # "этотурод": glued
        # A plain Cyrillic rest can only be found by the word patterns: the gate says if it may.
        gate = lex.word_gate if cyrillic else None
        for head in GLUE_HEADS:
            if word.startswith(head) and len(word) - len(head) >= 3:
                rest = word[len(head) :]
                if (gate is None or gate(rest)) and (found := _judge_word(lex, rest, glued=False)):
                    return found
                # The letter the two words shared was squeezed: "этиидиот" reads "этидиот".
                rest = word[len(head) - 1 :]
                if len(head) > 1 and (gate is None or gate(rest)) and (found := _judge_word(lex, rest, glued=False)):
                    return found
    return None


def word_reason(lex: Lexicon, word: str) -> str | None:
    """Obscene or insult for one normalized word. Cached per lexicon: words repeat, so this is
    usually one dictionary lookup."""
    cache = lex.word_cache
    if word in cache:
        return cache[word]
    reason = _judge_word(lex, word)
    # A word spelt as it sounds ("епал") is read last: only words nothing else explains get there.
    if reason is None and (reason := lex.sounds_like.reason(word)):
        lex.sounded.add(word)  # kept past the cache's cap: only spellings within two swaps of a form get here
    if len(cache) < MAX_CACHED:  # bounded: a flood of random tokens must not grow memory forever
        cache[word] = reason
        if reason is None:
            lex.no_reason.add(word)
        if _half(word):
            lex.halves.add(word)
    return reason


def _half(word: str) -> bool:
    """Whether a word could be one half of a word split by a space ("дро чи")."""
    return len(word) <= 4 and word not in NOT_HALVES and word.isalpha()


def _pair_is_split_word(lex: Lexicon, a: str, b: str) -> bool:
    """A word split in two by a space ("дро чи"): both halves short, neither a word of its own."""
    if not _half(a) or not _half(b):
        return False
    whole = a + b  # "шлю га" is two words, not "шлюга" read as it sounds
    return word_reason(lex, a) is None and word_reason(lex, whole) == "obscene" and whole not in lex.sounded


_UNSEEN = object()


def _any_word(lex: Lexicon, words: list[str], unique: set[str]) -> bool:
    """Whether any word has a reason, or two neighbours are one split word. `unique`: the words
    of the text less the idle ones (they have no reason and are no halves)."""
    for w in unique.difference(lex.no_reason):  # usually none or a few: every other word is known clean
        if word_reason(lex, w):
            return True
    if _split_pair(lex, words, unique):
        return True
    new = unique.difference(lex.busy_words)  # words seen for the first time, usually none
    if new and len(lex.idle_words) < MAX_CACHED:  # judged clean: idle unless a half or a phrase's start
        idle = lex.phrase_filter.idle
        for w in new:
            if w in lex.no_reason:
                (lex.idle_words if w in idle and w not in lex.halves else lex.busy_words).add(w)
    return False


def _split_pair(lex: Lexicon, words: list[str], unique: set[str]) -> bool:
    """Whether two neighbouring words are one word split in two by a space ("дро чи"), whatever
    separates them. Only pairs of short alphabetic words can be one; every word of `unique` has
    been judged (word_reason) before."""
    if len(lex.word_cache) < MAX_CACHED:
        halves = unique.intersection(lex.halves)
        if not halves:
            return False
    else:
        halves = {w for w in unique if _half(w)}
    # Neighbours that are both halves, found in C: a byte per word, then a search for two ones.
    mask = bytes(map(halves.__contains__, words))
    i = mask.find(b"\x01\x01")
    while i >= 0:
        if _pair_is_split_word(lex, words[i], words[i + 1]):
            return True
        i = mask.find(b"\x01\x01", i + 1)
    return False


def _word_char(ch: str) -> bool:
    """A character of WORD (`[\\w*]`): `re`'s \\w is str.isalnum() or the underscore."""
    return ch.isalnum() or ch == "_" or ch == "*"


def _words(lex: Lexicon, scan: _Scan) -> list[Finding]:
    """Words with a reason, and words split in two by a space, where they are in the text. Usually
    only a few words have a reason: they are looked up with str.find, not by walking every word."""
    norm = scan.norm
    reasons = [(word, reason) for word in scan.busy.difference(lex.no_reason) if (reason := word_reason(lex, word))]
    if _split_pair(lex, scan.words, scan.busy):
        return _every_word(lex, norm)  # rare: the walk pairs each word with the one before it
    found: list[Finding] = []
    for word, reason in reasons:
        i, n = norm.find(word), len(word)
        while i >= 0:  # every place where the word is a whole WORD token
            if (i == 0 or not _word_char(norm[i - 1])) and (i + n == len(norm) or not _word_char(norm[i + n])):
                found.append((i, i + n, reason))
            i = norm.find(word, i + 1)
    found.sort()
    return found


def _every_word(lex: Lexicon, norm: str) -> list[Finding]:
    found: list[Finding] = []
    prev: re.Match[str] | None = None
    clean, halves = lex.no_reason, lex.halves  # cached together: a clean word is in halves if it is one
    for m in WORD.finditer(norm):
        word = m.group()
        if word in clean:  # the common case: no reason; it may still end a split word ("дро чи")
            if (
                word in halves
                and prev is not None
                and norm[prev.end() : m.start()] == " "
                and _pair_is_split_word(lex, prev.group(), word)
            ):
                found.append((prev.start(), m.end(), "obscene"))
        elif reason := word_reason(lex, word):
            found.append((m.start(), m.end(), reason))
        elif (
            prev is not None
            and norm[prev.end() : m.start()] == " "
            and _pair_is_split_word(lex, prev.group(), word)
        ):
            found.append((prev.start(), m.end(), "obscene"))
        prev = m
    return found


def _disguised_words(lex: Lexicon, unique: set[str]) -> bool:
    """Whether any of the words is one that is a slur when disguised (cached per word)."""
    pattern = lex.disguised_word
    if pattern is None:
        return False
    for word in unique.difference(lex.not_disguised):
        if pattern.fullmatch(word):
            return True
        if len(lex.not_disguised) < MAX_CACHED:
            lex.not_disguised.add(word)
    return False


def _disguised(lex: Lexicon, norm: str, original: str, index: list[int], unique: set[str]) -> list[Finding]:
    """Words that are ordinary when spelt plainly but a slur when someone bothered to disguise them
    (a Latin letter or a symbol inside a Cyrillic word)."""
    if lex.disguised_word is None or not _disguised_words(lex, unique):
        return []
    found: list[Finding] = []
    for m in WORD.finditer(norm):
        if lex.disguised_word.fullmatch(m.group()):
            source = original[index[m.start()] : index[m.end() - 1] + 1].lower()
            if re.search(r"[a-z0-9@$*\"%#]", source) and re.search("[а-я]", source):
                found.append((m.start(), m.end(), "insult"))
    return found


def _untrusted_links(lex: Lexicon, norm: str) -> tuple[set[str], list[Finding]]:
    """Sites not on the trusted list (portals, maps, photo hosting), and where their links are."""
    sites: set[str] = set()
    spans: list[Finding] = []
    for m in URL.finditer(norm):
        host = (m.group(1) or m.group(2) or "").strip(".")
        if host.startswith("w."):
            host = host[2:]
        if host and not ("." + host).endswith(lex.trusted_suffixes):  # a trusted site or its subdomain
            sites.add(host)
            spans.append((m.start(), m.end(), "spam"))
    return sites, spans


class _Scan:
    """What every pass over one normalized text needs, computed once: its words, the phrase groups
    its words can start, and each phrase regex's matches (the quick pass and the full pass share
    them: a phrase regex over the whole text is the costliest single step)."""

    __slots__ = ("lex", "norm", "words", "unique", "busy", "active", "_hits", "spam")

    def __init__(self, lex: Lexicon, norm: str) -> None:
        self.lex = lex
        self.norm = norm
        self.words = WORD.findall(norm)
        self.unique = set(self.words)
        self.busy = self.unique.difference(lex.idle_words)  # the words that may matter to a rule
        self.active = lex.phrase_filter.select(self.busy, norm)  # group -> its patterns that can match
        self._hits: dict[str, list[tuple[int, int]]] = {}
        self.spam: list[Finding] | None = None  # _spam's answer, once asked

    def hits(self, group: str) -> list[tuple[int, int]]:
        """(start, end) of every match of a phrase group; [] for a group the text cannot match."""
        found = self._hits.get(group)
        if found is None:
            patterns = self.active.get(group)
            found = self.lex.phrase_spans(group, patterns, self.norm) if patterns else []
            self._hits[group] = found
        return found


def _spam(lex: Lexicon, scan: _Scan) -> list[Finding]:
    """Advert phrases count 1 (strong ones 2); ways to reach the advertiser add 1 together, so a
    phone number or a link alone is never spam. Many unrelated sites in one message are."""
    if scan.spam is None:
        scan.spam = _spam_of(lex, scan)
    return scan.spam


def _spam_of(lex: Lexicon, scan: _Scan) -> list[Finding]:
    hits: list[Finding] = []
    score = 0
    norm = scan.norm
    for group, weight in (("spam_strong", 2), ("spam_markers", 1)):
        if group in scan.active:
            found = [(a, b, "spam") for a, b in scan.hits(group)]
            hits += found
            score += weight * len(found)
    if score:  # ways to reach the advertiser count only beside an advert
        reach = [(a, b, "spam") for a, b in scan.hits("spam_contacts")]
        hits += reach
        score += 1 if reach else 0
    if LOOKS_LIKE_LINK.search(norm):
        sites, links = _untrusted_links(lex, norm)
        if len(sites) >= lex.data.spam.link_farm:  # a link farm is spam on its own
            score += lex.data.spam.threshold
            hits += [link for link in links if link not in hits]
    if score >= lex.data.spam.threshold:
        return hits or [(0, 0, "spam")]
    return []


def _not_aimed(lex: Lexicon, norm: str, found: list[Finding]) -> list[Finding]:
    """Drop insult findings inside idioms and reported speech («назвал их дураками»)."""
    if lex.not_insult is None or not any(r == "insult" for _, _, r in found):
        return found
    spans = [(m.start(), m.end()) for m in lex.not_insult.finditer(norm)]
    return [f for f in found if f[2] != "insult" or not any(a <= f[0] and f[1] <= b for a, b in spans)]


SURNAME_ENDING = re.compile(r"(?:ов|ев|ёв|ин|ын|ова|ева|ёва|ина|ына|енко|ский|ская)$")


def _written_as_name(token: str) -> bool:
    """Capitalised: "Петрин", not "УРОДЫ" (shouting) or "уроды"."""
    return len(token) > 1 and token[0].isupper() and token[1:].islower()


def _a_name(lex: Lexicon, norm: str, original: str, index: list[int], finding: Finding) -> bool:
    """A finding that is a name rather than abuse. "Козлов", "Баранов", "Хохлов" are surnames when
    written as names, with a surname's ending ("Уроды!" and "в Рашке" are not); a word read as it
    sounds ("Петрин", "Куив") counts only in lower case or shouted."""
    start, end = index[finding[0]], index[max(finding[0], finding[1] - 1)] + 1
    token = original[start:end]
    if not _written_as_name(token):
        return False
    if finding[2] == "insult" and SURNAME_ENDING.search(token.lower()):
        return True
    return norm[finding[0] : finding[1]] in lex.sounded


def _findings(
    lex: Lexicon, scan: _Scan, original: str | None = None, index: list[int] | None = None, quick: bool = False
) -> list[Finding]:
    """Everything the rules find in a normalized text. `quick`: only whether anything is found
    (no positions, no reported-speech check: the full pass repeats and refines it)."""
    norm, words, unique = scan.norm, scan.words, scan.unique
    found: list[Finding] = []
    for group, reason in (
        ("obscene_phrases", "obscene"),
        ("threat", "threat"),
        ("harm_intent", "harm_intent"),
    ):
        if group in scan.active:  # most texts can match none of the phrase groups
            found += [(a, b, reason) for a, b in scan.hits(group)]
    if quick:
        return found or ([(0, 0, "words")] if _any_word(lex, words, scan.busy) else []) or _spam(lex, scan)
    found = _words(lex, scan) + found
    if original is not None and index is not None:
        found += _disguised(lex, norm, original, index, unique)
        found = [f for f in found if not _a_name(lex, norm, original, index, f)]
    found = _not_aimed(lex, norm, found)
    return found + _spam(lex, scan)


def _readings(text: str) -> list[tuple[str, Callable[[], list[int]]]]:
    """The normalized text; when a gap inside a word was closed ("нае...ли"), also the reading with
    the gap left open, since "оу..уроды" is two words: a finding in either counts. Each with its
    index map, computed when asked for (only texts with findings need one)."""
    norm, index = normalize_lazily(text)
    readings = [(norm, index)]
    if "*" in norm:
        split = normalize_lazily(text, join_gaps=False)
        if split[0] != norm:
            readings.append(split)
    return readings


# HTML from the feedback portals: tags and entities are not words. They are blanked out with
# spaces of the same length, so every offset stays an offset into the original text.
MARKUP = re.compile(r"<[a-zA-Z/!][^<>]{0,2000}>|&(?:[a-zA-Z]{2,8}|#\d{1,6});")


def blank_markup(text: str) -> str:
    if "<" not in text and "&" not in text:
        return text
    return MARKUP.sub(lambda m: " " * len(m.group()), text)


def check_text(text: str, lexicon: Lexicon | None = None) -> Verdict:
    """Accept or drop by the text rules alone, with reason codes and the spans that matched."""
    return check_text_normalized(text, lexicon)[0]


def check_text_normalized(text: str, lexicon: Lexicon | None = None) -> tuple[Verdict, str | None]:
    """check_text, and the normalized text it judged (markup blanked), so the caller need not
    normalize it again (repeat features); None for a text too long to be judged whole."""
    original = text
    text = blank_markup(text)
    verdict, norm = _check_long(text, lexicon or default_lexicon())
    if text is not original:  # span texts from the original (the offsets are the same)
        for span in verdict.spans:
            span.text = original[span.start : span.end]
    return verdict, norm


def _check_long(text: str, lex: Lexicon) -> tuple[Verdict, str | None]:
    if len(text) > MAX_CHECKED:
        # A huge text is judged by its beginning and its end (where abuse and adverts sit); the
        # tail's spans are shifted back to their place in the whole text.
        half = MAX_CHECKED // 2
        head, tail = _check(text[:half], lex)[0], _check(text[-half:], lex)[0]
        shift = len(text) - half
        spans = head.spans + [
            s.model_copy(update={"start": s.start + shift, "end": s.end + shift}) for s in tail.spans
        ]
        reasons = head.reasons + [r for r in tail.reasons if r not in head.reasons]
        return Verdict(decision="drop" if reasons else "accept", reasons=reasons, spans=spans), None
    return _check(text, lex)


def _check(text: str, lex: Lexicon) -> tuple[Verdict, str]:
    fast = plain_normalized(text)
    if fast is not None:
        scans = [_Scan(lex, fast)]
        if not _findings(lex, scans[0], quick=True):
            return Verdict(decision="accept"), fast  # the common case: a plain text with nothing to report
        readings = [(fast, lambda: plain_index(text))]
    else:
        readings = _readings(text)
        scans = [_Scan(lex, norm) for norm, _ in readings]
        if not any(_findings(lex, scan, quick=True) or _disguised_words(lex, scan.unique) for scan in scans):
            return Verdict(decision="accept"), readings[0][0]  # punctuation or markup, nothing to report
    spans: list[Span] = []
    seen: set[tuple[int, int, str]] = set()  # spans so far, by place and reason (their text follows)
    reasons: list[str] = []
    for (_, index_map), scan in zip(readings, scans, strict=True):
        index = index_map()
        for start, end, reason in _findings(lex, scan, text, index):
            if end > start:
                span = _span(text, index, start, end, reason)
                if (span.start, span.end, reason) not in seen:
                    seen.add((span.start, span.end, reason))
                    spans.append(span)
            if reason not in reasons:
                reasons.append(reason)
    verdict = Verdict(decision="drop" if reasons else "accept", reasons=reasons, spans=spans)
    return verdict, readings[0][0]
