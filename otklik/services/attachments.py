"""Attachments: the files an answer carries and the citizen's own photos, by case.

Adding and removing is for the executor whose department holds the case now and the curator
(access.py, action `attach`); reading for whoever may read the case. An answer's files are added to
the case first and bound to the draft when it is submitted (`bind_to_draft`); a draft sent back
lets them go again, so the next draft carries them unless they are removed. The approved draft's
files are frozen into the Reply (`for_reply`), which the connectors post the platform's way.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from otklik.actor import Actor
from otklik.attachments import checks
from otklik.attachments.store import Store, default_store
from otklik.exceptions import InvalidTransition, NotFound
from otklik.models import Attachment
from otklik.services import access
from storage import audit
from storage.tables import AttachmentRow, CaseRow, DraftRow, now

MAX_PER_ANSWER = 10  # Telegram's media group and VK's attachments both stop at 10
# An answer being posted, or a case that is over, takes no files; after an intermediate answer or a
# citizen's rework the next answer may bring its own.
FROZEN = frozenset({"approved", "publishing", "accepted", "closed"})


def add(session: Session, actor: Actor, case_id: int, data: bytes, filename: str | None, *,
        keep_location: bool = False, store: Store | None = None) -> dict[str, Any]:
    """Check the file (checks.Rejected: 413/415/422), store its bytes, and add it to the case's answer."""
    permit = access.case_for(session, actor, case_id, "attach")
    if permit.case.state in FROZEN:
        raise InvalidTransition(f"case {case_id} is {permit.case.state}: its answer's files can no longer change")
    pending = session.execute(select(AttachmentRow).where(*_answer_files(case_id), AttachmentRow.draft_id.is_(None))
                              ).scalars().all()
    if len(pending) >= MAX_PER_ANSWER:
        raise InvalidTransition(f"an answer carries at most {MAX_PER_ANSWER} files")
    accepted = checks.inspect(data, keep_location=keep_location)
    key = (store or default_store()).put(accepted.data)
    row = AttachmentRow(case_id=case_id, origin="answer", kind=accepted.kind, mime=accepted.mime,
                        size=len(accepted.data), sha256=key, filename=checks.safe_filename(filename, accepted.mime),
                        width=accepted.width, height=accepted.height, location_kept=keep_location,
                        created_by=actor.login, created_at=now())
    session.add(row)
    session.flush()
    audit.append(session, actor=actor.login, action="attachment_added", entity="case", entity_id=case_id,
                 data={"attachment_id": row.id, "kind": row.kind, "size": row.size,
                       "location_removed": accepted.location_removed, "location_kept": keep_location})
    return as_dict(row)


def remove(session: Session, actor: Actor, attachment_id: int) -> None:
    row = _row(session, attachment_id)
    if row.origin != "answer" or row.case_id is None:
        raise InvalidTransition("a citizen's file is kept with their message")
    access.case_for(session, actor, row.case_id, "attach")
    if row.draft_id is not None and session.get(DraftRow, row.draft_id).status != "returned":
        raise InvalidTransition("the file is with a draft awaiting approval or approved; send the draft back first")
    row.removed_at, row.removed_by = now(), actor.login
    audit.append(session, actor=actor.login, action="attachment_removed", entity="case", entity_id=row.case_id,
                 data={"attachment_id": row.id})


def listing(session: Session, actor: Actor, case_id: int) -> dict[str, list[dict[str, Any]]]:
    """The answer's files (pending and with drafts) and the citizen's own, for those who see the case."""
    case = access.case_for(session, actor, case_id, "read").case
    answer = session.execute(select(AttachmentRow).where(*_answer_files(case_id)).order_by(AttachmentRow.id)
                             ).scalars()
    return {"answer": [as_dict(r) for r in answer], "citizen": [as_dict(r) for r in citizen_files(session, case)]}


def message_files(session: Session, actor: Actor, case_id: int) -> list[dict[str, Any]]:
    """The citizen's own photos and files of the case's message (fetched from the platform)."""
    case = access.case_for(session, actor, case_id, "read").case
    return [as_dict(r) for r in citizen_files(session, case)]


