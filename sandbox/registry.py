"""One line per platform emulator (name -> class path), for `otklik sandbox` and the demo."""

from __future__ import annotations

import importlib

from sandbox.base import Emulator

EMULATORS: dict[str, str] = {
    "telegram": "sandbox.telegram.emulator:TelegramEmulator",
    "vk": "sandbox.vk.emulator:VkEmulator",
    "ok": "sandbox.ok.emulator:OkEmulator",
    "incident_management": "sandbox.incident_management.emulator:IncidentManagementEmulator",
    "pos": "sandbox.pos.emulator:PosEmulator",
    "kamchatka": "sandbox.kamchatka.emulator:KamchatkaEmulator",
    "kuzbass_online": "sandbox.kuzbass_online.emulator:KuzbassOnlineEmulator",
    "max": "sandbox.max.emulator:MaxEmulator",
}

DEFAULT_PORTS: dict[str, int] = {
    "telegram": 8701, "vk": 8702, "ok": 8703, "incident_management": 8704, "pos": 8705, "kamchatka": 8706,
    "kuzbass_online": 8707, "max": 8708,
}


def emulator_class(name: str) -> type[Emulator]:
    module_name, _, attr = EMULATORS[name].partition(":")
    return getattr(importlib.import_module(module_name), attr)
