"""One world for the emulators: what a regional platform reports as found in a social network
exists in that network's emulator.

The Incident Management emulator's monitoring "finds" citizens' posts in VK, OK and Telegram; on
its own it invents their ids. Linked here to a running Telegram emulator, a Telegram incident is
first written into that emulator's residents' group (as a citizen's message), and the incident names
that very message, so the approved answer can be posted there as a reply and the incident marked
answered with its link. `link(emulators)` is called by `otklik sandbox` and the demo with whatever
emulators they run; a test may call it with the two it starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandbox.base import Emulator


def telegram_finder(telegram: Emulator):
    """A finder for the Incident Management world: posts the found message in the Telegram
    emulator's group and returns the source fields that name it."""
    from sandbox.telegram.world import GROUP

    def find(text: str, author_id: int, author_name: str) -> dict[str, Any]:
        # The world itself, not the emulator's inject: this runs on the Incident Management server's
        # thread, and the bot learns of the message on its next poll like of any other.
        created = telegram.world.inject({"text": text, "chat": "group", "author_id": author_id,
                                         "author_name": author_name})
        return {
            "thread": {"chat_id": created["chat_id"], "message_id": created["message_id"]},
            "post_url": f"https://t.me/{GROUP['username']}/{created['message_id']}",
        }

    return find


def link(emulators: Mapping[str, Emulator]) -> list[str]:
    """Link the emulators that share a world; returns what was linked ("incident_management→telegram")."""
    linked = []
    im, tg = emulators.get("incident_management"), emulators.get("telegram")
    if im is not None and tg is not None:
        im.world.finders["telegram"] = telegram_finder(tg)
        linked.append("incident_management→telegram")
    return linked
