"""Fault injection shared by every emulator: configured by an admin endpoint or in code.

A rule matches request paths by substring; it fires `count` times (or forever with count=None),
each time with `probability`. Kinds: `5xx`, `429`, `slow` (delay then answer), `timeout` (delay
longer than any sane client timeout, then drop), `malformed` (a body that is not JSON),
`auth` (the platform's revoked-token error), `duplicate` (the emulator re-delivers items).
"""

from __future__ import annotations

import random
from typing import Literal

from pydantic import BaseModel

FaultKind = Literal["5xx", "429", "slow", "timeout", "malformed", "auth", "duplicate"]


class FaultRule(BaseModel):
    kind: FaultKind
    match: str = ""  # substring of the request path ("" = every platform request)
    count: int | None = 1  # None: until cleared
    probability: float = 1.0
    retry_after: int = 1  # for 429
    delay: float = 2.0  # seconds, for slow / timeout


class FaultInjector:
    def __init__(self, seed: int = 0) -> None:
        self.rules: list[FaultRule] = []
        self.fired: list[tuple[str, str]] = []  # (kind, path): what tests assert on
        self._rng = random.Random(seed)

    def add(self, rule: FaultRule | dict) -> FaultRule:
        rule = rule if isinstance(rule, FaultRule) else FaultRule.model_validate(rule)
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        self.rules.clear()

    def pick(self, path: str, kinds: set[str] | None = None) -> FaultRule | None:
        """The rule that fires for this request, if any (consumes one of its counts)."""
        for rule in self.rules:
            if rule.match and rule.match not in path:
                continue
            if kinds is not None and rule.kind not in kinds:
                continue
            if rule.count is not None and rule.count <= 0:
                continue
            if self._rng.random() >= rule.probability:
                continue
            if rule.count is not None:
                rule.count -= 1
            self.fired.append((rule.kind, path))
            return rule
        return None
