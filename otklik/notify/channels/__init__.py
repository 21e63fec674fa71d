"""Delivery channels of staff notifications. Each channel module exposes objects satisfying
`otklik.notify.channels.base.Channel`; `CHANNELS` below is the only list of them."""

from __future__ import annotations

from otklik.notify.channels import console, email
from otklik.notify.channels.base import Channel
from otklik.notify.channels.staffbot import MAX, TELEGRAM

CHANNELS: dict[str, Channel] = {c.name: c for c in (email.CHANNEL, console.CHANNEL, TELEGRAM, MAX)}


def get(name: str) -> Channel | None:
    return CHANNELS.get(name)
