"""Every sample payload (written from the mock's recordings: the platform publishes none) goes
through `otklik normalize --platform pos`: messages as JSON lines, errors classified (exit 3)."""

import json
from pathlib import Path

import pytest

from otklik.cli import main

SAMPLES = Path(__file__).with_name("samples")
# file -> (messages expected, or None for an error; the error class expected)
EXPECTED = {
    "pos_edms_page.json": (3, None),
    "pos_appeal.json": (1, None),
    "pos_appeal_with_answers.json": (1, None),
    "pos_token_response.json": (0, None),
    "pos_error_invalid_grant.json": (None, "auth_failed"),
    "pos_error_invalid_token.json": (None, "auth_failed"),
    "pos_error_429.json": (None, "rate_limited"),
}


def test_every_sample_is_listed():
    assert sorted(p.name for p in SAMPLES.glob("*.json")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_normalizes(name, capsys):
    count, error = EXPECTED[name]
    code = main(["normalize", "--platform", "pos", str(SAMPLES / name)])
    out = capsys.readouterr().out.splitlines()
    if error:
        assert code == 3 and json.loads(out[0])["error"] == error
        return
    assert code == 0 and len(out) == count
    for line in out:
        message = json.loads(line)
        assert message["platform"] == "pos" and message["external_id"] and message["created_at"]
