"""One line per platform: adding a platform touches its folder and this table. The folder holds the
connector and `options.py` (class `Options`: its source options and secrets, found by convention).
"""

from __future__ import annotations

import importlib

from connectors.base import Connector

CONNECTORS: dict[str, str] = {
    "telegram": "connectors.telegram.connector:TelegramConnector",
    "vk": "connectors.vk.connector:VkConnector",
    "ok": "connectors.ok.connector:OkConnector",
    "incident_management": "connectors.incident_management.connector:IncidentManagementConnector",
    "pos": "connectors.pos.connector:PosConnector",
    "kamchatka": "connectors.kamchatka.connector:KamchatkaConnector",
    "kuzbass_online": "connectors.kuzbass_online.connector:KuzbassOnlineConnector",
    "email": "connectors.email.connector:EmailConnector",
    "max": "connectors.max.connector:MaxConnector",
}


def connector_class(platform: str) -> type[Connector]:
    try:
        module_name, _, attr = CONNECTORS[platform].partition(":")
    except KeyError:
        raise KeyError(f"unknown platform {platform!r}; known: {', '.join(sorted(CONNECTORS))}") from None
    return getattr(importlib.import_module(module_name), attr)
