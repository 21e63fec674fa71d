"""The database schema (SQLAlchemy 2). Migrations in storage/migrations are generated from it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import (
    text as sql_text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, validates
from sqlalchemy.types import TypeDecorator

from storage import case_moments

_INBOX_WHERE = "state NOT IN ('published', 'awaiting_feedback', 'accepted', 'closed')"


class UTCDateTime(TypeDecorator):
    """Stores aware datetimes as UTC and always hands back aware UTC ones (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def now() -> datetime:
    return datetime.now(UTC)


Id = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements only INTEGER keys


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: UTCDateTime}


class MessageRow(Base):
    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("source", "external_id", name="uq_messages_source_external"),
                      # One author's messages in a source, newest first (the case page's thread): 0005_perf.
                      Index("ix_messages_thread", "source", "author_id", "created_at"))

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(100), index=True)
    platform: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str] = mapped_column(String(200))
    thread: Mapped[dict[str, Any]]
    author_id: Mapped[str] = mapped_column(String(100), index=True)
    author_name: Mapped[str | None] = mapped_column(String(300))
    author_url: Mapped[str | None] = mapped_column(String(500))
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    url: Mapped[str | None] = mapped_column(String(1000))
    attachments: Mapped[list[Any]]
    reply_to: Mapped[str | None] = mapped_column(String(200))
    edited_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    platform_topic: Mapped[str | None] = mapped_column(String(300))
    platform_topic_group: Mapped[str | None] = mapped_column(String(300))
    fast_track: Mapped[bool] = mapped_column(Boolean, default=False)
    platform_deadline: Mapped[datetime | None]
    engagement: Mapped[int] = mapped_column(Integer, default=0)
    raw: Mapped[dict[str, Any]]
    stored_at: Mapped[datetime] = mapped_column(default=now)
    # The pipeline picks rows with processed=False, so a crash between storing and moderating
    # loses nothing: the next start finds them again. An edit resets it.
    processed: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    # A message whose moderation, routing or case update raised is retried on later passes; after
    # pipeline.MAX_ATTEMPTS it is marked processed with the error kept and quarantined.
    pipeline_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    pipeline_error: Mapped[str | None] = mapped_column(String(300))


class CursorRow(Base):
    """A stream's position, written in the same transaction as the messages it covers."""

    __tablename__ = "cursors"

    source: Mapped[str] = mapped_column(String(100), primary_key=True)
    cursor: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=now)


class SourceStateRow(Base):
    """Health of one source for /healthz: ok, auth_failed (paused), rate_limited, failing."""

    __tablename__ = "source_state"

    source: Mapped[str] = mapped_column(String(100), primary_key=True)
    status: Mapped[str] = mapped_column(String(30), default="ok")
    last_error: Mapped[str | None] = mapped_column(Text)
    last_poll_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    paused_until: Mapped[datetime | None]
    alerted: Mapped[bool] = mapped_column(Boolean, default=False)
    # Consecutive failed polls and when the run of failures began: a source failing for long
    # shows as stalled in /healthz, not as merely failing.
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failing_since: Mapped[datetime | None]


class VerdictRow(Base):
    __tablename__ = "verdicts"

    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), primary_key=True)
    decision: Mapped[str] = mapped_column(String(10))
    reasons: Mapped[list[Any]]
    spans: Mapped[list[Any]]
    repeat_of: Mapped[int | None] = mapped_column(Id)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    overruled_by: Mapped[str | None] = mapped_column(String(100))  # curator who reversed a drop
    decided_at: Mapped[datetime] = mapped_column(default=now)


