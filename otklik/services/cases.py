"""Cases: the regulation's lifecycle (regulation/lifecycle.py, pure) applied to stored rows.

People's actions (route, return, draft, extension, approve, send back, reading) take the acting
`Actor` and go through `access.case_for` first: scope and roles are decided there, never here
or in a handler. The daemon's parts (pipeline, router, watcher, worker, platform) act as the
system actors of otklik.actor on rows they already hold.

Every change goes through `_apply`, which runs the pure transition, saves the record, keeps the
assignment history and appends the audit entry in the caller's transaction. Approval writes the
outbox row in that same transaction: an approved reply cannot be lost between approval and publishing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from otklik.actor import PIPELINE, PLATFORM, ROUTER, WATCHER, WORKER, Actor
from otklik.exceptions import InvalidTransition, NotFound, PermissionDenied
from otklik.models import Reply, Thread
from otklik.notify import events as notify_events
from otklik.services import access, assignments, extensions, feedback, staff
from otklik.services import attachments as files
from regulation import lifecycle
from regulation.profiles import load_profile
from regulation.quality import check_answer
from storage import audit, outbox
from storage.tables import CaseAssignmentRow, CaseRow, DepartmentRow, DraftRow, MessageRow, OutboxRow, now

log = logging.getLogger("otklik.cases")

ANSWERED_STATES = {"published", "awaiting_feedback", "accepted", "closed", "final_due"}
LIST_LIMIT = 500


def _profile(name: str):
    return load_profile(name)


def _record(row: CaseRow) -> lifecycle.CaseRecord:
    return lifecycle.CaseRecord.model_validate(row.record)


def _save(row: CaseRow, record: lifecycle.CaseRecord) -> None:
    row.record = record.model_dump(mode="json")
    row.state = str(record.state)
    row.importance = record.importance
    row.executors = list(record.executors)
    deadlines = record.deadlines
    row.answer_by = deadlines.answer_by if deadlines else None
    row.updated_at = now()
    row.version += 1


def _apply(session: Session, row: CaseRow, action: str, *, actor: Actor, role: str,
           at: datetime | None = None, **data: Any) -> lifecycle.CaseRecord:
    at = at or now()
    held_before = tuple(row.executors or ())
    try:
        record, entry = lifecycle.transition(_record(row), action, actor_role=role, at=at,
                                             profile=_profile(row.profile), **data)
    except PermissionDenied as exc:  # access.case_for should have said so first; audited all the same
        raise access.Refused(str(exc), actor=actor, action=action, entity_id=row.id) from None
    _save(row, record)
    added = assignments.sync(session, row.id, record, at)
    audit.append(session, actor=actor.login, action=action, entity="case", entity_id=row.id,
                 data=entry.model_dump(mode="json"))
    notify_events.case_step(session, row, action, record, held_before, added, data, at)  # the people concerned are told
    return record


def apply_event(session: Session, row: CaseRow, event) -> None:
    """Apply a regulation CaseEvent (e.g. an automatic action found by the watcher)."""
    _apply(session, row, event.action, actor=WATCHER, role=event.actor_role, at=event.at, **event.data)


def get(session: Session, case_id: int) -> CaseRow:
    """A case by id, unscoped: for the daemon's own parts. People go through access.case_for."""
    row = session.get(CaseRow, case_id)
    if row is None:
        raise NotFound(f"no case {case_id}")
    return row


def by_message(session: Session, message_id: int) -> CaseRow | None:
    return session.execute(select(CaseRow).where(CaseRow.message_id == message_id)).scalar_one_or_none()


