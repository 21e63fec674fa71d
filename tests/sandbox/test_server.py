"""`otklik sandbox`: every emulator of the build on 127.0.0.1, explorable with curl; missing ones
skipped with a warning; clean stop on Ctrl-C / SIGTERM."""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from otklik.cli import main as cli_main
from otklik.exceptions import OtklikError
from sandbox import registry
from sandbox.server import available, examples, ports_from, run_all, start_all, stop_all

REPO = Path(__file__).resolve().parents[2]
ANY_PORT = dict.fromkeys(registry.EMULATORS, 0)


async def test_every_emulator_in_the_build_starts_and_answers():
    running = await start_all(None, ANY_PORT)
    try:
        assert [r.name for r in running] == available()
        async with httpx.AsyncClient(timeout=5) as http:
            for r in running:
                state = (await http.get(f"{r.url}/_sandbox/state")).json()
                assert state["name"] == r.name
                created = (
                    await http.post(f"{r.url}/_sandbox/inject", json={"text": "На ул. Ленина нет света"})
                ).json()
                assert not created.get("error"), (r.name, created)
    finally:
        await stop_all(running)
    async with httpx.AsyncClient(timeout=2) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"{running[0].url}/_sandbox/state")


async def test_a_platform_without_an_emulator_is_skipped_with_a_warning(monkeypatch):
    monkeypatch.setitem(registry.EMULATORS, "ghost", "sandbox.ghost.emulator:GhostEmulator")
    warnings: list[str] = []
    running = await start_all(["ghost", "telegram"], ANY_PORT, warn=warnings.append)
    try:
        assert [r.name for r in running] == ["telegram"]
        assert len(warnings) == 1 and "ghost" in warnings[0]
        assert "ghost" not in available()
    finally:
        await stop_all(running)


async def test_a_broken_emulator_module_is_an_error_not_a_skip(monkeypatch, tmp_path):
    (tmp_path / "broken_emulator_mod.py").write_text("import surely_not_installed_anywhere\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(registry.EMULATORS, "broken", "broken_emulator_mod:Broken")
    with pytest.raises(ModuleNotFoundError, match="surely_not_installed"):
        await start_all(["broken"], ANY_PORT)


async def test_unknown_platform_and_busy_port_are_clear_errors():
    with pytest.raises(OtklikError, match="unknown platform"):
        await start_all(["myspace"], ANY_PORT)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(OtklikError, match=f"port {port}.*--port-base"):
            await start_all(["vk", "telegram"], {"vk": 0, "telegram": port})


def test_ports_keep_their_place_in_the_registry():
    ports = ports_from(9000)
    assert [ports[name] for name in registry.EMULATORS] == list(range(9000, 9000 + len(registry.EMULATORS)))
    assert set(ports_from(0).values()) == {0}
    assert ports_from(None) == registry.DEFAULT_PORTS


async def test_run_all_prints_urls_and_curl_lines_that_work_then_stops():
    stop = asyncio.Event()
    lines: list[str] = []
    seen: dict[str, str] = {}

    async def explore(running) -> None:
        # Every read example printed for an emulator answers 200 when followed (after the inject).
        async with httpx.AsyncClient(timeout=5) as http:
            for r in running:
                seen[r.name] = r.url
                reads = 0
                for line in examples(r.name, r.url, r.emulator):
                    args = shlex.split(line)
                    if {"-X", "-d", "-u"} & set(args) or "ACCESS_TOKEN" in line:
                        continue  # writes, and the two-step OAuth example
                    headers = dict(
                        h.split(": ", 1) for h in (args[i + 1] for i, a in enumerate(args) if a == "-H")
                    )
                    assert (await http.get(args[-1], headers=headers)).status_code == 200, line
                    reads += 1
                assert reads >= 2, r.name  # the platform's own read, and the replies
        stop.set()

    urls = await run_all(
        ["telegram", "vk", "kamchatka"], ANY_PORT, stop=stop, announce=lines.append, started=explore
    )
    assert urls == seen and set(urls) == {"telegram", "vk", "kamchatka"}
    text = "\n".join(lines)
    for url in urls.values():
        assert url in text and f"curl -s {url}/_sandbox/replies" in text
    assert "/bot7000000001:" in text  # the emulator's own demo token, ready to paste
    async with httpx.AsyncClient(timeout=2) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"{urls['telegram']}/_sandbox/state")


def test_cli_refuses_an_unknown_platform(capsys):
    assert cli_main(["sandbox", "--only", "telegram,myspace"]) == 2
    assert "myspace" in capsys.readouterr().err


def test_cli_runs_with_traffic_until_interrupted():
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "otklik",
            "sandbox",
            "--only",
            "telegram",
            "--port-base",
            "0",
            "--traffic",
            "50",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        url = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if line.startswith("telegram"):
                url = line.split()[1]
            if line.startswith("simulated citizens"):
                break
        assert url, "the URL is printed"
        token = "7000000001:AAH-demo-token-for-the-emulator-only"
        updates: list = []
        while time.monotonic() < deadline and len(updates) < 5:
            updates = httpx.get(f"{url}/bot{token}/getUpdates", timeout=5).json()["result"]
            time.sleep(0.2)
        assert len(updates) >= 5, "simulated citizens write to the emulator"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_busiest_second_counts_the_fullest_one_second_window():
    from sandbox.base import busiest_second

    assert busiest_second([]) == 0
    assert busiest_second([0.0, 0.5, 0.99, 1.0, 1.5]) == 3  # [0.0, 1.0) holds three; 1.0 starts the next
    assert busiest_second([5.0, 0.1, 0.2]) == 2  # order does not matter
