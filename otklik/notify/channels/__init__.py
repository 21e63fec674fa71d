"""Delivery channels of staff notifications. Each channel module exposes objects satisfying
`otklik.notify.channels.base.Channel`; `CHANNELS` below is the only list of them."""

from __future__ import annotations

import importlib

from otklik.notify.channels import console, email
from otklik.notify.channels.base import Channel


def _optional(module: str, attr: str) -> Channel | None:
    # The staff bot (Telegram, MAX) is built on another branch: until it is merged this branch works
    # without it. Only the module's own absence is tolerated; an error inside it is raised.
    # TODO(merge): make it a plain `from otklik.notify.channels.staffbot import MAX, TELEGRAM`.
    try:
        return getattr(importlib.import_module(module), attr)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        return None


_ALL: list[Channel | None] = [
    email.CHANNEL,
    console.CHANNEL,
    _optional("otklik.notify.channels.staffbot", "TELEGRAM"),
    _optional("otklik.notify.channels.staffbot", "MAX"),
]
CHANNELS: dict[str, Channel] = {c.name: c for c in _ALL if c is not None}


def get(name: str) -> Channel | None:
    return CHANNELS.get(name)
