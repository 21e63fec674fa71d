"""Run all six emulators (or some) on 127.0.0.1 until stopped: `otklik sandbox`."""

from __future__ import annotations

import asyncio
import importlib
import logging

from sandbox.registry import DEFAULT_PORTS, EMULATORS, emulator_class
from sandbox.runner import start

log = logging.getLogger("otklik.sandbox")


def available() -> list[str]:
    """Emulators whose module is present in this build."""
    out = []
    for name, path in EMULATORS.items():
        try:
            importlib.import_module(path.partition(":")[0])
        except ModuleNotFoundError:
            continue
        out.append(name)
    return out


async def run_all(names: list[str] | None = None, port_base: int | None = None,
                  stop: asyncio.Event | None = None, announce=print) -> dict[str, str]:
    names = names or available()
    runners = []
    urls: dict[str, str] = {}
    for i, name in enumerate(names):
        port = (port_base + i) if port_base else DEFAULT_PORTS[name]
        runner, url = await start(emulator_class(name)(), port)
        runners.append(runner)
        urls[name] = url
        announce(f"{name:<22} {url}")
    stop = stop or asyncio.Event()
    try:
        await stop.wait()
    finally:
        for runner in runners:
            await runner.cleanup()
    return urls
