"""Run emulators on 127.0.0.1: in this event loop, or in a background thread (tests, the demo)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator

from aiohttp import web

from sandbox.base import Emulator


async def start(emulator: Emulator, port: int = 0, host: str = "127.0.0.1") -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(emulator.build_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    real_port = site._server.sockets[0].getsockname()[1]  # port 0 asks the OS for a free one
    return runner, f"http://{host}:{real_port}"


class ThreadedServer:
    """An emulator served from its own thread and loop, so sync tests and other processes can
    talk to it over real HTTP."""

    def __init__(self, emulator: Emulator, port: int = 0) -> None:
        self.emulator = emulator
        self.port = port
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"emulator-{emulator.name}")

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._runner, self.url = self._loop.run_until_complete(start(self.emulator, self.port))
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._runner.cleanup())

    def call(self, fn, *args):
        """Run `fn(*args)` on the emulator's loop (its state is not thread-safe) and return the result."""
        async def _call():
            return fn(*args)
        return asyncio.run_coroutine_threadsafe(_call(), self._loop).result(10)

    def __enter__(self) -> ThreadedServer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError(f"emulator {self.emulator.name} did not start")
        return self

    def __exit__(self, *exc) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@contextlib.contextmanager
def serving(emulator: Emulator, port: int = 0) -> Iterator[ThreadedServer]:
    with ThreadedServer(emulator, port) as server:
        yield server
