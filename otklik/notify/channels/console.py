"""The console: the stored note is the delivery. It is shown in the person's list and bell
(/console/notifications) until marked read, so there is nothing to send and nothing to fail."""

from __future__ import annotations

from typing import TYPE_CHECKING

from otklik.notify.channels.base import Note

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from otklik.settings import Settings
    from storage.tables import UserRow


class ConsoleChannel:
    name = "console"

    def address(self, session: Session, user: UserRow) -> str | None:
        return user.login

    async def send(self, settings: Settings, address: str, note: Note) -> None:
        return None


CHANNEL = ConsoleChannel()
