"""«Кузбасс Онлайн» payloads <-> our models. Pure: no I/O. Everything that knows the mock's shapes
is here, so a real API replaces this file (and the paths in connector.py), nothing else.

An appeal listed by the feed maps to one Message (withdrawn: a deletion) and to the status changes
in its `history`, each at its own time, so seeing an appeal again adds nothing: `answered` -> the
result the platform shows (`solved` for «решено», `explained` for «разъяснено»), `returned` (the
platform's moderator sent the answer back), `reopened` (the author disagreed), `rated`. `created`
and `taken` (our own take into work) map to no status change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connectors import media
from connectors.errors import Fatal, Malformed
from connectors.parsing import integer, iso_time, total
from otklik.models import Attachment, Author, EventKind, Message, Platform, Reply, StatusChange, Thread

PLATFORM = Platform.KUZBASS_ONLINE
# 004 §2.3: "устанавливается статус по результату (решено или разъяснено)"
RESULTS = {"решено": "решено", "разъяснено": "разъяснено", "solved": "решено", "explained": "разъяснено"}
RESULT_STATUS = {"решено": "solved", "разъяснено": "explained"}
STATUS_EVENTS = {"returned": "returned", "reopened": "reopened", "rated": "rated"}
WEB = "https://tashtagol.kuzbass-online.example"  # one sub-domain per municipality


def parse_time(value: Any) -> datetime:
    return iso_time(value)


def _name(value: Any) -> str | None:
    """A category or subcategory: `{"id", "name"}` -> its name."""
    return value.get("name") if isinstance(value, dict) and isinstance(value.get("name"), str) else None


@total(PLATFORM)
def message_of(item: dict[str, Any], source: str, web: str = WEB) -> Message:
    if not isinstance(item, dict) or "id" not in item or "history" not in item:
        raise Malformed("not a «Кузбасс Онлайн» appeal", platform=PLATFORM)
    appeal = integer(item["id"], lo=1)
    history = item.get("history") or []
    if item.get("status") == "withdrawn":
        gone = next((e for e in reversed(history) if e.get("type") == "withdrawn"), None)
        event, edited_at = EventKind.DELETE, gone["at"] if gone else item.get("updated_at")
    else:
        event, edited_at = EventKind.NEW, None
    author = item.get("author") or {}
    return Message(
        source=source,
        platform=PLATFORM,
        external_id=str(appeal),
        thread=Thread(kind="appeal", ids={"appeal_id": appeal}),
        author=Author(id=str(author.get("id") or "unknown"), name=author.get("display_name")),
        text=item.get("text") or "",
        created_at=parse_time(item["created_at"]),
        url=item["url"] if isinstance(item.get("url"), str) else f"{web}/appeals/{appeal}",
        attachments=[
            Attachment(type="photo" if str(a.get("mime", "")).startswith("image/") else "doc", url=a["url"],
                       id=str(a["id"]) if a.get("id") is not None else None)
            for a in item.get("attachments") or []
            if isinstance(a, dict) and isinstance(a.get("url"), str)
        ],
        event=event,
        edited_at=parse_time(edited_at) if edited_at else None,
        platform_topic=_name(item.get("subcategory")),
        platform_topic_group=_name(item.get("category")),
        platform_deadline=parse_time(item["answer_due"]) if item.get("answer_due") else None,
        raw=item,
    )


@total(PLATFORM)
def status_changes(item: dict[str, Any]) -> list[StatusChange]:
    out = []
    for e in item.get("history") or []:
        kind = e.get("type")
        if kind == "answered":
            status = RESULT_STATUS.get(e.get("result"))
        else:
            status = STATUS_EVENTS.get(kind)
        if status:
            out.append(
                StatusChange(
                    external_id=str(integer(item["id"], lo=1)),
                    status=status,
                    comment=e.get("comment"),
                    rating=integer(e["rating"], lo=1, hi=5) if e.get("rating") is not None else None,
                    at=parse_time(e["at"]),
                    raw={**e, "appeal_status": item.get("status")},
                )
            )
    return out


def is_new(item: Any) -> bool:
    """Not yet taken into work: the responsible person must take it within 24 h (004 §2.3)."""
    return isinstance(item, dict) and item.get("status") == "new"


def take_body(
    item: dict[str, Any] | None, *, category: str | None, subcategory: str | None, executor: str | None,
    default_subcategory: str = "Прочее",
) -> dict[str, Any]:
    """POST /appeals/{id}/take. 004 §2.3: the responsible person sets the category and subcategory
    and names the executor. Unless told otherwise, the appeal keeps the category its author chose
    and gets `default_subcategory` when it has none."""
    item = item or {}
    category = category or _name(item.get("category"))
    subcategory = subcategory or _name(item.get("subcategory")) or default_subcategory
    if not category:
        raise Fatal("004 §2.3: an appeal is taken into work with a category", platform=PLATFORM, code="category")
    if not executor:
        raise Fatal("004 §2.3: an appeal is taken into work with its executor (option `executor`)",
                    platform=PLATFORM, code="executor")
    return {"category": category, "subcategory": subcategory, "executor": executor}


def answer_body(reply: Reply) -> dict[str, Any]:
    """Reply -> POST /appeals/{id}/answer. 004 §2.3: the answer sets the result status, решено or
    разъяснено (the draft's outcome); attachments go by URL."""
    if reply.kind != "answer":
        raise Fatal(f"«Кузбасс Онлайн» takes one answer per appeal, not {reply.kind!r}",
                    platform=PLATFORM, code="kind")
    result = RESULTS.get((reply.outcome or "").strip().lower())
    if result is None:
        raise Fatal("004 §2.3: the answer needs its result, решено or разъяснено", platform=PLATFORM,
                    code="result")
    attachments = [{"url": media.web_url(a, platform=PLATFORM, index=i),
                    "name": a.name or (a.url or "").rsplit("/", 1)[-1] or f"file{i}"}
                   for i, a in enumerate(reply.attachments, 1) if a.url or media.is_stored(a)]
    return {"text": reply.text, "result": result, "attachments": attachments, "client_reference": reply.id}


def appeal_id(reply: Reply) -> int:
    try:
        return integer(reply.thread.ids["appeal_id"], lo=1)
    except (KeyError, ValueError, TypeError):
        raise Fatal("the reply's thread has no appeal_id", platform=PLATFORM) from None
