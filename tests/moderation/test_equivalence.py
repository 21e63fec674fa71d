"""The verdicts recorded in tests/moderation/data/verdicts.jsonl.gz (see verdict_corpus.py) are
still the verdicts: decision, reasons in order, spans (offsets, text, reason) and repeat_of, for
every text alone and for every message of two filtered streams."""

from __future__ import annotations

from datetime import datetime

import pytest

from moderation.filter import ModerationFilter
from moderation.profile import load_profile
from moderation.rules import check_text
from tests.moderation.verdict_corpus import read, verdict_record

RECORDS = read()
FIELDS = ("decision", "reasons", "spans", "repeat_of")


def _expected(rec: dict) -> dict:
    return {k: rec[k] for k in FIELDS}


def test_the_corpus_covers_every_reason_and_repeat_kind():
    reasons = {r for rec in RECORDS for r in rec["reasons"]}
    assert reasons == {"obscene", "insult", "threat", "harm_intent", "spam", "duplicate", "repeat_answered"}
    assert any(rec["kind"] == "stream" and rec["decision"] == "accept" and rec["repeat_of"] for rec in RECORDS)
    assert sum(rec["kind"] == "text" for rec in RECORDS) > 15_000


def test_text_verdicts_unchanged():
    wrong = []
    for rec in RECORDS:
        if rec["kind"] == "text":
            got = verdict_record(check_text(rec["text"]))
            if got != _expected(rec):
                wrong.append((rec["text"][:200], _expected(rec), got))
    assert not wrong, f"{len(wrong)} verdicts changed; first: {wrong[:3]}"


@pytest.mark.parametrize("profile", ["default", "moskalensky"])
def test_stream_verdicts_unchanged(profile):
    filt = ModerationFilter(load_profile(profile))
    wrong = []
    for rec in RECORDS:
        if rec["kind"] == "stream" and rec["profile"] == profile:
            verdict = filt.moderate(rec["id"], rec["author"], rec["text"], datetime.fromisoformat(rec["created_at"]))
            if rec["answered"]:
                filt.mark_answered(rec["id"])
            got = verdict_record(verdict)
            if got != _expected(rec):
                wrong.append((rec["id"], rec["text"][:200], _expected(rec), got))
    assert not wrong, f"{len(wrong)} verdicts changed; first: {wrong[:3]}"
