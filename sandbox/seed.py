"""Seeding the database for load tests and benchmarks: an approved reply exactly as an approval
leaves it (message, case through the real lifecycle, approved draft, outbox row)."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from otklik.models import Platform, Reply, Thread
from regulation.lifecycle import new_case, transition
from regulation.profiles import load_profile
from storage import outbox
from storage.tables import CaseRow, DraftRow, MessageRow, now


def approved_reply(session: Session, *, source: str, platform: str, thread: dict, text: str,
                   profile_name: str = "severny") -> str:
    msg = MessageRow(source=source, platform=platform, external_id=uuid.uuid4().hex, thread=thread, author_id="7",
                     text="Не горит фонарь", created_at=now(), attachments=[], raw={}, processed=True)
    session.add(msg)
    session.flush()
    profile = load_profile(profile_name)
    record = new_case(profile=profile, channel="social", identified_at=msg.created_at)
    for action, role, data in (("route", "curator", {"executors": ["blagoustroystvo"]}),
                               ("submit_draft", "executor", {}), ("approve", "curator", {})):
        record, _ = transition(record, action, actor_role=role, at=msg.created_at, profile=profile, **data)
    case = CaseRow(message_id=msg.id, profile=profile_name, channel="social", state=record.state.value,
                   executors=list(record.executors), location=[], record=record.model_dump(mode="json"))
    session.add(case)
    session.flush()
    draft = DraftRow(case_id=case.id, text=text, author="executor", status="approved", quality=[])
    session.add(draft)
    session.flush()
    reply = Reply(id=outbox.new_id(), source=source, platform=Platform(platform),
                  thread=Thread.model_validate(thread), in_reply_to=msg.external_id, text=text)
    outbox.add(session, case_id=case.id, draft_id=draft.id, message_id=msg.id, reply=reply)
    return reply.id