class CaseRow(Base):
    __tablename__ = "cases"
    # The inbox's order over the cases still worked on (otklik.services.inbox.in_inbox): 0005_perf.
    __table_args__ = (Index("ix_cases_inbox", "answer_by", "id", postgresql_where=sql_text(_INBOX_WHERE),
                            sqlite_where=sql_text(_INBOX_WHERE)),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), unique=True)
    profile: Mapped[str] = mapped_column(String(60))
    channel: Mapped[str] = mapped_column(String(30))
    state: Mapped[str] = mapped_column(String(30), index=True)
    importance: Mapped[str] = mapped_column(String(10), default="normal")
    topic_group: Mapped[str | None] = mapped_column(String(200))
    topic: Mapped[str | None] = mapped_column(String(300))
    confidence: Mapped[float | None] = mapped_column(Float)
    needs_manual: Mapped[bool] = mapped_column(Boolean, default=False)
    executors: Mapped[list[Any]]
    location: Mapped[list[Any]]
    answer_by: Mapped[datetime | None] = mapped_column(index=True)
    record: Mapped[dict[str, Any]]  # the regulation engine's full case record (deadlines, co-executors, ...)
    created_at: Mapped[datetime] = mapped_column(default=now, index=True)  # reports select a period by it
    # Indexed (0005_perf): the pipeline asks every pass which cases were answered since it last looked.
    updated_at: Mapped[datetime] = mapped_column(default=now, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)  # optimistic locking
    # The citizen's e-mail address, when the answer goes by e-mail (004 §2.4, or on request).
    # Personal data: shown only with the case, never logged or audited.
    reply_address: Mapped[str | None] = mapped_column(String(320))
    # Copies of the record's lifecycle moments and outcome for reports (storage.case_moments): set
    # from the record whenever it is assigned, never on their own.
    identified_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]  # the answer's term (shortened_to, else deadlines.answer_by)
    routed_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime | None]
    approved_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    intermediate_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(40))
    reopened: Mapped[int | None] = mapped_column(Integer, default=0)
    repeat_of: Mapped[int | None] = mapped_column(Id)
    ratings: Mapped[list[Any] | None] = mapped_column(JSON, default=list)
    # The names in `location`, joined by case_moments.PLACE_SEP (0007_places): reports count places
    # from this plain text; unpacking the JSON per case was half of a quarter report's main query.
    place_names: Mapped[str | None] = mapped_column(Text)

    @validates("record")
    def _copy_moments(self, _key: str, record: dict[str, Any]) -> dict[str, Any]:
        for column, value in case_moments.moments(record).items():
            setattr(self, column, value)
        return record

    @validates("location")
    def _copy_place_names(self, _key: str, location: list[Any]) -> list[Any]:
        self.place_names = case_moments.place_names(location)
        return location


class DraftRow(Base):
    __tablename__ = "drafts"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="answer")  # answer | intermediate | clarify
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="submitted")  # submitted | approved | returned
    quality: Mapped[list[Any]]
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=now)
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(100))


class OutboxRow(Base):
    """One approved reply and its delivery. Written in the approval's own transaction; the relay
    enqueues it, the worker posts it. `id` is the idempotency key sent to the platform."""

    __tablename__ = "outbox"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id"), unique=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"))
    source: Mapped[str] = mapped_column(String(100), index=True)
    reply: Mapped[dict[str, Any]]  # the otklik.models.Reply, frozen at approval
    # pending -> enqueued -> sending -> posted | failed | parked | uncertain
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    not_before: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=now)
    enqueued_at: Mapped[datetime | None]
    sending_at: Mapped[datetime | None]
    posted_at: Mapped[datetime | None]
    external_id: Mapped[str | None] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(String(1000))
    mirrored: Mapped[bool] = mapped_column(Boolean, default=False)


class AuditRow(Base):
    """Append-only: triggers on both backends refuse UPDATE and DELETE (see the migration)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=now)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(60))
    entity: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[str] = mapped_column(String(60), index=True)
    data: Mapped[dict[str, Any]]


class AlertRow(Base):
    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=now)
    kind: Mapped[str] = mapped_column(String(40))  # spike | significant | overdue | auth_failed | ...
    text: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]]
    sent_at: Mapped[datetime | None]


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    login: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))  # the primary one: curator | executor | approver | head | admin
    # Every role held, the primary among them (an admin who also approves: ["admin", "approver"]).
    # Empty in rows written before roles existed: the primary alone (otklik.services.access).
    roles: Mapped[list[Any]] = mapped_column(default=list)
    department: Mapped[str | None] = mapped_column(ForeignKey("departments.id"))
    password_hash: Mapped[str] = mapped_column(String(300))
    # Encrypted with the installation's secret key (otklik/accounts/secretbox.py), never plain.
    totp_secret: Mapped[str | None] = mapped_column(String(300))
    # The last TOTP time step accepted: a code is good once, and never an older one after it.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    # Unused since sessions (table `sessions`); kept so that a rollback of the code finds its column.
    token_hash: Mapped[str | None] = mapped_column(String(128), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=now)
    password_changed_at: Mapped[datetime | None]
    # Where scheduled reports go (heads); set by an admin (`otklik users email`).
    email: Mapped[str | None] = mapped_column(String(300))


class SessionRow(Base):
    """A login: the API, the CLI and the console each hold one token, stored here only hashed."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # api | cli | console
    created_at: Mapped[datetime] = mapped_column(default=now)
    last_seen_at: Mapped[datetime] = mapped_column(default=now)
    idle_seconds: Mapped[int] = mapped_column(Integer)  # ends this long after last_seen_at
    expires_at: Mapped[datetime]  # ends at the latest here, however busy
    revoked_at: Mapped[datetime | None]
    revoke_reason: Mapped[str | None] = mapped_column(String(40))
    second_factor_at: Mapped[datetime | None]
    client_address: Mapped[str | None] = mapped_column(String(64))


