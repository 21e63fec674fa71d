"""`otklik normalize --platform P FILE` for any file: exit 0 with valid JSON lines (messages), or
exit 3 with one line {"error": ...}; never a traceback. Hypothesis over raw bytes and over mutated
real payloads, in process (otklik.cli.main, stdout captured), and once as a subprocess."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors import fuzzing
from otklik.cli import main
from otklik.models import Message

ROOT = Path(__file__).resolve().parents[2]
QUIET = settings(derandomize=True, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
SEEDS = {p: fuzzing.samples(p) for p in fuzzing.PLATFORMS}


def normalize(tmp_path: Path, platform: str, content: bytes) -> tuple[int, list[dict]]:
    path = tmp_path / "payload.json"
    path.write_bytes(content)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["normalize", "--platform", platform, str(path)])
    lines = [json.loads(line) for line in out.getvalue().splitlines()]  # every line is JSON
    assert code in (0, 3), code
    if code == 3:
        [error] = lines
        assert error["error"] in ("auth_failed", "rate_limited", "transient", "fatal", "malformed"), error
    else:
        for line in lines:
            Message.model_validate(line)
    return code, lines


@pytest.mark.parametrize("platform", fuzzing.PLATFORMS)
@settings(QUIET, max_examples=20)
@given(content=st.binary(max_size=300))
def test_any_bytes(tmp_path, platform, content):
    normalize(tmp_path, platform, content)


@pytest.mark.parametrize("platform", fuzzing.PLATFORMS)
@settings(QUIET, max_examples=20)
@given(data=st.data())
def test_mutated_samples(tmp_path, platform, data):
    seed = data.draw(st.sampled_from(SEEDS[platform]))
    rnd = data.draw(st.randoms(use_true_random=False))
    text = fuzzing.to_json_text(fuzzing.mutate(seed, rnd))
    cut = data.draw(st.sampled_from([None, 0.5, 0.99]))  # and truncated, as a half-written file
    content = text.encode() if cut is None else text.encode()[: int(len(text) * cut)]
    normalize(tmp_path, platform, content)


@pytest.mark.parametrize(
    "content",
    [b"", b"\xef\xbb\xbf", b"\xff\xfe{}", b"[" * 100_000 + b"]" * 100_000, b"{" * 100_000, b'"\\ud800"',
     b'{"ok": false, "error_code": 1e400}', b"NaN", b"\x00", b'[{"update_id": 1e999}]'],
    ids=["empty", "bom", "utf16", "deep", "deep-open", "surrogate", "inf", "nan", "nul", "huge"],
)
@pytest.mark.parametrize("platform", fuzzing.PLATFORMS)
def test_hostile_files(tmp_path, platform, content):
    normalize(tmp_path, platform, content)


def test_a_valid_sample_still_normalizes(tmp_path):
    sample = ROOT / "tests" / "connectors" / "telegram" / "samples" / "telegram_update_private_text.json"
    code, lines = normalize(tmp_path, "telegram", sample.read_bytes())
    assert code == 0 and len(lines) == 1


def test_deep_nesting_in_a_subprocess_has_no_traceback(tmp_path):
    path = tmp_path / "deep.json"
    path.write_bytes(b"[" * 100_000 + b"]" * 100_000)
    run = subprocess.run([sys.executable, "-m", "otklik", "normalize", "--platform", "vk", str(path)],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 3
    assert "Traceback" not in run.stderr and "Traceback" not in run.stdout
    assert json.loads(run.stdout)["error"] == "malformed"
