"""What a person sees of one case, for the console: the case with its message (cases.show), the
citizen's other messages in the same conversation, the timeline of regulated steps with their
deadlines, clauses and late marks, the audit trail, the steps this person may take now, and live
quality hints on a draft being typed. Reading only; the steps themselves are otklik.services.cases."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from otklik.actor import Actor
from otklik.exceptions import NotFound, PermissionDenied
from otklik.services import access, attachments, case_actions, cases, similar
from regulation.deadlines import STEPS
from regulation.lifecycle import RULES
from regulation.profiles import load_profile
from storage.tables import CaseRow, MessageRow, now

# The steps a person takes from the case page (access.LIFECYCLE plus the e-mail address).
STEPS_ON_PAGE = ("route", "return", "submit_draft", "approve", "send_back", "request_extension",
                 "set_importance", "set_reply_address", "attach",
                 # the regulated actions of otklik/services/case_actions.py
                 "set_term", "set_final_term", "set_responsible", "coexecutor_input", "decide_repeat", "close")
# Which milestone marks a deadline's step as done (regulation.deadlines.Milestones).
DONE_BY = {"route_by": ("routed_at",), "return_by": ("returned_at",),
           "draft_by": ("submitted_at",), "joint_draft_by": ("submitted_at",),
           "approve_by": ("approved_at",), "publish_by": ("published_at",),
           "first_response_by": ("intermediate_at", "published_at"), "answer_by": ("published_at",),
           "final_by_after_intermediate": ("published_at",), "coexecutor_input_by": ("coexecutors_done_at",)}
THREAD_LIMIT = 20


def timeline(record: dict[str, Any], at: datetime) -> list[dict[str, Any]]:
    """The regulated steps with a deadline: when due, the clause, when done, and whether late
    (done after the deadline, or not done and the deadline passed). Pure: the case's record in."""
    deadlines = record.get("deadlines") or {}
    milestones = record.get("milestones") or {}
    clauses = deadlines.get("clauses") or {}
    out = []
    for step in STEPS:
        due = deadlines.get(step)
        if not due:
            continue
        due_at = datetime.fromisoformat(due)
        done = next((milestones[m] for m in DONE_BY.get(step, ()) if milestones.get(m)), None)
        if step == "revise_by":  # a revision is done by a draft submitted after the send-back
            sent_back, submitted = milestones.get("sent_back_at"), milestones.get("submitted_at")
            done = submitted if sent_back and submitted and submitted > sent_back else None
        done_at = datetime.fromisoformat(done) if done else None
        out.append({"step": step, "due": due_at, "clause": clauses.get(step), "done": done_at,
                    "late": (done_at or at) > due_at})
    return sorted(out, key=lambda r: r["due"])


def may(session: Session, actor: Actor, row: CaseRow) -> dict[str, bool]:
    """The steps the actor may take on the case now: access.case_for says who, the lifecycle's
    RULES say from which states. A step needing a fresh second factor counts as allowed (the
    form asks for the code)."""
    out = {}
    for action in STEPS_ON_PAGE:
        rule = RULES.get(action)
        if rule is not None and row.state not in rule[0]:
            out[action] = False
            continue
        try:
            access.case_for(session, actor, row.id, action)
            out[action] = True
        except access.StepUpRequired:
            out[action] = True
        except (PermissionDenied, NotFound, ValueError):
            out[action] = False
    return out


def thread(session: Session, actor: Actor, msg: MessageRow) -> list[dict[str, Any]]:
    """The author's other messages in the same source whose cases the actor may see, oldest first."""
    sc = access.require(session, actor, "read", entity="cases")
    stmt = access.visible_cases(
        select(MessageRow, CaseRow.id).join(CaseRow, CaseRow.message_id == MessageRow.id)
        .where(MessageRow.source == msg.source, MessageRow.author_id == msg.author_id, MessageRow.id != msg.id),
        sc).order_by(MessageRow.created_at.desc()).limit(THREAD_LIMIT)
    rows = session.execute(stmt).all()
    return [{"case_id": case_id, "created_at": m.created_at, "text": m.text} for m, case_id in reversed(rows)]


def page(session: Session, actor: Actor, case_id: int) -> dict[str, Any]:
    shown = cases.show(session, actor, case_id)  # the scope check: 404 outside it
    row = session.get(CaseRow, case_id)
    msg = session.get(MessageRow, row.message_id)
    rules = load_profile(row.profile).channel(row.channel)
    draft_options = {"outcomes": list(rules.outcomes.values) if rules.outcomes is not None else [],
                     "must_contact_author": bool(rules.must_contact_author)}
    steps = may(session, actor, row)
    return {"case": shown, "record": row.record, "thread": thread(session, actor, msg),
            "timeline": timeline(row.record, now()), "audit": cases.audit_trail(session, actor, case_id),
            "may": steps, "draft_options": draft_options,
            "files": attachments.listing(session, actor, case_id),
            # Past answers to start from: for whoever writes the draft now.
            # The co-executors' inputs, for the responsible one composing the joint answer.
            "inputs": case_actions.inputs(session, case_id),
            "similar": similar.similar_cases(session, actor, case_id) if steps["submit_draft"] else []}


def quality_hints(session: Session, actor: Actor, case_id: int, text: str, kind: str = "answer") -> list[dict]:
    """The quality check of a draft being typed, as submit_draft will store it."""
    row = access.case_for(session, actor, case_id, "read").case
    msg = session.get(MessageRow, row.message_id)
    return cases.draft_quality(row, msg, text, kind,
                               has_photos=attachments.pending_have_photo(session, row.id))
