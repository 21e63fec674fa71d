"""Outgoing e-mail: one SMTP sender for answers to citizens, notifications to staff and reports.

aiosmtplib does the protocol (STARTTLS, implicit TLS, AUTH); this module builds the message the
way a municipality's mail server and a citizen's mailbox expect it, and classifies failures the way
the outbox does for platforms: a 4xx answer or a dropped connection is worth another try, a 5xx
answer (unknown mailbox, refused sender) is final and recorded as a bounce.
"""

from __future__ import annotations

from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid
from typing import Literal

import aiosmtplib
from pydantic import BaseModel, ConfigDict, Field, field_validator

from otklik import secretref
from otklik.exceptions import OtklikError


class MailSettings(BaseModel):
    """`[mail]` in otklik.toml. Without `host` e-mail is off."""

    model_config = ConfigDict(extra="forbid")  # `[mail] hots = …` is a mistake to report, not to ignore

    host: str | None = None
    port: int = Field(25, ge=1, le=65535)
    security: Literal["none", "starttls", "tls"] = "none"
    username: str | None = None
    password: str | None = None  # a reference, "env:VAR" or "file:/path", never the password itself
    sender: str = "otklik@localhost"  # the From: address
    sender_name: str = "Администрация"
    timeout: float = Field(15.0, gt=0)

    @field_validator("password")
    @classmethod
    def _reference_only(cls, v: str | None) -> str | None:
        return secretref.check(v, "password")

    @property
    def enabled(self) -> bool:
        return bool(self.host)

    def resolved_password(self) -> str | None:
        return secretref.read(self.password)


class MailError(OtklikError):
    """Sending failed. `permanent` answers (5xx) will not succeed on a retry: a bounce."""

    def __init__(self, message: str, *, permanent: bool, code: int | None = None, auth: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code
        self.auth = auth  # our login was refused: a configuration problem, not the recipient's


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mime_type: str = "application/octet-stream"


def new_message_id(settings: MailSettings, key: str | None = None) -> str:
    """A Message-ID under the sender's domain. Given a stable `key` (an outbox id) the same id comes
    back on a retry, so the receiving side and our own records recognise the repeat."""
    domain = settings.sender.rpartition("@")[2] or "localhost"
    if key:
        return f"<{key}@{domain}>"
    return make_msgid(domain=domain)


# The policy the message is built and serialized with, once: CRLF line ends and folding at 78 as
# SMTP wants them, so the bytes a DKIM signer (the relay's, or a milter) signs are the bytes sent;
# nothing re-folds a header on the way.
SMTP_POLICY = policy.SMTP


def build(settings: MailSettings, *, to: str, subject: str, body: str, message_id: str | None = None,
          in_reply_to: str | None = None, attachments: list[Attachment] | tuple[Attachment, ...] = (),
          html: str | None = None, date: str | None = None) -> EmailMessage:
    """The headers DKIM signs (From, To, Subject, Date, Message-ID, MIME-Version) are set here,
    each exactly once; `date` fixed by the caller keeps a retry's message identical."""
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["From"] = f"{settings.sender_name} <{settings.sender}>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = date or formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = message_id or new_message_id(settings)
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    # Automated mail: mailboxes should not answer it with out-of-office replies (RFC 3834).
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(body)
    if html:
        msg.add_alternative(html, subtype="html")
    for a in attachments:
        maintype, _, subtype = a.mime_type.partition("/")
        msg.add_attachment(a.content, maintype=maintype or "application", subtype=subtype or "octet-stream",
                           filename=a.filename)
    return msg


def serialize(message: EmailMessage) -> bytes:
    """The message as it goes on the wire (what a DKIM signature would cover)."""
    return message.as_bytes(policy=SMTP_POLICY)


async def send(settings: MailSettings, message: EmailMessage, *, password: str | None = None) -> str:
    """Send one message; returns its Message-ID. Raises MailError, classified. The envelope sender
    is `settings.sender`, so asynchronous bounces (DSNs) come back to that mailbox. `password`
    overrides the `[mail]` reference (a source's resolved secret)."""
    if not settings.enabled:
        raise MailError("e-mail is not configured ([mail] host)", permanent=True)
    recipients = [addr for _, addr in getaddresses(message.get_all("To", []) + message.get_all("Cc", [])) if addr]
    if not recipients:
        raise MailError("the message has no recipient", permanent=True)
    try:
        await aiosmtplib.send(
            serialize(message), sender=settings.sender, recipients=recipients, hostname=settings.host,
            port=settings.port, username=settings.username,
            password=password or settings.resolved_password(), use_tls=settings.security == "tls",
            start_tls=True if settings.security == "starttls" else False, timeout=settings.timeout)
    except aiosmtplib.SMTPAuthenticationError as exc:
        raise MailError(f"SMTP login refused ({exc.code})", permanent=True, code=exc.code, auth=True) from None
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [err.code for err in exc.recipients]
        raise MailError("recipient refused", permanent=all(c >= 500 for c in codes),
                        code=codes[0] if codes else None) from None
    except aiosmtplib.SMTPResponseException as exc:
        raise MailError(f"SMTP server answered {exc.code}", permanent=exc.code >= 500, code=exc.code) from None
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        raise MailError(f"SMTP server unreachable: {type(exc).__name__}", permanent=False) from None
    return str(message["Message-ID"])