def open_or_update(session: Session, msg: MessageRow, routing, *, channel: str, profile_name: str,
                   repeat_of: str | None = None) -> CaseRow:
    """A new accepted message opens a case, routed at once unless the router is unsure."""
    row = by_message(session, msg.id)
    if row is not None:
        # An edit: re-routing is the curator's call once work started; importance may rise.
        if row.importance != routing.importance and routing.importance == "high":
            _apply(session, row, "set_importance", actor=ROUTER, role="system", importance="high")
        return row
    profile = _profile(profile_name)
    identified = msg.stored_at or now()
    repeat_case = by_message(session, int(repeat_of)) if repeat_of else None
    record = lifecycle.new_case(
        profile=profile, channel=channel, identified_at=identified, importance=routing.importance,
        fast_track=msg.fast_track, platform_deadline=msg.platform_deadline,
        repeat_of=repeat_case.id if repeat_case else None)
    row = CaseRow(message_id=msg.id, profile=profile_name, channel=channel, state=str(record.state),
                  importance=routing.importance, topic_group=routing.topic_group, topic=routing.topic,
                  confidence=routing.confidence, needs_manual=routing.needs_manual, executors=[],
                  location=[loc.model_dump() for loc in routing.location], record={}, version=0)
    _save(row, record)
    session.add(row)
    session.flush()
    audit.append(session, actor=PIPELINE.login, action="identified", entity="case", entity_id=row.id,
                 data={"message_id": msg.id, "channel": channel})
    notify_events.case_opened(session, row, now())  # high importance: the head's report (000 §25)
    if not routing.needs_manual and routing.executors:
        _apply(session, row, "route", actor=ROUTER, role="system", executors=list(routing.executors))
    return row


def note_deleted(session: Session, msg: MessageRow) -> None:
    row = by_message(session, msg.id)
    if row is not None:
        audit.append(session, actor="connector", action="message_deleted", entity="case", entity_id=row.id,
                     data={"deleted_at": msg.deleted_at.isoformat() if msg.deleted_at else None})


def note_dropped(session: Session, msg: MessageRow) -> None:
    """An edit turned an accepted message abusive: its open case is noted for the curator."""
    row = by_message(session, msg.id)
    if row is not None:
        audit.append(session, actor="moderation", action="edited_into_drop", entity="case", entity_id=row.id)


def parse_dt(value: str) -> datetime:
    return datetime.fromisoformat(value)


# -- reading: one scope rule for the list, the case, its trail ----------------------------------------
def listing(session: Session, actor: Actor, *, state: str | None = None,
            executor: str | None = None) -> list[dict[str, Any]]:
    """The cases in the actor's scope, nearest deadline first, with the SLA timer. `executor`
    narrows to the cases a department holds now; it never widens the scope."""
    sc = access.require(session, actor, "read", entity="cases")
    stmt = access.visible_cases(select(CaseRow), sc)
    if state:
        stmt = stmt.where(CaseRow.state == state)
    if executor:
        stmt = stmt.where(CaseRow.id.in_(select(CaseAssignmentRow.case_id).where(
            CaseAssignmentRow.department == executor, CaseAssignmentRow.unassigned_at.is_(None))))
    # NULLS LAST rather than ORDER BY answer_by IS NULL: the same order, and PostgreSQL walks the
    # answer_by index instead of sorting every case (bench/console.py: 244 ms → 16 ms at 100,000).
    stmt = stmt.order_by(CaseRow.answer_by.asc().nulls_last(), CaseRow.id).limit(LIST_LIMIT)
    t = now()
    out = []
    for row in session.execute(stmt).scalars():
        d = as_dict(row)
        d["seconds_left"] = None if row.answer_by is None else int((row.answer_by - t).total_seconds())
        out.append(d)
    return out


def show(session: Session, actor: Actor, case_id: int) -> dict[str, Any]:
    """The case with its message and drafts (the author's name and text are personal data:
    only for those whose scope holds the case)."""
    row = access.case_for(session, actor, case_id, "read").case
    msg = session.get(MessageRow, row.message_id)
    drafts = session.execute(select(DraftRow).where(DraftRow.case_id == case_id).order_by(DraftRow.id)).scalars()
    return {**as_dict(row),
            "message": {"id": msg.id, "source": msg.source, "text": msg.text, "url": msg.url,
                        "created_at": msg.created_at.isoformat(), "author": msg.author_name,
                        "attachments": msg.attachments},
            "reply_address": row.reply_address,
            "drafts": [{"id": d.id, "kind": d.kind, "text": d.text, "status": d.status,
                        "quality": d.quality, "comment": d.comment} for d in drafts],
            "working_on": staff.working_on(session, case_id),  # substitutes for the absent (000 §9)
            "assignments": [{"department": a.department, "role": a.role, "assigned_at": a.assigned_at.isoformat(),
                             "unassigned_at": a.unassigned_at.isoformat() if a.unassigned_at else None}
                            for a in assignments.history(session, case_id)]}


