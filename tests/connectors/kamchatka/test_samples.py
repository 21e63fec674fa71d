"""Every sample payload (written from the mock's recordings: the platform publishes none) goes
through `otklik normalize --platform kamchatka`: messages as JSON lines, errors classified (exit 3)."""

import json
from pathlib import Path

import pytest

from otklik.cli import main

SAMPLES = Path(__file__).with_name("samples")
# file -> (messages expected, or None for an error; the error class expected)
EXPECTED = {
    "kvp_messages_page.json": (3, None),
    "kvp_message.json": (1, None),
    "kvp_message_envelope.json": (1, None),
    "kvp_answer_created.json": (0, None),
    "kvp_error_token_revoked.json": (None, "auth_failed"),
    "kvp_error_photos_required.json": (None, "fatal"),
}


def test_every_sample_is_listed():
    assert sorted(p.name for p in SAMPLES.glob("*.json")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_normalizes(name, capsys):
    count, error = EXPECTED[name]
    code = main(["normalize", "--platform", "kamchatka", str(SAMPLES / name)])
    out = capsys.readouterr().out.splitlines()
    if error:
        assert code == 3 and json.loads(out[0])["error"] == error
        return
    assert code == 0 and len(out) == count
    for line in out:
        message = json.loads(line)
        assert message["platform"] == "kamchatka" and message["external_id"] and message["created_at"]
