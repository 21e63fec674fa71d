"""The regional feedback platforms publish no sample payloads; each one's samples (beside its
tests, written from the mock's recordings) go through `otklik normalize --platform P`: messages as
JSON lines, errors classified (exit 3)."""

import json
from pathlib import Path

import pytest

from otklik.cli import main

HERE = Path(__file__).parent
# platform -> sample file -> (messages expected, or None for an error; the error class expected)
EXPECTED = {
    "incident_management": {
        "im_incidents_page.json": (3, None),
        "im_incident.json": (1, None),
        "im_incident_source_deleted.json": (1, None),
        "im_answer_created.json": (0, None),
        "im_error_token_revoked.json": (None, "auth_failed"),
        "im_error_rate_limited.json": (None, "rate_limited"),
    },
    "pos": {
        "pos_edms_page.json": (3, None),
        "pos_appeal.json": (1, None),
        "pos_appeal_with_answers.json": (1, None),
        "pos_token_response.json": (0, None),
        "pos_error_invalid_grant.json": (None, "auth_failed"),
        "pos_error_invalid_token.json": (None, "auth_failed"),
        "pos_error_429.json": (None, "rate_limited"),
    },
    "kamchatka": {
        "kvp_messages_page.json": (3, None),
        "kvp_message.json": (1, None),
        "kvp_message_envelope.json": (1, None),
        "kvp_answer_created.json": (0, None),
        "kvp_error_token_revoked.json": (None, "auth_failed"),
        "kvp_error_photos_required.json": (None, "fatal"),
    },
}


@pytest.mark.parametrize("platform", sorted(EXPECTED))
def test_every_sample_is_listed(platform):
    assert sorted(p.name for p in (HERE / platform / "samples").glob("*.json")) == sorted(EXPECTED[platform])


@pytest.mark.parametrize("platform, name", [(p, n) for p, files in EXPECTED.items() for n in sorted(files)])
def test_sample_normalizes(platform, name, capsys):
    count, error = EXPECTED[platform][name]
    code = main(["normalize", "--platform", platform, str(HERE / platform / "samples" / name)])
    out = capsys.readouterr().out.splitlines()
    if error:
        assert code == 3 and json.loads(out[0])["error"] == error
        return
    assert code == 0 and len(out) == count
    for line in out:
        message = json.loads(line)
        assert message["platform"] == platform and message["external_id"] and message["created_at"]
