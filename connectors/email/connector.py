"""E-mail as an answer channel: an approved reply goes by SMTP to the citizen's address.

Where the address comes from: the reply's thread, `{"kind": "email", "ids": {"address": ...}}`,
written at approval from the case's `reply_address` (set by the curator, `otklik cases
reply-address`, or by the governor's channel, 004 §2.4: the answer goes to the applicant's e-mail).

Retries. SMTP acceptance (250 after DATA) is the delivery. The Message-ID is derived from the
outbox reply id, so a worker killed after DATA but before the delivery was recorded sends the same
message again with the same Message-ID: at worst the citizen's mailbox holds a duplicate it can
recognise (and most collapse). That is why the connector declares `send_is_idempotent`: a resumed
attempt sends again instead of parking the delivery as `uncertain` for a person.

Failures. A 5xx answer (unknown mailbox, refused sender) is a bounce: `Bounced` (Fatal), the
delivery ends `failed` with "bounced: ..." in its last error. A 4xx answer, a dropped connection or
a timeout is Transient and retried. The address is personal data: it is never put in an error
message or a log line.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parseaddr
from pathlib import PurePosixPath
from typing import ClassVar
from urllib.parse import unquote, urlsplit

from connectors import media
from connectors.base import Connector
from connectors.errors import AuthFailed, Fatal, Malformed, Transient
from otklik import mail
from otklik.models import Batch, Delivery, Platform, Reply

PLATFORM = Platform.EMAIL
DEFAULT_SUBJECT = "Ответ на ваше обращение"
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024  # each; typical mailbox limits are 20-25 MB per letter
MAX_TOTAL_BYTES = 20 * 1024 * 1024
SMTP_OPTIONS = ("host", "port", "security", "username", "sender", "sender_name", "timeout")


class Bounced(Fatal):
    """The receiving server refused the letter for good (5xx): retrying will not help."""

    kind = "bounced"


def valid_address(value: str) -> str:
    """One plain address, or ValueError. No display name, no header tricks (CR/LF, commas)."""
    value = (value or "").strip()
    if not value or len(value) > 320 or any(c in value for c in "\r\n,;<>\"() \t"):
        raise ValueError("not an e-mail address")
    _, addr = parseaddr(value)
    local, at, domain = addr.rpartition("@")
    if addr != value or not at or not local or "." not in domain.strip(".") or domain.startswith(".") \
            or ".." in domain:
        raise ValueError("not an e-mail address")
    return value


def smtp_settings(options: dict, fallback: mail.MailSettings | None = None) -> mail.MailSettings:
    """The source's own SMTP options (`options.host`, ...) when it has a host, else `[mail]`."""
    if options.get("host"):
        return mail.MailSettings(**{k: options[k] for k in SMTP_OPTIONS if k in options})
    if fallback is None:
        from otklik.settings import get_settings

        fallback = get_settings().mail
    return fallback


def _filename(url: str, ident: str | None, index: int) -> str:
    name = unquote(PurePosixPath(urlsplit(url).path).name)
    return name or ident or f"attachment-{index}"


class EmailConnector(Connector):
    platform: ClassVar = PLATFORM
    send_is_idempotent = True  # same Message-ID on a retry: a duplicate at worst, recognisable

    def __init__(self, config, *, mail_settings: mail.MailSettings | None = None, **kw) -> None:
        super().__init__(config, **kw)
        self._mail = mail_settings

    @property
    def mail(self) -> mail.MailSettings:
        if self._mail is None:
            self._mail = smtp_settings(self.config.options)
        return self._mail

    async def fetch(self, cursor: str | None) -> Batch:
        """No inbox: e-mail is an answer channel here (IMAP is not built)."""
        return Batch()

    @classmethod
    def parse(cls, payload, source: str = "sample"):
        raise Malformed("e-mail has no platform payloads to normalize (it is an answer channel)", platform=PLATFORM)

    async def check(self) -> list[str]:
        problems = []
        if not self.mail.enabled:
            problems.append(f"source {self.config.name}: no SMTP host (options.host or [mail] host)")
        if "@" not in self.mail.sender:
            problems.append(f"source {self.config.name}: sender is not an address")
        return problems

    async def send(self, reply: Reply) -> Delivery:
        try:
            to = valid_address(str(reply.thread.ids.get("address", "")))
        except ValueError:
            raise Fatal("the reply has no valid e-mail address to send to", platform=PLATFORM) from None
        settings = self.mail
        if not settings.enabled:
            raise Fatal("e-mail is not configured (options.host or [mail] host)", platform=PLATFORM)
        files = await self._attachments(reply)
        opts = self.config.options
        in_reply_to = reply.thread.ids.get("message_id")
        message = mail.build(settings, to=to, subject=str(opts.get("subject") or DEFAULT_SUBJECT), body=reply.text,
                             message_id=mail.new_message_id(settings, f"reply-{reply.id}"),
                             in_reply_to=str(in_reply_to) if in_reply_to else None, attachments=files)
        password = self.config.secrets.get("password")
        try:
            message_id = await mail.send(settings, message,
                                         password=password.get_secret_value() if password else None)
        except mail.MailError as exc:
            text = str(exc) if exc.code is None or str(exc.code) in str(exc) else f"{exc} (SMTP {exc.code})"
            if exc.auth:  # parks the e-mail deliveries and alerts, as a revoked token does
                raise AuthFailed(text, platform=PLATFORM, code=exc.code, alert=True) from None
            if exc.permanent:
                raise Bounced(f"bounced: {text}", platform=PLATFORM, code=exc.code) from None
            raise Transient(text, platform=PLATFORM, code=exc.code) from None
        return Delivery(reply_id=reply.id, external_id=message_id, url=None, posted_at=datetime.now(UTC))

    async def _attachments(self, reply: Reply) -> list[mail.Attachment]:
        """The reply's files: ours from the attachment store, others fetched by URL. A file that is
        gone (4xx) or too big fails the delivery (Fatal: the answer must not go without its photos);
        a server error is retried."""
        out: list[mail.Attachment] = []
        total = 0
        for i, att in enumerate(reply.attachments, 1):
            if not att.url and not media.is_stored(att):
                raise Fatal(f"attachment {i} has no URL", platform=PLATFORM)
            blob = await media.load(att, self.http, platform=PLATFORM, index=i, limit=MAX_ATTACHMENT_BYTES)
            total += len(blob.data)
            if len(blob.data) > MAX_ATTACHMENT_BYTES or total > MAX_TOTAL_BYTES:
                raise Fatal(f"attachment {i} too large for e-mail", platform=PLATFORM)
            name = blob.name if media.is_stored(att) or att.name else _filename(att.url or "", att.id, i)
            out.append(mail.Attachment(name, blob.data, blob.mime or "application/octet-stream"))
        return out