def download(session: Session, actor: Actor, attachment_id: int, *, store: Store | None = None
             ) -> tuple[dict[str, Any], bytes]:
    """The file's description and bytes, when the actor may read its case (else 404, as for none)."""
    row = _row(session, attachment_id)
    case_id = row.case_id
    if case_id is None and row.message_id is not None:
        case_id = session.execute(select(CaseRow.id).where(CaseRow.message_id == row.message_id)).scalar()
    if case_id is None:
        raise NotFound(f"no attachment {attachment_id}")
    try:
        access.case_for(session, actor, case_id, "read")
    except access.OutOfScope:
        raise NotFound(f"no attachment {attachment_id}") from None
    try:
        data = (store or default_store()).get(row.sha256)
    except FileNotFoundError:
        raise NotFound(f"the file of attachment {attachment_id} is missing from the store") from None
    return as_dict(row), data


# -- the draft's files (called from otklik.services.cases) -------------------------------------
def bind_to_draft(session: Session, case_id: int, draft_id: int) -> list[AttachmentRow]:
    """The case's pending answer files go with the draft being submitted."""
    rows = session.execute(select(AttachmentRow).where(*_answer_files(case_id), AttachmentRow.draft_id.is_(None))
                           ).scalars().all()
    for r in rows:
        r.draft_id = draft_id
    return list(rows)


def pending_have_photo(session: Session, case_id: int) -> bool:
    """Whether the answer being written carries a photo (the files not yet bound to a draft)."""
    return session.execute(select(AttachmentRow.id).where(
        *_answer_files(case_id), AttachmentRow.draft_id.is_(None), AttachmentRow.kind == "photo").limit(1)
    ).first() is not None


def release_from_draft(session: Session, draft_id: int) -> None:
    """A draft sent back lets its files go: the next draft carries them unless they are removed."""
    for r in session.execute(select(AttachmentRow).where(AttachmentRow.draft_id == draft_id,
                                                         AttachmentRow.removed_at.is_(None))).scalars():
        r.draft_id = None


def of_draft(session: Session, draft_id: int) -> list[AttachmentRow]:
    return list(session.execute(select(AttachmentRow).where(
        AttachmentRow.draft_id == draft_id, AttachmentRow.removed_at.is_(None)).order_by(AttachmentRow.id)).scalars())


def for_reply(rows: list[AttachmentRow]) -> list[Attachment]:
    """The files as the Reply carries them: by store key, read by the connector when it posts."""
    return [Attachment(type=r.kind, id=f"sha256:{r.sha256}", name=r.filename, mime=r.mime, size=r.size)
            for r in rows]


def citizen_files(session: Session, case: CaseRow) -> list[AttachmentRow]:
    return list(session.execute(select(AttachmentRow).where(
        AttachmentRow.message_id == case.message_id, AttachmentRow.origin == "citizen",
        AttachmentRow.removed_at.is_(None)).order_by(AttachmentRow.id)).scalars())


def _answer_files(case_id: int) -> tuple:
    return (AttachmentRow.case_id == case_id, AttachmentRow.origin == "answer", AttachmentRow.removed_at.is_(None))


def _row(session: Session, attachment_id: int) -> AttachmentRow:
    row = session.get(AttachmentRow, attachment_id)
    if row is None or row.removed_at is not None:
        raise NotFound(f"no attachment {attachment_id}")
    return row


def as_dict(row: AttachmentRow) -> dict[str, Any]:
    return {"id": row.id, "case_id": row.case_id, "draft_id": row.draft_id, "message_id": row.message_id,
            "origin": row.origin, "kind": row.kind, "mime": row.mime, "size": row.size, "filename": row.filename,
            "width": row.width, "height": row.height, "location_kept": row.location_kept,
            "created_by": row.created_by, "created_at": row.created_at.isoformat(),
            "download": f"/api/attachments/{row.id}"}