def audit_trail(session: Session, actor: Actor, case_id: int) -> list[dict[str, Any]]:
    access.case_for(session, actor, case_id, "read")
    return [{"at": a.at.isoformat(), "actor": a.actor, "action": a.action, "data": a.data}
            for a in audit.trail(session, "case", case_id)]


# -- people's steps --------------------------------------------------------------------------------
def route(session: Session, actor: Actor, case_id: int, *, executors: list[str], topic_group: str | None = None,
          topic: str | None = None, learn: Callable[[str, str, str | None, str], None] | None = None) -> CaseRow:
    """Route or re-route. A curator's correction of the topic, or of the responsible executor of a
    case already routed, becomes training data and the router's memory (`learn`)."""
    permit = access.case_for(session, actor, case_id, "route")
    row = permit.case
    known = set(session.execute(select(DepartmentRow.id).where(DepartmentRow.id.in_(executors))).scalars())
    unknown = [e for e in executors if e not in known]
    if unknown:
        raise InvalidTransition(f"no department {', '.join(unknown)} in the directory (otklik departments list)")
    topic_changed = bool(topic_group) and (topic_group, topic) != (row.topic_group, row.topic)
    executor_changed = bool(row.executors) and executors[:1] != row.executors[:1]
    if learn is not None and executors and (topic_changed or (executor_changed and row.topic_group)):
        group, fine = (topic_group, topic) if topic_changed else (row.topic_group, row.topic)
        learn(session.get(MessageRow, row.message_id).text, group, fine, executors[0])
    if topic_changed:
        row.topic_group, row.topic = topic_group, topic
    row.needs_manual = False
    _apply(session, row, "route", actor=actor, role=permit.role, executors=executors)
    return row


def return_case(session: Session, actor: Actor, case_id: int, *, comment: str) -> CaseRow:
    """An executor returns a message that is not its competence; the curator re-routes it."""
    permit = access.case_for(session, actor, case_id, "return")
    department = access.held_department(session, permit.scope, case_id) if permit.role == "executor" else None
    _apply(session, permit.case, "return", actor=actor, role=permit.role, department=department, comment=comment)
    return permit.case


def request_extension(session: Session, actor: Actor, case_id: int, *, days: int, comment: str) -> CaseRow:
    """Recorded on the case and, where the platform decides (000 прил. 2 §2.5), sent to it through
    the outbox in this same transaction (otklik/services/extensions.py)."""
    permit = access.case_for(session, actor, case_id, "request_extension")
    _apply(session, permit.case, "request_extension", actor=actor, role=permit.role, days=days, comment=comment)
    extensions.queue_request(session, permit.case, days=days, comment=comment, by=actor.login)
    return permit.case


def submit_draft(session: Session, actor: Actor, case_id: int, *, text: str, kind: str = "answer",
                 outcome: str | None = None, contacted_author: bool = False) -> DraftRow:
    """The draft goes to approval with its quality check, which the approver sees. Channels whose
    regulation asks for them take the answer's outcome (Кузбасс Онлайн: решено / разъяснено) and
    the executor's word that the author was contacted (the governor's channel); the case keeps both."""
    permit = access.case_for(session, actor, case_id, "submit_draft")
    row = permit.case
    _apply(session, row, "submit_draft", actor=actor, role=permit.role, kind=kind, outcome=outcome,
           contacted_author=contacted_author)
    msg = session.get(MessageRow, row.message_id)
    draft = DraftRow(case_id=row.id, kind=kind, text=text, author=actor.login, status="submitted",
                     quality=[], created_at=now())
    session.add(draft)
    session.flush()
    bound = files.bind_to_draft(session, row.id, draft.id)  # the case's answer files go with this draft
    has_photos = any(f.kind == "photo" for f in bound)
    draft.quality = draft_quality(row, msg, text, kind, has_photos=has_photos)
    log.info("draft submitted", extra={"stage": "draft", "case_id": row.id, "message_id": row.message_id,
                                       "draft_id": draft.id, "kind": kind, "by": actor.login})
    return draft


