"""Proposals of new topics inside topic groups (regulation 004 §14.7).

Messages the router was unsure of (a case with `needs_manual`, or a confidence below
LOW_CONFIDENCE) are clustered per topic group: TF-IDF over Snowball stems, agglomerative
clustering by cosine distance (no number of clusters to guess), clusters of at least MIN_SIZE
messages are offered to the curator with their top terms and a few example case ids.

The texts stay in the database: a proposal carries terms (the commonest word form of each top
stem) and case ids, and nothing here logs a text.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time

import numpy as np
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from otklik.actor import Actor
from otklik.exceptions import PermissionDenied
from storage.tables import CaseRow, MessageRow

LOW_CONFIDENCE = 0.5  # below it the router's choice is a guess (router/model.py's manual threshold)
MIN_SIZE = 3  # fewer similar messages are not yet a topic
DISTANCE = 0.85  # cosine distance within which messages join a cluster (average linkage)
MAX_PER_GROUP = 2000  # the newest ones; the distance matrix is quadratic
TOP_TERMS = 6
EXAMPLES = 5
NO_GROUP = "без группы"
ROLES = ("curator", "head")

WORD = re.compile(r"[а-яёa-z]{3,}")
STOP = frozenset(
    "это как так что чтобы или при для над под без про уже еще ещё они она оно его её нас вас вам нам "
    "мой наш ваш все всё весь вся был была было были быть есть нет даже тоже только очень можно нужно "
    "просим прошу пожалуйста здравствуйте добрый день спасибо когда где кто который которая которые "
    "этот эта эти там тут свой своих нашем нашей наших себя сделать почему также этом этой".split()
)


@functools.cache
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("russian")


@dataclass(frozen=True)
class Proposal:
    topic_group: str
    size: int
    top_terms: list[str]
    example_case_ids: list[int]

    def as_dict(self) -> dict:
        return asdict(self)


def authorize(actor: Actor) -> None:
    """Curators and heads see the proposals (they decide on the topic list)."""
    if not any(actor.has(role) for role in ROLES):
        raise PermissionDenied(f"role {actor.role} may not see new-topic proposals")


def _tokens(text: str) -> list[tuple[str, str]]:
    words = [w for w in WORD.findall(text.lower().replace("ё", "е")) if w not in STOP]
    return list(zip(_stemmer().stemWords(words), words, strict=True))


def cluster(items: Sequence[tuple[int, str]], *, min_size: int = MIN_SIZE,
            distance: float = DISTANCE) -> list[tuple[list[int], list[str]]]:
    """(ids, top terms) per cluster of at least `min_size` texts, biggest first; pure."""
    # Imported here: the API and the CLI load this module at start, scikit-learn takes seconds.
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.feature_extraction.text import TfidfVectorizer

    tokenised = [(item_id, _tokens(text)) for item_id, text in items]
    tokenised = [(i, t) for i, t in tokenised if t]
    if len(tokenised) < max(2, min_size):
        return []
    docs = [[stem for stem, _ in toks] for _, toks in tokenised]
    vectorizer = TfidfVectorizer(analyzer=lambda doc: doc, min_df=1, sublinear_tf=True)
    matrix = vectorizer.fit_transform(docs)
    if matrix.shape[1] == 0:
        return []
    labels = AgglomerativeClustering(n_clusters=None, distance_threshold=distance, metric="cosine",
                                     linkage="average").fit_predict(matrix.toarray())
    vocabulary = vectorizer.get_feature_names_out()
    out = []
    for label in set(labels.tolist()):
        members = np.flatnonzero(labels == label)
        if len(members) < min_size:
            continue
        weights = np.asarray(matrix[members].mean(axis=0)).ravel()
        # A term that only one member uses is that message's, not the cluster's.
        spread = np.asarray((matrix[members] > 0).sum(axis=0)).ravel()
        weights = np.where(spread >= 2, weights, 0.0)
        forms: dict[str, Counter] = {}
        for m in members:
            for stem, word in tokenised[m][1]:
                forms.setdefault(stem, Counter())[word] += 1
        top = [vocabulary[j] for j in np.argsort(-weights)[:TOP_TERMS] if weights[j] > 0]
        terms = [forms[stem].most_common(1)[0][0] for stem in top]
        out.append(([tokenised[m][0] for m in members], terms))
    out.sort(key=lambda c: (-len(c[0]), c[0][0]))
    return out


def _instant(value: date | datetime | None) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(0), UTC)
    # storage.tables.UTCDateTime binds aware times as UTC; a naive one is read as UTC too.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def propose(session: Session, since: date | datetime | None = None, until: date | datetime | None = None, *,
            min_size: int = MIN_SIZE) -> list[Proposal]:
    """New-topic proposals from the uncertain cases whose message came in [since, until)."""
    q = (select(CaseRow.id, CaseRow.topic_group, MessageRow.text)
         .join(MessageRow, MessageRow.id == CaseRow.message_id)
         .where(or_(CaseRow.needs_manual.is_(True), CaseRow.confidence < LOW_CONFIDENCE))
         .order_by(MessageRow.created_at.desc(), CaseRow.id.desc()))
    if (lo := _instant(since)) is not None:
        q = q.where(MessageRow.created_at >= lo)
    if (hi := _instant(until)) is not None:
        q = q.where(MessageRow.created_at < hi)
    groups: dict[str, list[tuple[int, str]]] = {}
    for case_id, group, text in session.execute(q):
        items = groups.setdefault(group or NO_GROUP, [])
        if len(items) < MAX_PER_GROUP:
            items.append((case_id, text or ""))
    proposals = []
    for group, items in sorted(groups.items()):
        for ids, terms in cluster(items, min_size=min_size):
            proposals.append(Proposal(group, len(ids), terms, sorted(ids)[:EXAMPLES]))
    proposals.sort(key=lambda p: (-p.size, p.topic_group))
    return proposals
