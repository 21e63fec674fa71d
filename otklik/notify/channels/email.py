"""E-mail to a person's address on file (`otklik users email`), through otklik.mail (aiosmtplib).
A 5xx answer (unknown mailbox) is a permanent failure; a 4xx or a dropped connection is retried."""

from __future__ import annotations

from typing import TYPE_CHECKING

from otklik import mail
from otklik.notify.channels.base import Note, SendError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from otklik.settings import Settings
    from storage.tables import UserRow


class EmailChannel:
    name = "email"

    def address(self, session: Session, user: UserRow) -> str | None:
        from otklik.settings import get_settings

        # Without [mail] nobody receives e-mail: the channel is skipped, not failed for everyone.
        return (user.email or None) if get_settings().mail.enabled else None

    async def send(self, settings: Settings, address: str, note: Note) -> None:
        body = note.text + (f"\n\n{note.link}" if note.link else "")
        subject = ("Срочно: " if note.urgent else "") + note.subject
        message = mail.build(settings.mail, to=address, subject=subject, body=body,
                             message_id=mail.new_message_id(settings.mail, note.key))
        try:
            await mail.send(settings.mail, message)
        except mail.MailError as exc:
            # The code is what a person reads to tell a bounce (5xx) from a busy server (4xx).
            raise SendError(f"SMTP {exc.code}: {exc}" if exc.code else str(exc), permanent=exc.permanent) from None


CHANNEL = EmailChannel()