def draft_quality(row: CaseRow, msg: MessageRow, text: str, kind: str, *,
                  has_photos: bool) -> list[dict[str, Any]]:
    """The quality check of a draft (the approver sees it; the console shows it while typing), on
    the photos the answer really carries."""
    repeat = bool(row.record.get("repeat_of"))  # the answer to a repeat must report the measures taken
    return [q.model_dump() for q in check_answer(text, platform=msg.platform, author_name=msg.author_name,
                                                 has_photos=has_photos, kind=kind, repeat=repeat)]


def current_draft(session: Session, case_id: int) -> DraftRow:
    draft = session.execute(select(DraftRow).where(DraftRow.case_id == case_id, DraftRow.status == "submitted")
                            .order_by(DraftRow.id.desc())).scalars().first()
    if draft is None:
        raise InvalidTransition(f"case {case_id} has no draft awaiting approval")
    return draft


def approve(session: Session, actor: Actor, case_id: int) -> OutboxRow:
    """Approve the current draft; the outbox row commits with the approval."""
    permit = access.case_for(session, actor, case_id, "approve")
    row = permit.case
    draft = current_draft(session, case_id)
    email = _email_target(row)  # before the transition: a case with nowhere to go is not approved
    if email is None and session.get(MessageRow, row.message_id).source == "manual":
        raise InvalidTransition("the message was entered from manual monitoring: otklik cannot post by its "
                                f"link; set the citizen's e-mail address (otklik cases reply-address {row.id} "
                                "ADDRESS) or post the answer by hand")
    _apply(session, row, "approve", actor=actor, role=permit.role)
    draft.status, draft.decided_at, draft.decided_by = "approved", now(), actor.login
    msg = session.get(MessageRow, row.message_id)
    reply = build_reply(msg, draft, outcome=row.record.get("outcome"), email=email,
                        attachments=files.for_reply(files.of_draft(session, draft.id)))
    out = outbox.add(session, case_id=row.id, draft_id=draft.id, message_id=msg.id, reply=reply)
    log.info("reply approved", extra={"stage": "approval", "case_id": row.id, "message_id": msg.id,
                                      "draft_id": draft.id, "outbox_id": out.id, "by": actor.login})
    return out


def set_reply_address(session: Session, actor: Actor, case_id: int, address: str | None) -> CaseRow:
    """Answer this case to the citizen's e-mail address (None or "" clears it). The address is
    personal data: the audit entry says that it was set or cleared, not what it is."""
    from connectors.email.connector import valid_address

    permit = access.case_for(session, actor, case_id, "set_reply_address")
    row = permit.case
    if address:
        try:
            address = valid_address(address)
        except ValueError:
            raise InvalidTransition("not an e-mail address (one plain address, like name@example.ru)") from None
    row.reply_address = address or None
    row.updated_at = now()
    if address:
        # A bounced (or not yet sent) e-mail answer of this case goes to the corrected address on
        # its retry; one being sent now or already sent is left alone.
        for ob in session.execute(select(OutboxRow).where(
                OutboxRow.case_id == row.id, OutboxRow.status.in_(("pending", "failed", "parked", "uncertain")))
                ).scalars():
            if ob.reply.get("platform") == "email":
                ob.reply = {**ob.reply, "thread": {"kind": "email", "ids": {"address": address}}}
    audit.append(session, actor=actor.login, action="reply_address_set" if address else "reply_address_cleared",
                 entity="case", entity_id=row.id, data={})
    return row


