"""`otklik sandbox`: the platform emulators standalone on 127.0.0.1, to explore with curl —
optionally with simulated citizens writing to them."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from otklik.exceptions import OtklikError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sandbox", help="run the platform emulators on 127.0.0.1 until Ctrl-C")
    p.add_argument("--only", help="comma-separated platforms, e.g. telegram,vk (default: all in this build)")
    p.add_argument(
        "--port-base",
        type=int,
        help="ports PORT_BASE, PORT_BASE+1, … in registry order (default 8701…; 0 = any free port)",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument(
        "--traffic",
        type=float,
        metavar="RATE",
        help="simulated citizens write RATE messages per second to the emulators",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the simulated citizens (default 0)")
    p.add_argument(
        "--feedback",
        type=float,
        default=0.3,
        metavar="SHARE",
        help="with --traffic: share of citizens who rate or dispute an answer on a feedback platform",
    )
    p.set_defaults(func=cmd_sandbox)


def cmd_sandbox(args: argparse.Namespace) -> int:
    from sandbox.registry import EMULATORS
    from sandbox.server import ports_from, run_all

    names = [n.strip() for n in args.only.split(",") if n.strip()] if args.only else None
    unknown = sorted(set(names or []) - set(EMULATORS))
    if unknown:
        raise OtklikError(f"no platform {', '.join(unknown)}; known: {', '.join(EMULATORS)}")
    if args.traffic is not None and args.traffic <= 0:
        raise OtklikError("--traffic must be a positive rate (messages per second)")

    def announce(line: str) -> None:
        print(line, flush=True)

    traffic = _traffic(args.traffic, args.seed, args.feedback) if args.traffic else None

    def started(running):
        _print_config({r.name: r.url for r in running})
        return traffic(running) if traffic else None

    async def serve() -> dict[str, str]:
        # Ctrl-C and SIGTERM (systemd, docker stop, a background job) stop the emulators cleanly.
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        return await run_all(
            names, ports_from(args.port_base), args.host, stop=stop, announce=announce, started=started
        )

    with contextlib.suppress(KeyboardInterrupt):
        if not asyncio.run(serve()):
            return 1
    return 0


def _print_config(urls: dict[str, str]) -> None:
    """The configuration that points otklik at these emulators, to paste (`otklik init --sandbox`
    writes the same for the default ports)."""
    from sandbox import config

    print("\n# otklik.toml for these emulators (or: otklik init --sandbox):", flush=True)
    print("\n".join(config.config_toml(urls, staff_from_env=True).splitlines()[2:]).replace(
        f'secrets_dir = "{config.SECRETS_DIR}"', "# secrets: the export lines below"), flush=True)
    print("# their tokens (made up, the emulators'):", flush=True)
    print("\n".join(config.env_lines(list(urls))) + "\n", flush=True)


def _traffic(rate: float, seed: int, feedback: float):
    """A `started` hook for run_all: feed the running emulators and report every 10 s."""

    async def feed(running) -> None:
        from sandbox.traffic import TrafficGenerator
        from sandbox.traffic_feed import Feeder

        feeder = Feeder(
            TrafficGenerator(seed=seed), {r.name: r.url for r in running}, feedback_share=feedback
        )
        print(f"simulated citizens: {rate:g} messages/s to {', '.join(r.name for r in running)}", flush=True)
        task = asyncio.ensure_future(feeder.run(rate))
        try:
            while not task.done():
                await asyncio.wait({task}, timeout=10)
                s = feeder.stats
                print(
                    f"traffic: {s.sent} delivered, {s.skipped} skipped, {s.refused} refused, {s.errors} errors",
                    flush=True,
                )
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return feed
