"""Telegram's flood limits on sending (core.telegram.org/bots/faq): about one message per second in
a chat, 20 messages per minute in a group, about 30 messages per second overall. Exceeding one is
answered with 429 and `parameters.retry_after`. Windows are measured on the emulator's clock, so a
test can move time instead of sleeping."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

OVERALL_PER_SECOND = 30
PER_CHAT_PER_SECOND = 1
PER_GROUP_PER_MINUTE = 20


class SendLimits:
    def __init__(
        self,
        clock: Callable[[], float],
        *,
        overall: int = OVERALL_PER_SECOND,
        per_chat: int = PER_CHAT_PER_SECOND,
        per_group: int = PER_GROUP_PER_MINUTE,
    ) -> None:
        self.clock = clock
        self.overall = overall
        self.per_chat = per_chat
        self.per_group = per_group
        self._sent: dict[str, deque[float]] = {}

    def _windows(self, chat_id: int) -> list[tuple[str, int, float]]:
        windows = [("all", self.overall, 1.0), (f"chat:{chat_id}", self.per_chat, 1.0)]
        if chat_id < 0:  # groups, supergroups and channels have negative ids
            windows.append((f"group:{chat_id}", self.per_group, 60.0))
        return windows

    def try_send(self, chat_id: int) -> int | None:
        """Record one message to `chat_id` and return None, or return the whole seconds to wait."""
        now = self.clock()
        windows = self._windows(chat_id)
        for key, rate, per in windows:
            sent = self._sent.setdefault(key, deque())
            while sent and sent[0] <= now - per:
                sent.popleft()
            if len(sent) >= rate:
                return max(1, math.ceil(sent[0] + per - now))
        for key, _, _ in windows:
            self._sent[key].append(now)
        return None