def send_back(session: Session, actor: Actor, case_id: int, *, comment: str) -> DraftRow:
    permit = access.case_for(session, actor, case_id, "send_back")
    draft = current_draft(session, case_id)
    _apply(session, permit.case, "send_back", actor=actor, role=permit.role, comment=comment)
    draft.status, draft.decided_at, draft.decided_by, draft.comment = "returned", now(), actor.login, comment
    files.release_from_draft(session, draft.id)
    return draft


# Channels whose regulation sends the answer to the applicant's e-mail, not into the network.
EMAIL_CHANNELS = frozenset({"governor"})  # 004 §2.4


def build_reply(msg: MessageRow, draft: DraftRow, outcome: str | None = None,
                email: tuple[str, Thread] | None = None, attachments: list | None = None) -> Reply:
    """The approved draft as a Reply, where the citizen wrote or by e-mail (`email`: the e-mail
    source and thread); an answer carries the case's outcome where the channel's regulation asks for
    one (Кузбасс Онлайн: the platform's result status, 004 §2.3)."""
    kind = draft.kind if draft.kind in ("answer", "intermediate", "clarify") else "answer"
    if email is not None:
        source, thread = email
        return Reply(id=outbox.new_id(), source=source, platform="email", thread=thread,
                     in_reply_to=msg.external_id, text=draft.text, kind=kind, attachments=attachments or [])
    return Reply(id=outbox.new_id(), source=msg.source, platform=msg.platform,
                 thread=Thread.model_validate(msg.thread), in_reply_to=msg.external_id, text=draft.text, kind=kind,
                 outcome=outcome if kind == "answer" else None, attachments=attachments or [])


def _email_target(row: CaseRow) -> tuple[str, Thread] | None:
    """(e-mail source, thread) when this case is answered by e-mail: it has the citizen's address,
    or its channel answers only by e-mail (then approving without an address is refused)."""
    if row.reply_address is None and row.channel not in EMAIL_CHANNELS:
        return None
    if row.reply_address is None:
        raise InvalidTransition(f"the {row.channel} channel answers to the citizen's e-mail (004 §2.4): "
                                f"set the address first (otklik cases reply-address {row.id} ADDRESS)")
    from otklik.settings import get_settings

    for src in get_settings().sources:
        if src.platform.value == "email" and src.enabled:
            return src.name, Thread(kind="email", ids={"address": row.reply_address})
    raise InvalidTransition("the case is answered by e-mail but no e-mail source is configured "
                            "([[sources]] with platform = \"email\")")


def publish_after_regional_approval(session: Session, row: CaseRow) -> OutboxRow | None:
    """Incident Management approved our answer (004 §2.1): post it in the social network where the
    citizen wrote, then mark the incident answered with the link (the job's mirror step)."""
    msg = session.get(MessageRow, row.message_id)
    social = _social_target(msg)
    if social is None:
        return None
    approved = session.execute(select(DraftRow).where(DraftRow.case_id == row.id, DraftRow.status == "approved",
                                                      DraftRow.kind != extensions.KIND)
                               .order_by(DraftRow.id.desc())).scalars().first()
    if approved is None:
        return None
    copy = DraftRow(case_id=row.id, kind=approved.kind, text=approved.text, author="regional_centre",
                    status="approved", quality=approved.quality, created_at=now(), decided_at=now(),
                    decided_by="regional_centre")
    session.add(copy)
    session.flush()
    source, platform, thread = social
    reply = Reply(id=outbox.new_id(), source=source, platform=platform, thread=thread, text=approved.text,
                  in_reply_to=msg.external_id, mirror_source=msg.source, mirror_external_id=msg.external_id,
                  attachments=files.for_reply(files.of_draft(session, approved.id)))
    audit.append(session, actor=PLATFORM.login, action="regional_approval", entity="case", entity_id=row.id,
                 data={"post_to": source})
    return outbox.add(session, case_id=row.id, draft_id=copy.id, message_id=msg.id, reply=reply)


