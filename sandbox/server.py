"""Run the platform emulators standalone on 127.0.0.1 until stopped (`otklik sandbox`), so a person
can explore them with curl. Emulators whose module is not in this build are skipped with a warning.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from otklik.exceptions import OtklikError
from sandbox.base import Emulator
from sandbox.registry import DEFAULT_PORTS, EMULATORS, emulator_class
from sandbox.runner import start

log = logging.getLogger("otklik.sandbox")

# One read a person can try with curl, per platform; {url} and the emulator's demo secrets and
# options are filled in. An emulator may offer its own with `curl_examples(url) -> list[str]`.
READ_EXAMPLES: dict[str, list[str]] = {
    "telegram": ["curl -s '{url}/bot{token}/getUpdates'"],
    "vk": [
        "curl -s '{url}/method/groups.getLongPollServer?group_id={group_id}&access_token={token}&v=5.199'"
    ],
    "ok": ["curl -s '{url}/graph/me/chats?access_token={bot_token}'"],
    "incident_management": ["curl -s -H 'Authorization: Bearer {token}' '{url}/api/v1/incidents'"],
    "pos": [
        "curl -s -u '{client_id}:{client_secret}' -d grant_type=password -d username={username} "
        "-d password={password} {url}/user-service/oauth/token",
        "curl -s -H 'Authorization: Bearer ACCESS_TOKEN_FROM_ABOVE' '{url}/appeal-service/edms'",
    ],
    "kamchatka": ["curl -s -H 'Authorization: Bearer {api_key}' '{url}/api/executor/v1/messages'"],
    "kuzbass_online": ["curl -s -H 'Authorization: Bearer {token}' '{url}/web/v1/appeals'"],
}


@dataclass
class Running:
    name: str
    emulator: Emulator
    url: str
    runner: web.AppRunner


def emulator_or_none(name: str) -> type[Emulator] | None:
    """The emulator class, or None when its module is not written (yet) — not when it is broken."""
    module = EMULATORS[name].partition(":")[0]
    try:
        return emulator_class(name)
    except ModuleNotFoundError as exc:
        if exc.name and (module == exc.name or module.startswith(exc.name + ".")):
            return None
        raise


def available() -> list[str]:
    """Emulators present in this build, in registry order."""
    return [name for name in EMULATORS if emulator_or_none(name) is not None]


def ports_from(port_base: int | None, ports: dict[str, int] | None = None) -> dict[str, int]:
    """Each platform's port: `port_base` + its place in the registry (so a platform keeps its port
    whatever else runs), else the given or default ports; port_base 0 lets the OS choose."""
    if port_base is not None:
        return {name: (port_base + i if port_base else 0) for i, name in enumerate(EMULATORS)}
    return dict(ports or DEFAULT_PORTS)


def examples(name: str, url: str, emulator: Emulator) -> list[str]:
    """curl lines to explore one emulator: inject a citizen, read it the platform's way, see what
    otklik posted, make the platform misbehave."""
    own = getattr(emulator, "curl_examples", None)
    reads: list[str] = list(own(url)) if callable(own) else []
    if not reads:
        values: dict[str, Any] = {**emulator.demo_options(), **emulator.demo_secrets(), "url": url}
        for line in READ_EXAMPLES.get(name, []):
            try:
                reads.append(line.format(**values))
            except (KeyError, IndexError):
                continue  # the emulator names its secrets differently; skip rather than mislead
    inject = (
        "curl -s -X POST {url}/_sandbox/inject -H 'content-type: application/json' "
        '-d \'{{"text": "На ул. Ленина третий день не горят фонари"}}\''
    )
    return [
        inject.format(url=url),
        *reads,
        f"curl -s {url}/_sandbox/replies",
        f"curl -s {url}/_sandbox/state",
        f"curl -s -X POST {url}/_sandbox/faults -H 'content-type: application/json' "
        '-d \'{"kind": "429", "retry_after": 3, "count": 2}\'',
    ]


async def start_all(
    names: list[str] | None = None,
    ports: dict[str, int] | None = None,
    host: str = "127.0.0.1",
    warn: Callable[[str], None] = log.warning,
) -> list[Running]:
    """Start the named emulators (default: every one in the registry); skip, with a warning,
    those not in this build. On failure nothing is left running."""
    names = list(names) if names else list(EMULATORS)
    unknown = [n for n in names if n not in EMULATORS]
    if unknown:
        raise OtklikError(f"unknown platform {', '.join(unknown)}; known: {', '.join(EMULATORS)}")
    ports = ports if ports is not None else DEFAULT_PORTS
    running: list[Running] = []
    try:
        for name in names:
            cls = emulator_or_none(name)
            if cls is None:
                warn(f"{name}: no emulator in this build yet ({EMULATORS[name]}), skipped")
                continue
            emulator = cls()
            port = ports.get(name, 0)
            try:
                runner, url = await start(emulator, port, host)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise OtklikError(
                        f"{name}: port {port} on {host} is in use; choose others with --port-base"
                    ) from None
                raise
            running.append(Running(name, emulator, url, runner))
        from sandbox import shared

        shared.link({r.name: r.emulator for r in running})  # one world: incidents name real posts
    except BaseException:
        await stop_all(running)
        raise
    return running


async def stop_all(running: list[Running]) -> None:
    for r in running:
        await r.runner.cleanup()


async def run_all(
    names: list[str] | None = None,
    ports: dict[str, int] | None = None,
    host: str = "127.0.0.1",
    *,
    stop: asyncio.Event | None = None,
    announce: Callable[[str], None] = print,
    started: Callable[[list[Running]], Any] | None = None,
) -> dict[str, str]:
    """Start the emulators, print each URL with example curl lines, run until `stop` is set (or
    the task is cancelled, e.g. by Ctrl-C); return platform -> URL. `started` is called with the
    running emulators (e.g. to feed them simulated citizens)."""
    running = await start_all(names, ports if ports is not None else DEFAULT_PORTS, host, warn=announce)
    try:
        if not running:
            announce("no emulator to run")
            return {}
        for r in running:
            announce(f"{r.name:<20} {r.url}")
            for line in examples(r.name, r.url, r.emulator):
                announce(f"    {line}")
        announce("Ctrl-C stops them.")
        extra = started(running) if started else None
        if asyncio.iscoroutine(extra):
            extra = asyncio.ensure_future(extra)
        try:
            await (stop or asyncio.Event()).wait()
        finally:
            if isinstance(extra, asyncio.Future) and not extra.done():
                extra.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await extra  # its clients close before the servers wait for their connections
        return {r.name: r.url for r in running}
    finally:
        await stop_all(running)
