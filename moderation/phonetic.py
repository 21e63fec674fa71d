"""Words spelt as they sound: a letter or two swapped for its voiced or voiceless twin, a reduced
vowel or х for к ("епал", "куйло", "питары", "гантон"). People disguise obscene words this way
because the word still reads aloud the same, and no mask or Latin letter gives it away.

A word is read so only when it is not a word of the language (the pymorphy3 dictionary the
project already ships: "мутила", a form of мутить, or "кули" stay what they are), has at least
four letters, and differs from one of the lexicon's full forms (`masked_forms`, `masked_insults`:
the words a self-censored spelling is matched against) in one or two letters, each swapped for
its twin; in one only when the first letter is swapped ("куйло", but not "безде" for "пизде", nor
"ипанутые"). Nothing here lists words of its own. The rules read it last, never in a capitalised
word (a name) or as a word split in two (moderation/rules.py).

The look-up is by key: every letter replaced by its class (a letter and the letters it swaps
with share one), so a word costs one `str.translate` and one set look-up, and the dictionary is
asked only for the rare word whose key is a form's key."""

from __future__ import annotations

import functools

# Letters that stand for one another when a word is written as it sounds: voiced and voiceless
# pairs, х for к and г, reduced vowels.
CLASSES = ("бп", "вф", "гкх", "дт", "жш", "зс", "оа", "еёиыя", "юу")
KEY = str.maketrans({letter: group[-1] for group in CLASSES for letter in group})
MAX_SWAPS = 2  # "питары" takes two; three reach real words' neighbours
MIN_LETTERS = 4  # "суки" and longer; a shorter word has too many neighbours
LETTERS = frozenset("абвгдеёжзийклмнопрстуфхцчшщъыьэюя")


@functools.cache
def _dictionary():  # noqa: ANN202 — pymorphy3 has no type hints; loaded on the first key hit
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


def is_known_word(word: str) -> bool:
    """Whether the word, or the word with one letter doubled back, is in the dictionary: the
    normaliser squeezes doubled letters ("рассыпали" arrives as "расыпали")."""
    known = _dictionary().word_is_known
    if known(word):
        return True
    return any(known(word[: i + 1] + word[i:]) for i in range(len(word)))


class SoundsLike:
    """Full forms by key; `reason(word)` is the reason of the form a word reads as, or None."""

    def __init__(self, forms: dict[str, str]) -> None:
        """`forms`: full form -> its reason ("obscene", "insult")."""
        self.by_key: dict[str, list[tuple[str, str]]] = {}
        for form, reason in forms.items():
            if len(form) >= MIN_LETTERS and LETTERS.issuperset(form):
                self.by_key.setdefault(form.translate(KEY), []).append((form, reason))

    def reason(self, word: str) -> str | None:
        candidates = self.by_key.get(word.translate(KEY))
        if not candidates or not LETTERS.issuperset(word):
            return None
        for form, reason in candidates:
            swaps = sum(a != b for a, b in zip(word, form, strict=True))
            # A swapped first letter leaves less of the word to go by ("безде" is not "пизде"):
            # then one swap only ("куйло").
            if 0 < swaps <= (1 if word[0] != form[0] else MAX_SWAPS):
                return None if is_known_word(word) else reason
        return None