def _social_target(msg: MessageRow) -> tuple[str, str, Thread] | None:
    """An incident found in VK/OK/Telegram is answered there, through our source for that network,
    when one is configured; otherwise the answer goes to Incident Management itself."""
    if msg.platform != "incident_management" or not (msg.thread.get("ids") or {}).get("network"):
        return None
    from connectors.incident_management.mapping import social_thread
    from otklik.settings import get_settings

    try:
        platform, thread, _ = social_thread(msg.raw)
    except Exception:  # noqa: BLE001 - an incident without a usable social thread is answered in IM
        return None
    for src in get_settings().sources:
        if src.platform.value == platform.value and src.enabled:
            return src.name, platform.value, thread
    return None


def is_approved_for_publishing(session: Session, row: OutboxRow) -> bool:
    draft = session.get(DraftRow, row.draft_id)
    case = session.get(CaseRow, row.case_id)
    if draft is not None and draft.kind == extensions.KIND:
        return draft.status == "approved" and case is not None and extensions.is_pending(case)
    return draft is not None and draft.status == "approved" and case is not None and \
        case.state in ("approved", "published", "final_due", "awaiting_feedback", "accepted")


def record_published(session: Session, row: OutboxRow, delivery) -> None:
    case = session.get(CaseRow, row.case_id)
    if row.reply.get("kind") == extensions.KIND:
        return  # a request to the platform, not the answer: the case waits for its decision
    if case.state in ("approved", "publishing"):
        _apply(session, case, "published", actor=WORKER, role="system",
               url=delivery.url, external_id=delivery.external_id)


def apply_platform_status(session: Session, row: CaseRow, status: str, *, comment: str | None = None,
                          rating: int | None = None, at: datetime | None = None,
                          raw: dict[str, Any] | None = None) -> bool:
    """Apply a regional platform's status change (`feedback.platform_action` reads what it means);
    one the case cannot take now is only audited."""
    if status == "approved":
        return publish_after_regional_approval(session, row) is not None
    found = feedback.platform_action(status, raw)
    if found is None:
        audit.append(session, actor=PLATFORM.login, action=f"status:{status}", entity="case", entity_id=row.id,
                     data={"comment": comment})
        return False
    action, data = found
    role = access.platform_role(action, row.profile, row.channel)
    if role != "system":
        data = {**data, "decided_by": "platform"}  # audited: the platform decided, in that role
    try:
        _apply(session, row, action, actor=PLATFORM, role=role, at=at, comment=comment or "", rating=rating,
               **data)
        return True
    except InvalidTransition as exc:
        audit.append(session, actor=PLATFORM.login, action=f"status:{status}", entity="case", entity_id=row.id,
                     data={"ignored": str(exc)})
        return False


def as_dict(row: CaseRow) -> dict[str, Any]:
    return {"id": row.id, "message_id": row.message_id, "state": row.state, "channel": row.channel,
            "profile": row.profile, "importance": row.importance, "topic_group": row.topic_group,
            "topic": row.topic, "confidence": row.confidence, "needs_manual": row.needs_manual,
            "executors": row.executors, "responsible": row.record.get("responsible"), "location": row.location,
            "answer_by": row.answer_by.isoformat() if row.answer_by else None,
            "deadlines": in_lifecycle_order(row.record.get("deadlines")), "created_at": row.created_at.isoformat()}


def in_lifecycle_order(deadlines: dict[str, Any] | None) -> dict[str, Any] | None:
    """The stored deadlines in the order a case lives them (route, take, …, draft, approve, publish,
    answer), not as the database returns the keys (PostgreSQL's JSONB sorts them: approve_by
    before draft_by); keys the model does not know keep their place at the end."""
    if not isinstance(deadlines, dict):
        return deadlines
    from regulation.deadlines import Deadlines

    order = list(Deadlines.model_fields)
    return dict(sorted(deadlines.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order)))
