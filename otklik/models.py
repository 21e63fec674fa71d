"""The normalized shapes every part of otklik speaks (DESIGN.md, "Contracts").

Connectors turn platform payloads into `Message`; workers turn an approved `Reply` into a
`Delivery`. Moderation's `Verdict`, the router's `Routing` and the regulation's case live in their
own packages and are re-exported here for one place to look.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator


class Platform(StrEnum):
    VK = "vk"
    OK = "ok"
    TELEGRAM = "telegram"
    INCIDENT_MANAGEMENT = "incident_management"
    POS = "pos"
    KAMCHATKA = "kamchatka"
    KUZBASS_ONLINE = "kuzbass_online"
    EMAIL = "email"  # answers to a citizen's e-mail address (004 §2.4, or on request)
    MAX = "max"


REGIONAL_PLATFORMS = frozenset(
    {Platform.INCIDENT_MANAGEMENT, Platform.POS, Platform.KAMCHATKA, Platform.KUZBASS_ONLINE}
)


def utc(dt: datetime) -> datetime:
    """Make any datetime aware and UTC; a naive one is taken to be UTC already."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


class Author(BaseModel):
    id: str
    name: str | None = None
    url: str | None = None
    is_bot: bool = False


class Attachment(BaseModel):
    type: str  # photo, video, doc, link, audio, sticker, ...
    url: str | None = None
    id: str | None = None  # the platform's id; "sha256:<hex>" for a file in our attachment store
    # Our stored files (an answer's): the name and type the recipient sees, and the size.
    name: str | None = None
    mime: str | None = None
    size: int | None = None


class Thread(BaseModel):
    """Where a reply to this message must go. `kind` says which keys `ids` holds:

    - telegram: chat_id, message_id (+ message_thread_id for forum/discussion threads)
    - vk: owner_id + post_id (+ comment_id) for wall, group_id + topic_id for board, peer_id for messages,
      owner_id + photo_id / video_id / item_id (+ comment_id) for photo, video, market comments
    - ok: discussion_id + discussion_type (+ comment_id) or chat_id for the Bot API
    - regional platforms: incident_id / appeal_id
    - email: address (+ message_id of the citizen's letter, for In-Reply-To)
    """

    kind: str
    ids: dict[str, str | int] = Field(default_factory=dict)


class EventKind(StrEnum):
    NEW = "new"
    EDIT = "edit"
    DELETE = "delete"
    RESTORE = "restore"  # a deleted message is back (VK's *_restore): un-delete, take its text


class Message(BaseModel):
    source: str  # configured source name, e.g. "telegram:main"; one account on one platform
    platform: Platform
    external_id: str  # unique within the source; an edit keeps the id of the original
    thread: Thread
    author: Author
    text: str = ""
    created_at: datetime
    url: str | None = None
    attachments: list[Attachment] = Field(default_factory=list)
    reply_to: str | None = None  # external id of the message this one answers
    event: EventKind = EventKind.NEW
    edited_at: datetime | None = None
    # Regional platforms carry their own classification and terms into the case.
    platform_topic: str | None = None
    platform_topic_group: str | None = None
    fast_track: bool = False
    platform_deadline: datetime | None = None
    engagement: int = 0  # likes/replies: the router's spike detector uses it
    raw: dict[str, Any] = Field(default_factory=dict)

    @field_validator("created_at", "edited_at", "platform_deadline")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        return utc(v) if v is not None else None


class StatusChange(BaseModel):
    """A regional platform changed the state of something we answered (approved, returned, reopened)."""

    external_id: str
    status: str  # platform-neutral: approved, returned, reopened, accepted, rated, extension_granted, ...
    comment: str | None = None
    rating: int | None = None
    at: datetime
    raw: dict[str, Any] = Field(default_factory=dict)


class Rejected(BaseModel):
    """An item of a platform's payload that could not be turned into a message or event. It is set
    aside (quarantined) with its raw payload and the reason, and the rest of the batch goes on."""

    raw: Any = None
    reason: str
    external_id: str | None = None


class Batch(BaseModel):
    messages: list[Message] = Field(default_factory=list)
    status_changes: list[StatusChange] = Field(default_factory=list)
    rejected: list[Rejected] = Field(default_factory=list)  # items set aside; the cursor still moves past them
    next_cursor: str | None = None  # None: keep the previous cursor
    has_more: bool = False  # poll again at once


class Reply(BaseModel):
    id: str  # our stable reply id: the idempotency key on every platform
    source: str
    platform: Platform
    thread: Thread
    in_reply_to: str | None = None  # external id of the citizen's message
    text: str
    # "extension_request": not a post, a request to the platform (otklik/services/extensions.py)
    kind: Literal["answer", "intermediate", "clarify", "first_response", "extension_request"] = "answer"
    attachments: list[Attachment] = Field(default_factory=list)
    # Regional platforms: the answer type and dates they want with it.
    outcome: str | None = None  # solved | not_solved | postponed | rejected | explained
    postponed_until: datetime | None = None
    extension_days: int | None = None  # an extension request: how many more days
    # An Incident Management incident found in a social network is answered in that network; the
    # incident is then marked answered with the link (connector.mirror of this source).
    mirror_source: str | None = None
    mirror_external_id: str | None = None


class Delivery(BaseModel):
    reply_id: str
    external_id: str
    url: str | None = None
    posted_at: datetime
    already_posted: bool = False  # found by read-back or idempotency key: not posted again
