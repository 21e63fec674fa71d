"""The trained model's features, computed for a whole batch with numpy instead of per message in
Python: routing must keep up with 5,000 messages a second on one core, and scikit-learn's text
vectorizers spend ~400 µs on one long appeal (its analyzers are Python loops over every n-gram).

Every block starts from the message's words (router.text.words of the normalized text), which
the router has already split for its rules, and the rubricator's scores, which it has already
computed; nothing is tokenized twice.

- `TermBlock` — TF-IDF over integer term keys (sublinear tf, smoothed idf, rows of unit norm),
  the vocabulary fitted on the archive and kept as a sorted array, looked up with searchsorted.
- character 3–5-grams of each word padded with spaces (robust to typos and unknown words);
- stem unigrams and bigrams (Snowball's Russian stemmer: the word's meaning without its ending;
  as accurate here as pymorphy3 lemmas and ~200× cheaper for a word met the first time);
- the rubricator's points per group and per topic (the day-one rules);
- the mean of pretrained word vectors (router.vectors: synonyms the archive never saw);
- the message's form (`form_features`): its markup, length and a few marks of how it was typed.

Term keys are 64-bit hashes that are stable across processes (blake2b for stems, a polynomial
over code points for n-grams), so a model trained in one process routes the same in another.
"""

from __future__ import annotations

import hashlib
import re
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
import Stemmer

from router.rubricator import GROUPS, Rubricator, RubricatorFile
from router.text import normalize, words
from router.vectors import DIM, WordVectors

# Odd multipliers for the polynomial hashes; any odd 64-bit constants would do.
CHAR_BASE = np.uint64(0x100000001B3)
BIGRAM_BASE = np.uint64(0x9E3779B97F4A7C15)
SPACE = 32
MAX_CACHED_WORDS = 500_000


class Doc(NamedTuple):
    """What the model needs of one message: its words, the rules' points per topic index and the
    text as received (for its form)."""

    tokens: list[str]
    scores: dict[int, float]
    raw: str = ""


# A phone number: «+7», five digits in a row, or «8 (9xx». Looked for one alternative at a time,
# the cheap substring tests first: one pass of the alternation costs more than these together.
FIVE_DIGITS = re.compile(r"\d{5}")
MOBILE = re.compile(r"8\s?\(?9\d\d")
SHOUT = re.compile(r"[А-ЯЁ]{5,}")
FORM_WIDTH = 15


def form_features(raw: str) -> list[float]:
    """How the message came: which markup it carries (a portal's rich-text form sends `<p>`, another
    `<span style=…>`, a plain form none), its length, a phone number, shouting, line breaks.
    In an archive the intake channel shows in these marks, and who handles a message follows the
    channel as well as the topic: on the Kursk dev appeals plain texts went to the city
    administration itself 33% of the time, `<p>` texts 12% (the rest to its committees and the
    region's). Measured there by 5-fold CV: executor accuracy +1.3 points (the groups and the fine
    topic lose a little with it, so only the executor head reads it: router.model.FORM_HEADS)."""
    span = "<span" in raw
    para = "<p>" in raw and not span
    tag = "<" in raw
    n = len(raw)
    return [
        float(span),
        float(para),
        float(not tag and "&" not in raw),
        float(tag and not span and "<p>" not in raw),
        float("&nbsp;" in raw),
        float("<br" in raw),
        float("<strong" in raw or "<b>" in raw),
        float("+7" in raw or ("8" in raw and MOBILE.search(raw) is not None) or FIVE_DIGITS.search(raw) is not None),
        float(n < 150),
        float(150 <= n < 400),
        float(400 <= n < 1000),
        float(n >= 1000),
        float(raw[:1].islower()),
        float("\n" in raw),
        float(SHOUT.search(raw) is not None),
    ]


def form_block(docs: list[Doc], scale: float) -> np.ndarray:
    return np.array([form_features(d.raw) for d in docs], dtype=np.float64).reshape(len(docs), FORM_WIDTH) * scale