class RecoveryCodeRow(Base):
    """One-time codes that stand in for the authenticator app once each (stored hashed)."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=now)
    used_at: Mapped[datetime | None]


class LoginAttemptRow(Base):
    """Every login attempt, for throttling: by (login, address), by address and by login.
    outcome: ok | fail | unlock (an admin's unlock resets the count of that login)."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=now, index=True)
    login: Mapped[str] = mapped_column(String(100), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(10))


class PlatformEventRow(Base):
    """A regional platform's status change (approved, returned, reopened, rated, ...), stored with
    the cursor like messages so none is lost, then applied to the case by the pipeline."""

    __tablename__ = "platform_events"
    __table_args__ = (UniqueConstraint("source", "external_id", "status", "at", name="uq_platform_events"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(100))
    external_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(40))
    comment: Mapped[str | None] = mapped_column(Text)
    rating: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime]
    raw: Mapped[dict[str, Any]]
    processed: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # failed applications
    error: Mapped[str | None] = mapped_column(String(300))


class QuarantineRow(Base):
    """An item set aside so it cannot block the others: a platform item no parser could read or no
    store could take (stage ingest), a message the pipeline failed on (pipeline), a platform event
    that could not be applied (event). `reason` names the error class, never message text."""

    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(100), index=True)
    platform: Mapped[str | None] = mapped_column(String(40))
    stage: Mapped[str] = mapped_column(String(20))  # ingest | pipeline | event
    external_id: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(500))
    raw: Mapped[dict[str, Any]]  # sanitised: {"message": …} | {"status_change": …} | {"rejected": …} | ids
    created_at: Mapped[datetime] = mapped_column(default=now, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(100))


class DepartmentRow(Base):
    """A department of the administration. `id` is the executor id the router assigns
    (router/data/executors.yaml) and a user's `department`."""

    __tablename__ = "departments"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=now)


class CaseAssignmentRow(Base):
    """Which department had a case, as what, and when: written whenever the executors change
    (route, re-route, return). An executor sees what its department has or had."""

    __tablename__ = "case_assignments"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    # No foreign key: the router may name an executor the directory does not list yet, and the
    # case must still be stored (the curator sees it; nobody else does until it is fixed).
    department: Mapped[str] = mapped_column(String(100), index=True)
    role: Mapped[str] = mapped_column(String(20))  # responsible | co
    assigned_at: Mapped[datetime] = mapped_column(default=now)
    unassigned_at: Mapped[datetime | None]  # None while it still has the case


class SubstituteRow(Base):
    """A colleague standing in during an absence: from `starts_on` to `ends_on` (inclusive, the
    municipality's dates) the substitute works in the absent executor's department too."""

    __tablename__ = "substitutes"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    absent_login: Mapped[str] = mapped_column(ForeignKey("users.login"), index=True)
    substitute_login: Mapped[str] = mapped_column(ForeignKey("users.login"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(20), default="leave")  # illness | leave | travel | other
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=now)


class ReportRunRow(Base):
    """A scheduled report produced for one period: the unique (kind, period) key is claimed in a
    transaction before the report is built, so each period's report goes out once, restarts or not."""

    __tablename__ = "report_runs"
    __table_args__ = (UniqueConstraint("kind", "period", name="uq_report_runs_kind_period"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40))  # periodic | overdue
    period: Mapped[str] = mapped_column(String(40))  # 2026-11, 2026-Q4, 2026-W49, 2026-12-07
    claimed_at: Mapped[datetime] = mapped_column(default=now)
    delivered_at: Mapped[datetime | None]
    recipients: Mapped[list[Any]] = mapped_column(default=list)
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(String(300))


