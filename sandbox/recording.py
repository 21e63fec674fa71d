"""The harness the regional platforms' record scripts share (`python -m sandbox.<platform>.record`):
a fresh emulator served in a thread, connectors whose httpx clients feed a `Recorder`, one
scenario, then the cassette saved with what the scenario noted for the replaying test.

A platform's script keeps what is its own: the seed data, the scenarios, the recorder's extra
scrubbing and how its connector is configured."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

import httpx

from connectors.base import Connector, SourceConfig
from connectors.errors import ConnectorError
from sandbox.cassette import FIXTURES_DIR
from sandbox.recorder import Recorder
from sandbox.runner import ThreadedServer

# (emulator, server, connector factory, extra) -> None; the factory takes `recording=False` for
# calls that set the scene without being recorded, and connector options as keywords.
Scenario = Callable[[Any, ThreadedServer, Callable[..., Any], dict[str, Any]], Awaitable[None]]


async def record_scenario(
    recorder: Recorder,
    emulator: Any,
    scenario: Scenario,
    root: Path,
    *,
    connector_class: type[Connector],
    source: str,
    secrets: dict[str, str],
    options: dict[str, Any],
) -> Path:
    clients: list[httpx.AsyncClient] = []
    extra: dict[str, Any] = {}
    with ThreadedServer(emulator) as server:

        def connector(recording: bool = True, **extra_options: Any) -> Connector:
            http = httpx.AsyncClient(event_hooks=recorder.hooks() if recording else {})
            clients.append(http)
            cfg = SourceConfig(
                name=source,
                platform=recorder.platform,
                base_url=server.url,
                secrets=secrets,
                options={**options, **extra_options},
            )
            return connector_class(cfg, client=http)

        try:
            await scenario(emulator, server, connector, extra)
        finally:
            for http in clients:
                await http.aclose()
    return recorder.save(root, extra)


def expect_error(
    seed: Callable[[ThreadedServer, Any], list[int]], body: Callable[..., Awaitable[None]]
) -> Scenario:
    """A scenario that seeds the emulator, runs `body(emulator, server, connector, ids)` and notes
    the error it ends in (kind and code) for the replaying test to expect."""

    async def scenario(
        emulator: Any, server: ThreadedServer, connector: Callable[..., Any], extra: dict
    ) -> None:
        ids = seed(server, emulator)
        extra.update(ids=ids)
        try:
            await body(emulator, server, connector, ids)
        except ConnectorError as exc:
            extra.update(error=exc.kind, code=exc.code)

    return scenario


def fault_on_fetch(
    match: str, kind: str, *, read_attempts: int | None = None, **fault: Any
) -> Callable[..., Awaitable[None]]:
    """A body for `expect_error`: the emulator's fault `kind` on requests under `match` (its
    `faults.add` options as keywords), then one fetch from the start, with fewer read attempts if
    given so that a lasting fault ends the scenario quickly."""

    async def body(
        emulator: Any, server: ThreadedServer, connector: Callable[..., Any], ids: list[int]
    ) -> None:
        emulator.faults.add({"kind": kind, "match": match, **fault})
        options = {"read_attempts": read_attempts} if read_attempts else {}
        await connector(**options).fetch(None)

    return body


# Scenario parts that are the same on every regional platform.

async def check_ok(emulator: Any, server: ThreadedServer, connector: Callable[..., Any], extra: dict) -> None:
    """A scenario: the connector's own check against a healthy emulator."""
    await connector().check()


async def fetch_after_revoke(
    emulator: Any, server: ThreadedServer, connector: Callable[..., Any], ids: list[int]
) -> None:
    """A body for `expect_error`: the emulator revokes our credentials, then one fetch."""
    server.call(emulator.revoke)
    await connector().fetch(None)


async def fetch_with_a_foreign_cursor(
    emulator: Any, server: ThreadedServer, connector: Callable[..., Any], ids: list[int]
) -> None:
    """A body for `expect_error`: a fetch with a cursor the platform did not issue."""
    await connector().fetch("bm90LWEtY3Vyc29y")


def record_all(
    record: Callable[[str, Path], Awaitable[Path]], scenarios: Iterable[str], argv: list[str]
) -> None:
    """`python -m sandbox.<platform>.record [DIR]`: every scenario recorded into DIR (by default
    the fixtures), each cassette's path printed."""
    root = Path(argv[1]) if len(argv) > 1 else FIXTURES_DIR

    async def run() -> None:
        for name in scenarios:
            print(await record(name, root))

    asyncio.run(run())