class TermBlock:
    """TF-IDF over integer term keys, like scikit-learn's TfidfVectorizer(sublinear_tf=True) with
    `min_df` and `max_features` (the commonest terms of the archive)."""

    def __init__(self, min_df: int = 1, max_features: int | None = None) -> None:
        self.min_df = min_df
        self.max_features = max_features
        self.vocab = np.empty(0, dtype=np.uint64)
        self.idf = np.empty(0, dtype=np.float64)

    def fit(self, rows: np.ndarray, keys: np.ndarray, n_docs: int) -> TermBlock:
        terms, totals = np.unique(keys, return_counts=True)
        pairs = np.unique(np.stack([rows.astype(np.uint64), keys]), axis=1)  # (doc, term) once each
        df_terms, df = np.unique(pairs[1], return_counts=True)  # same order as `terms`
        keep = df >= self.min_df
        terms, totals, df = terms[keep], totals[keep], df[keep]
        if self.max_features is not None and len(terms) > self.max_features:
            top = np.sort(np.argsort(-totals, kind="stable")[: self.max_features])
            terms, df = terms[top], df[top]
        self.vocab = terms
        self.idf = np.log((1 + n_docs) / (1 + df)) + 1.0
        return self

    def columns(self, keys: np.ndarray) -> np.ndarray:
        """Each key's column in the vocabulary, -1 for a key outside it."""
        if len(self.vocab) == 0:
            return np.full(len(keys), -1, dtype=np.int64)
        cols = np.searchsorted(self.vocab, keys)
        cols[cols == len(self.vocab)] = 0
        cols[self.vocab[cols] != keys] = -1
        return cols

    def counts(self, rows: np.ndarray, keys: np.ndarray, n_rows: int) -> sp.csr_matrix:
        """Rows × vocabulary term counts; keys outside the vocabulary are ignored."""
        cols = self.columns(keys)
        known = cols >= 0
        return sp.csr_matrix(
            (np.ones(int(known.sum())), (rows[known], cols[known])), shape=(n_rows, len(self.vocab))
        )  # duplicates are summed

    def weigh(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        """Counts → sublinear TF-IDF rows of unit norm."""
        m = counts.tocsr()
        m.data = (1.0 + np.log(m.data)) * self.idf[m.indices]
        return _unit_rows(m)

    def transform(self, rows: np.ndarray, keys: np.ndarray, n_docs: int) -> sp.csr_matrix:
        return self.weigh(self.counts(rows, keys, n_docs))


def _unit_rows(m: sp.csr_matrix) -> sp.csr_matrix:
    lengths = np.diff(m.indptr)
    rows = np.repeat(np.arange(m.shape[0]), lengths)
    norms = np.sqrt(np.bincount(rows, weights=m.data * m.data, minlength=m.shape[0]))
    norms[norms == 0] = 1.0
    m.data /= np.repeat(norms, lengths).astype(m.data.dtype)
    return m


def char_keys(
    token_lists: list[list[str]], sizes: tuple[int, ...] = (3, 4, 5)
) -> tuple[np.ndarray, np.ndarray]:
    """(row, key) of every character n-gram inside a space-padded word, for the whole batch.
    The docs are laid end to end as " w1 w2 " strings; an n-gram is kept when no space falls
    inside it (only at its ends), so n-grams never span two words or two docs."""
    strings = [" " + " ".join(tokens) + " " for tokens in token_lists]
    codes = np.frombuffer("".join(strings).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    owner = np.repeat(np.arange(len(token_lists)), [len(s) for s in strings])
    spaces = np.concatenate([[0], np.cumsum(codes == SPACE)])
    rows, keys = [], []
    h = codes.copy()
    for n in range(2, max(sizes) + 1):
        h = h[:-1] * CHAR_BASE + codes[n - 1 :]  # h[i] hashes codes[i : i + n]; uint64 wraps
        if n not in sizes:
            continue
        starts = np.arange(len(h))
        inner = spaces[starts + n - 1] - spaces[starts + 1]  # spaces strictly inside the n-gram
        ok = inner == 0
        rows.append(owner[starts[ok]])
        keys.append(h[ok] + np.uint64(n))  # the length keeps a 3-gram apart from a 4-gram
    return np.concatenate(rows), np.concatenate(keys)


def stem_keys(words: list[str]) -> np.ndarray:
    """The stable 64-bit key of each word's stem (odd, so no bigram key equals it); 0 for a stem of
    one letter, which is skipped as TfidfVectorizer's default token pattern does. A stemmer per
    call: PyStemmer's objects keep a cache and are not safe to share between threads."""
    out = np.zeros(len(words), dtype=np.uint64)
    for i, stem in enumerate(Stemmer.Stemmer("russian").stemWords(words)):
        if len(stem) > 1:
            out[i] = int.from_bytes(hashlib.blake2b(stem.encode(), digest_size=8).digest(), "little") | 1
    return out


def stem_grams(keys: np.ndarray, owner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, key) of the stem unigrams and bigrams, given every word's stem key in text order
    and the row it belongs to. Skipped stems (key 0) drop out before bigrams are formed."""
    kept = keys != 0
    keys, owner = keys[kept], owner[kept]
    same = owner[1:] == owner[:-1]
    bigrams = (keys[:-1] * BIGRAM_BASE + keys[1:])[same] & ~np.uint64(1)  # even: never a unigram key
    return np.concatenate([owner, owner[:-1][same]]), np.concatenate([keys, bigrams])


class _Buffer:
    """A numpy array that grows by doubling, so appends stay cheap on average."""

    def __init__(self, dtype: type) -> None:
        self.array = np.empty(1024, dtype=dtype)
        self.size = 0

    def extend(self, values: np.ndarray) -> None:
        need = self.size + len(values)
        if need > len(self.array):
            grown = np.empty(max(need, 2 * len(self.array)), dtype=self.array.dtype)
            grown[: self.size] = self.array[: self.size]
            self.array = grown
        self.array[self.size : need] = values
        self.size = need

    @property
    def view(self) -> np.ndarray:
        return self.array[: self.size]


class _Ids(dict):
    """Word → id, handing out the next id to a word not seen before and noting it as new."""

    def __init__(self) -> None:
        super().__init__()
        self.new: list[str] = []

    def __missing__(self, word: str) -> int:
        self[word] = len(self)
        self.new.append(word)
        return self[word]


class Lexicon:
    """Every word form met in this process with what the model needs of it: its stem's key, the
    columns of its character n-grams, its row in the word vectors. A word is worked out once, a
    batch of new words at a time; routing then only looks words up. Bounded: it starts afresh
    when full, since a daemon meets new word forms forever."""

    def __init__(self, chars: TermBlock, vectors: WordVectors) -> None:
        self.chars = chars
        self.vectors = vectors
        self.clear()

    def clear(self) -> None:
        self.ids = _Ids()
        self.stem_keys = _Buffer(np.uint64)
        self.vector_rows = _Buffer(np.int64)
        self.char_cols = _Buffer(np.int32)  # the rows of a words × n-grams CSR matrix, end to end
        self.char_ones = _Buffer(np.float32)
        self.char_ends = _Buffer(np.int32)
        self.char_ends.extend(np.zeros(1))
        self.vectors.forget()
        self._projections: dict[int, tuple[np.ndarray, int, np.ndarray]] = {}  # see projected()

    def encode(self, docs: list[Doc]) -> tuple[np.ndarray, np.ndarray]:
        """(word id, doc row) of every word of every doc, in order."""
        if len(self.ids) > MAX_CACHED_WORDS:
            self.clear()
        ids = self.ids
        per_doc = [[ids[w] for w in d.tokens] for d in docs]
        if ids.new:
            self._learn(ids.new)
            ids.new = []
        lengths = [len(p) for p in per_doc]
        flat = np.fromiter((i for p in per_doc for i in p), dtype=np.int64, count=sum(lengths))
        return flat, np.repeat(np.arange(len(docs)), lengths)

    def _learn(self, new: list[str]) -> None:
        self.stem_keys.extend(stem_keys(new))
        self.vector_rows.extend(self.vectors.rows(new))
        rows, keys = char_keys([[w] for w in new])
        cols = self.chars.columns(keys)
        kept = cols >= 0
        rows, cols = rows[kept], cols[kept]
        order = np.argsort(rows, kind="stable")
        self.char_cols.extend(cols[order])
        self.char_ones.extend(np.ones(len(order)))
        ends = self.char_ends.view[-1] + np.cumsum(np.bincount(rows, minlength=len(new)))
        self.char_ends.extend(ends)

    def projected(self, idf: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Known words × classes: each word's IDF-weighted n-gram counts times `weights` (the
        character block's columns of a scorer), worked out once per word and kept until the
        lexicon starts afresh."""
        owner, known, table = self._projections.get(id(weights), (None, 0, None))
        if owner is not weights:  # an id reused by another array after the first was freed
            known, table = 0, None
        total = len(self.ids)
        if table is None or known < total:
            rows = self.char_matrix()[known:total].astype(np.float64)
            rows.data *= idf[rows.indices]
            fresh = np.asarray(rows @ weights)
            table = fresh if table is None else np.concatenate([table[:known], fresh])
            self._projections[id(weights)] = (weights, total, table)
        return table

    def char_matrix(self) -> sp.csr_matrix:
        """Known words × character vocabulary counts (views of the buffers, no copy)."""
        return sp.csr_matrix(
            (self.char_ones.view, self.char_cols.view, self.char_ends.view),
            shape=(self.char_ends.size - 1, len(self.chars.vocab)),
        )


class CharSums:
    """The character block of a batch in the form the scorer multiplies fastest. A doc's row is
    sum_j (1 + log c_j) idf_j e_j / norm over its n-gram counts c_j. Since 1 + log c = c - (c - 1 -
    log c), the row times the weights is (sum over the doc's words of the word's projected row,
    Lexicon.projected) minus the excess of the n-grams counted more than once, over the norm:
    some 24 words and 23 repeated n-grams a message instead of its ~310 n-grams, each times
    every class. Equal to `TermBlock.weigh(counts) @ weights` up to floating-point order."""

    def __init__(self, lexicon: Lexicon, bag: sp.csr_matrix, counts: sp.csr_matrix, idf: np.ndarray) -> None:
        self.lexicon, self.bag, self.idf = lexicon, bag, idf
        self.shape = counts.shape
        counts = counts.tocsr()
        sublinear = 1.0 + np.log(counts.data)  # the same arithmetic (and precision) as weigh()
        idf_at = idf[counts.indices]
        weighted = sublinear * idf_at
        lengths = np.diff(counts.indptr)
        rows = np.repeat(np.arange(counts.shape[0]), lengths)
        norms = np.sqrt(np.bincount(rows, weights=weighted * weighted, minlength=counts.shape[0]))
        norms[norms == 0] = 1.0
        self.norms = norms[:, None]
        self.excess = sp.csr_matrix(
            ((counts.data - sublinear) * idf_at, counts.indices.copy(), counts.indptr.copy()), shape=counts.shape
        )
        self.excess.eliminate_zeros()  # n-grams counted once: 1 + log 1 = 1 exactly (in place)

    def __matmul__(self, weights: np.ndarray) -> np.ndarray:
        out = np.asarray(self.bag @ self.lexicon.projected(self.idf, weights))
        out -= np.asarray(self.excess @ weights)
        out /= self.norms
        return out


def rule_block(docs: list[Doc], rubricator: Rubricator, scale: float) -> sp.csr_matrix:
    """The rubricator's points per group and per topic, log-scaled and times `scale`."""
    group_col = {g: i for i, g in enumerate(GROUPS)}
    col_of_group = [group_col[t.group] for t in rubricator.topics]  # a topic's group column
    first = len(GROUPS)
    rows, cols, vals = [], [], []
    for r, d in enumerate(docs):
        per_group: dict[int, float] = {}  # a plain dict: a Counter's += costs twice as much here
        for t, points in d.scores.items():
            rows.append(r)
            cols.append(first + t)
            vals.append(points)
            g = col_of_group[t]
            per_group[g] = per_group.get(g, 0) + points
        for g, points in per_group.items():
            rows.append(r)
            cols.append(g)
            vals.append(points)
    m = sp.csr_matrix((vals, (rows, cols)), shape=(len(docs), len(GROUPS) + len(rubricator.topics)))
    m.data = np.log1p(m.data) * scale
    return m


class Featurizer:
    """All blocks side by side, weighted; fitted on the archive, pickled inside the model. It keeps
    the rubricator data it was trained with, so a model keeps its rules if the data file is edited
    later (the router then scores the text twice: once with today's rules, once with the model's)."""

    def __init__(
        self,
        rubricator_data: RubricatorFile,
        *,
        stem_weight: float,
        vectors_scale: float,
        rules_scale: float,
        char_max_features: int,
        form_scale: float = 0.0,
        vectors_path: str | None = None,
    ) -> None:
        self.rubricator_data = rubricator_data
        self.stem_weight = stem_weight
        self.vectors_scale = vectors_scale
        self.rules_scale = rules_scale
        self.form_scale = form_scale
        self.chars = TermBlock(min_df=2, max_features=char_max_features)
        self.stems = TermBlock()
        self.vectors = WordVectors(vectors_path)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        for cache in ("_rubricator", "_lexicon"):  # rebuilt on first use
            state.pop(cache, None)
        return state

    @property
    def rubricator(self) -> Rubricator:
        if getattr(self, "_rubricator", None) is None:
            self._rubricator = Rubricator(self.rubricator_data)
        return self._rubricator

    def docs(self, texts: list[str]) -> list[Doc]:
        """Docs scored with the model's own rules."""
        out = []
        for text in texts:
            tokens = words(normalize(text))
            out.append(Doc(tokens, self.rubricator.scores_for_words(tokens), text))
        return out

    @property
    def lexicon(self) -> Lexicon:
        if getattr(self, "_lexicon", None) is None:
            self._lexicon = Lexicon(self.chars, self.vectors)
        return self._lexicon

    def fit(self, docs: list[Doc]) -> Featurizer:
        self.vectors.check()  # fail when training, not when routing
        self._lexicon = None  # n-gram columns change with the vocabulary
        self.chars.fit(*char_keys([d.tokens for d in docs]), len(docs))
        # The lexicon (built on the fitted n-grams) works each word out once, for the stems here
        # and for the transform of the same docs that training does next.
        ids, owner = self.lexicon.encode(docs)
        self.stems.fit(*stem_grams(self.lexicon.stem_keys.view[ids], owner), len(docs))
        return self

    def blocks(self, docs: list[Doc], *, scoring: bool = False) -> list[sp.csr_matrix | np.ndarray | CharSums]:
        """The feature blocks in order: stems, characters, rules (sparse), vectors, form (dense).
        `scoring`: the characters as CharSums, which only a Scorer multiplies (faster)."""
        n, lex = len(docs), self.lexicon
        ids, owner = lex.encode(docs)
        bag = sp.csr_matrix((np.ones(len(ids), dtype=np.float32), (owner, ids)), shape=(n, len(lex.ids)))
        # A word's character n-grams are the same wherever it occurs: the docs × words bag sums
        # each word's row of n-grams.
        counts = bag @ lex.char_matrix()
        chars = CharSums(lex, bag, counts, self.chars.idf) if scoring else self.chars.weigh(counts)
        stems = self.stems.transform(*stem_grams(lex.stem_keys.view[ids], owner), n)
        rows = lex.vector_rows.view[ids]
        known = rows >= 0
        picks = sp.csr_matrix(
            (np.ones(int(known.sum()), dtype=np.float32), (owner[known], rows[known])),
            shape=(n, self.vectors.size),
        )
        vectors = np.asarray(picks @ self.vectors.table)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)  # sums normed: the mean's direction
        np.divide(vectors, norms, out=vectors, where=norms > 0)
        return [
            stems * self.stem_weight,
            chars,
            rule_block(docs, self.rubricator, self.rules_scale),
            vectors * self.vectors_scale,
            form_block(docs, self.form_scale),
        ]

    @staticmethod
    def rule_groups(blocks: list[sp.csr_matrix | np.ndarray]) -> np.ndarray:
        """The rules' points per group (log-scaled, columns in GROUPS order), read off `blocks`."""
        return blocks[2][:, : len(GROUPS)].toarray()

    def widths(self) -> list[int]:
        """The number of columns of each block, in the order of `blocks`."""
        return [
            len(self.stems.vocab), len(self.chars.vocab), len(GROUPS) + len(self.rubricator.topics), DIM, FORM_WIDTH
        ]

    def transform(self, docs: list[Doc]) -> sp.csr_matrix:
        stems, chars, rules, vectors, form = self.blocks(docs)
        return sp.hstack([stems, chars, rules, sp.csr_matrix(vectors), sp.csr_matrix(form)], format="csr")
