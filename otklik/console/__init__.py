"""The operator console: server-rendered Russian pages for curators, executors, approvers and the
head, served by the daemon's aiohttp app beside the JSON API. See README.md in this folder."""

from otklik.console.app import setup

__all__ = ["setup"]
