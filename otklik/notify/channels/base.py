"""The contract every notification channel keeps (e-mail, the staff bot in Telegram and MAX, the
console). A channel knows where a person receives it and how to send one note there; what to send,
to whom and when is decided elsewhere (otklik.notify)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from otklik.exceptions import OtklikError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from otklik.settings import Settings
    from storage.tables import UserRow


@dataclass(frozen=True)
class Note:
    """One notification as a person reads it: Russian text, plain, with a link into the console."""

    subject: str  # one line: an e-mail subject, the bold first line in a chat
    text: str
    link: str | None = None  # absolute URL (Settings.link) of the case or report concerned
    urgent: bool = False  # a head's urgent report: delivered through quiet hours
    # Stable for one note on one channel (its row id): a resend after a worker died mid-send carries
    # the same key, e.g. as the e-mail's Message-ID, so mail clients show the letter once.
    key: str | None = None


class SendError(OtklikError):
    """A note could not be delivered. `permanent`: another try will not help (a blocked bot, an
    unknown mailbox, an unlinked chat); otherwise the delivery is retried with back-off."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class Channel(Protocol):
    name: str  # "email" | "telegram" | "max" | "console"

    def address(self, session: Session, user: UserRow) -> str | None:
        """Where `user` receives this channel (an e-mail address, a linked chat id), or None when
        the person has not set it up: the channel is then skipped for them, not failed."""
        ...

    async def send(self, settings: Settings, address: str, note: Note) -> None:
        """Deliver one note; raise SendError. Must not log the address or the text."""
        ...