class LeaseRow(Base):
    """Who runs a singleton job (polling one source, the outbox relay, the deadline watcher) when
    several daemons share one database: the holder renews `expires_at` on every step; a standby
    takes the lease over once it has expired (storage/leases.py)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(120), primary_key=True)  # poll:<source> | relay | watcher
    holder: Mapped[str] = mapped_column(String(200))  # host:pid:random of the daemon holding it
    expires_at: Mapped[datetime]
    acquired_at: Mapped[datetime] = mapped_column(default=now)
class AttachmentRow(Base):
    """A file with an answer (origin `answer`: added to the case by its executor or the curator,
    bound to the draft it was submitted with) or a citizen's own (origin `citizen`: fetched from the
    message's platform URL). The bytes are in the attachment store under `sha256`
    (otklik/attachments/store.py); the row says what they are and whose they are."""

    __tablename__ = "attachments"
    __table_args__ = (UniqueConstraint("message_id", "source_url", name="uq_attachments_message_url"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    draft_id: Mapped[int | None] = mapped_column(ForeignKey("drafts.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), index=True)
    origin: Mapped[str] = mapped_column(String(10))  # answer | citizen
    kind: Mapped[str] = mapped_column(String(10))  # photo | video | doc
    mime: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(200))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    location_kept: Mapped[bool] = mapped_column(Boolean, default=False)  # EXIF GPS kept on purpose
    source_url: Mapped[str | None] = mapped_column(String(1000))  # where a citizen's file came from
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=now)
    removed_at: Mapped[datetime | None]
    removed_by: Mapped[str | None] = mapped_column(String(100))


class NotificationRow(Base):
    """One note to one person on one channel (otklik.notify). Written in the transaction of what
    caused it; `dedupe_key` (event × person × channel) is unique, so an event never makes two.
    pending -> enqueued -> sending -> sent | failed (permanent, visible); deferred: quiet hours,
    waits for `not_before`. Console notes are delivered by being stored (status sent at once)."""

    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("dedupe_key", name="uq_notifications_dedupe_key"),
                      Index("ix_notifications_user_channel", "user_id", "channel", "created_at"))

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    dedupe_key: Mapped[str] = mapped_column(String(300))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    channel: Mapped[str] = mapped_column(String(20))  # email | telegram | max | console
    kind: Mapped[str] = mapped_column(String(40))  # assigned | returned | near_due | digest | ...
    case_id: Mapped[int | None] = mapped_column(Id)
    standing_in_for: Mapped[str | None] = mapped_column(String(100))  # the absent colleague's login
    subject: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(1000))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(300))
    not_before: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=now)
    enqueued_at: Mapped[datetime | None]
    sending_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    read_at: Mapped[datetime | None]


class NotifyPreferenceRow(Base):
    """A person's choice of channels, quiet hours and daily digest (otklik.notify.prefs). Times
    are "HH:MM" in the municipality's time zone; no row: the defaults."""

    __tablename__ = "notify_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    channels: Mapped[list[Any]] = mapped_column(default=list)
    quiet_start: Mapped[str | None] = mapped_column(String(5))
    quiet_end: Mapped[str | None] = mapped_column(String(5))
    digest: Mapped[bool] = mapped_column(Boolean, default=True)
    digest_at: Mapped[str] = mapped_column(String(5), default="08:30")
    updated_at: Mapped[datetime] = mapped_column(default=now)
class StaffChatRow(Base):
    """A member of staff's chat with the staff bot (otklik.staffbot): where their notifications go on
    that platform. One chat per person and platform, one person per chat."""

    __tablename__ = "staff_chats"
    __table_args__ = (UniqueConstraint("platform", "chat_id", name="uq_staff_chats_platform_chat"),
                      UniqueConstraint("user_id", "platform", name="uq_staff_chats_user_platform"))

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    platform: Mapped[str] = mapped_column(String(20))  # telegram | max
    chat_id: Mapped[str] = mapped_column(String(64))  # Telegram's private chat id; MAX's user id
    linked_at: Mapped[datetime] = mapped_column(default=now)


class StaffLinkCodeRow(Base):
    """A one-time code a person sends to the staff bot (`/start CODE`) to link their chat. Only its
    SHA-256 is kept; it expires after 15 minutes and is good once."""

    __tablename__ = "staff_link_codes"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    platform: Mapped[str] = mapped_column(String(20))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=now)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
