"""The regional record scripts, through their shared harness: recording a scenario again against
a fresh emulator gives the same exchanges and notes as the committed cassette (timestamps and
generated ids aside)."""

from __future__ import annotations

import importlib
import json

import pytest

from sandbox.cassette import FIXTURES_DIR


def _shape(cassette: dict) -> tuple[list, dict]:
    exchanges = [
        (i["request"]["method"], i["request"]["path"], i["response"].get("status"))
        for i in cassette["interactions"]
    ]
    notes = {k: cassette[k] for k in ("error", "code") if k in cassette}
    return exchanges, notes


@pytest.mark.parametrize("platform", ["incident_management", "pos", "kamchatka", "kuzbass_online"])
@pytest.mark.parametrize("scenario", ["first_sync", "error_429"])
async def test_recording_again_gives_the_committed_cassette(tmp_path, platform, scenario):
    module = importlib.import_module(f"sandbox.{platform}.record")
    path = await module.record(scenario, tmp_path)
    fresh = json.loads(path.read_text(encoding="utf-8"))
    committed = json.loads((FIXTURES_DIR / platform / f"{scenario}.json").read_text(encoding="utf-8"))
    assert fresh["interactions"] and _shape(fresh) == _shape(committed)
    assert ("error" in fresh) == scenario.startswith("error_")  # what the scenario noted is kept
