"""Curators' corrections applied at once: a nearest-neighbour memory over the corrected messages,
consulted before the model and the rules.

A correction (console or API: `otklik.services.cases.route(..., learn=...)`) is one line appended
to the corrections file (router.learning.record_correction). That file is the memory's only
store: the running router reads the lines appended since it last looked (its own process's
corrections at once; another process's — the console without a pipeline — on its next routing
call), so a correction survives a restart and needs no retraining. The next `otklik router train
--corrections FILE` folds the same lines into the model's training rows.

A new message takes a correction only when it is nearly the same message: the share of shared
words (Jaccard over the sets of content words; numbers left out, so another house number on the
same street is the same complaint) is at least MIN_SIMILARITY. Anything less keeps the model's
or the rules' decision, so a correction never moves unrelated routes. Lookups go through an
inverted index (word → corrections containing it): an empty memory costs nothing, and a full
one only touches the corrections sharing a word with the message.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter, defaultdict
from itertools import chain
from pathlib import Path
from typing import NamedTuple

from router.text import normalize, words

log = logging.getLogger("otklik.router.corrections")

MIN_SIMILARITY = 0.75  # Jaccard of content words: one or two words changed in a short message
MIN_WORD = 3  # shorter words (prepositions, «у», «на») say nothing about the topic


class Correction(NamedTuple):
    topic_group: str
    topic: str | None
    executor: str | None


def content_words(tokens: list[str]) -> frozenset[str]:
    """The words that tell messages apart: no numbers, no short function words."""
    return frozenset(w for w in tokens if len(w) >= MIN_WORD and not w.isdigit())


class CorrectionMemory:
    """The corrections read from `path` (JSONL written by record_correction), newest winning when
    two corrected texts are equally close."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._offset = 0  # bytes of the file already read
        self._identity: tuple[int, int] | None = None  # (device, inode): a replaced file is re-read
        self._sets: list[frozenset[str]] = []
        self._labels: list[Correction] = []
        self._index: dict[str, list[int]] = defaultdict(list)
        self.refresh()

    def __len__(self) -> int:
        return len(self._labels)

    def refresh(self) -> int:
        """Read the lines appended since the last call; returns how many corrections were added.
        A file that shrank or was replaced is read again from its start."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            if self._labels:
                self._reset()
            return 0
        identity = (st.st_dev, st.st_ino)
        if identity != self._identity or st.st_size < self._offset:
            self._reset()
            self._identity = identity
        if st.st_size == self._offset:
            return 0
        with self.path.open("rb") as f:
            f.seek(self._offset)
            chunk = f.read(st.st_size - self._offset)
        end = chunk.rfind(b"\n") + 1  # a line still being written is read next time
        self._offset += end
        added = 0
        for n, line in enumerate(chunk[:end].splitlines(), 1):
            if line.strip() and self._add_line(line, n):
                added += 1
        return added

    def _reset(self) -> None:
        self._offset = 0
        self._sets.clear()
        self._labels.clear()
        self._index.clear()

    def _add_line(self, line: bytes, n: int) -> bool:
        try:
            record = json.loads(line)
            text, group = record["text"], record["topic_group"]
        except (ValueError, KeyError, TypeError):
            # Never the line itself: it holds a citizen's text.
            log.warning("corrections file: unreadable line skipped", extra={"path": str(self.path), "line": n})
            return False
        if not isinstance(text, str) or not isinstance(group, str) or not group:
            return False
        self.add(text, Correction(group, record.get("topic") or None, record.get("executor") or None))
        return True

    def add(self, text: str, correction: Correction) -> None:
        """Remember one corrected text (in this process only; record_correction persists it)."""
        key = content_words(words(normalize(text)))
        if not key:
            return
        i = len(self._labels)
        self._sets.append(key)
        self._labels.append(correction)
        for w in key:
            self._index[w].append(i)

    def match(self, tokens: list[str]) -> tuple[Correction, float] | None:
        """The correction of the closest corrected text, with its similarity, when one is close
        enough; `tokens` are the message's words (router.text.words of the normalized text)."""
        if not self._labels:
            return None
        key = content_words(tokens)
        if not key:
            return None
        index = self._index
        shared = Counter(chain.from_iterable(index[w] for w in key if w in index))  # counted in C
        # Jaccard ≥ t needs at least t·|key| shared words: most candidates end here.
        least = MIN_SIMILARITY * len(key)
        best, best_sim = -1, 0.0
        for i, s in shared.items():
            if s < least:
                continue
            sim = s / (len(key) + len(self._sets[i]) - s)
            if sim > best_sim or (sim == best_sim and i > best):
                best, best_sim = i, sim
        if best < 0 or best_sim < MIN_SIMILARITY:
            return None
        return self._labels[best], round(best_sim, 3)
