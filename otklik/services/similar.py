"""Similar past cases for the executor writing a draft: up to five cases of the same municipality,
in the actor's scope, that have an approved answer and whose citizen's message shares the most words
with this one. The full-text index of otklik.services.search finds the candidates (any of the
message's longer words, not all of them); a cosine of their word stems ranks them."""

from __future__ import annotations

import math
import re
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from otklik.actor import Actor
from otklik.services import access
from storage.tables import CaseRow, DraftRow, MessageRow

LIMIT = 5
CANDIDATES = 200  # re-ranked in Python: bounded whatever the archive's size
QUERY_WORDS = 12
LETTERS = re.compile(r"[^\W\d_]+", re.UNICODE)
# Words that say nothing about the problem; without them every greeting would look alike.
STOP = frozenset("здравствуйте добрый день вечер утро пожалуйста спасибо уважаемые уважаемый когда "
                 "почему сколько будет можно нужно очень этот этого этой который которые также уже "
                 "ещё еще только просим прошу администрация администрации".split())


def stems(value: str) -> set[str]:
    """The message's words as crude stems (at most five letters, so «дороге» and «дорогах» meet),
    words under three letters and common ones left out."""
    out = set()
    for word in LETTERS.findall(value.lower().replace("ё", "е")):
        if len(word) >= 3 and word not in STOP:
            out.add(word[: min(5, max(3, len(word) - 1))])
    return out


def similarity(a: set[str], b: set[str]) -> float:
    """Cosine of two stem sets: 1 for the same words, 0 for none shared."""
    if not a or not b:
        return 0.0
    return len(a & b) / math.sqrt(len(a) * len(b))


def _query_stems(value: str) -> list[str]:
    return sorted(stems(value), key=lambda s: (-len(s), s))[:QUERY_WORDS]


def _matching(session: Session, words: list[str]):
    """Case ids whose message holds any of the words (the search's index)."""
    if session.get_bind().dialect.name == "postgresql":
        query = func.to_tsquery("russian", " | ".join(f"{w}:*" for w in words))
        return select(CaseRow.id).join(MessageRow, MessageRow.id == CaseRow.message_id).where(
            func.to_tsvector("russian", MessageRow.text).op("@@")(query))
    match = " OR ".join(f'"{w}"*' for w in words)
    return select(text("case_id")).select_from(text("case_search")).where(
        text("case_search MATCH :q AND kind = 'message'").bindparams(q=match))


def similar_cases(session: Session, actor: Actor, case_id: int, *, limit: int = LIMIT) -> list[dict[str, Any]]:
    """[{case_id, text, answer, score}] best first: past cases with an approved answer like this one."""
    case = access.case_for(session, actor, case_id, "read").case
    msg = session.get(MessageRow, case.message_id)
    mine = stems(msg.text or "")
    words = _query_stems(msg.text or "")
    if not words:
        return []
    sc = access.require(session, actor, "read", entity="cases")
    # Bounded early: the newest matching cases with an approved answer (EXISTS walks the cases
    # newest first and stops at CANDIDATES, instead of grouping every approved draft per load).
    has_approved = select(DraftRow.id).where(DraftRow.case_id == CaseRow.id, DraftRow.status == "approved",
                                             DraftRow.kind == "answer").exists()
    stmt = access.visible_cases(
        select(CaseRow.id, MessageRow.text).join(MessageRow, MessageRow.id == CaseRow.message_id), sc)
    stmt = (stmt.where(CaseRow.profile == case.profile, CaseRow.id != case.id, has_approved,
                       CaseRow.id.in_(_matching(session, words)))
            .order_by(CaseRow.id.desc()).limit(CANDIDATES))
    ranked = [{"case_id": cid, "text": body, "score": similarity(mine, stems(body or ""))}
              for cid, body in session.execute(stmt).all()]
    ranked = [r for r in ranked if r["score"] > 0]
    ranked.sort(key=lambda r: (-r["score"], -r["case_id"]))
    ranked = ranked[:limit]
    answers = _approved_answers(session, [r["case_id"] for r in ranked])
    return [{"case_id": r["case_id"], "text": r["text"], "answer": answers.get(r["case_id"]), "score": r["score"]}
            for r in ranked]


def _approved_answers(session: Session, case_ids: list[int]) -> dict[int, str | None]:
    """The latest approved answer of each of the few final cases."""
    if not case_ids:
        return {}
    latest = (select(func.max(DraftRow.id)).where(DraftRow.case_id.in_(case_ids), DraftRow.status == "approved",
                                                 DraftRow.kind == "answer").group_by(DraftRow.case_id))
    rows = session.execute(select(DraftRow.case_id, DraftRow.text).where(DraftRow.id.in_(latest))).all()
    return dict(rows)
