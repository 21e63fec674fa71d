"""`otklik moderate`'s own input and output paths (the fast ones) against what they replace:
pydantic for reading a line, io.TextIOWrapper for splitting the input, json.dumps for writing."""

import io
import json
import select
import subprocess
import sys

import pytest
from pydantic import ValidationError

from moderation.verdict import Span, Verdict
from otklik.cli.moderate import Item, parse_line, read_batches, read_item, verdict_line

LINES = [
    '{"id": 1, "author": "a", "text": "яма на дороге"}',
    '{"id": "x-1", "author": 7, "text": "яма", "source": "vk:club1", "answered": true, "extra": [1]}',
    '{"id": 2, "author": "a", "text": "t", "created_at": "2026-03-01T08:00:00"}',
    '{"id": 3, "author": "a", "text": "t", "created_at": "2026-03-01T08:00:00+03:00"}',
    '{"id": 4, "author": "a", "text": "t", "created_at": "2026-03-01"}',
    '{"id": 5, "author": "a", "text": "t", "created_at": 1700000000, "source": null}',
    '{"id": 2.0, "author": "a", "text": "t"}',
    '{"id": true, "author": "a", "text": "t"}',
    '{"id": 6, "author": 4.0, "text": "t", "answered": 1}',
    '{"id": 7, "id": 8, "author": "a", "text": "t"}',
    '{"id": 99999999999999999999999, "author": "a", "text": "\\ud800 \\u0431"}',
]
BAD = [
    "{not json",
    "[1, 2]",
    '{"id": 1, "author": "a"}',
    '{"id": 2.5, "author": "a", "text": "t"}',
    '{"id": 3, "author": "a", "text": 5}',
    '{"id": 4, "author": "a", "text": "t", "answered": null}',
    '{"id": 5, "author": "a", "text": "t", "created_at": "2026-02-30T10:00:00"}',
    '{"id": 6, "author": "a", "text": "t"} trailing',
    '{"id": 7, "author": "a", "text": "t",',
]


@pytest.mark.parametrize("line", LINES)
def test_a_line_reads_as_pydantic_reads_it(line):
    for ending in ("\n", ""):
        m = parse_line(line + ending)
        assert read_item(line + ending) == Item(m.id, m.author, m.text, m.created_at, m.source, m.answered)


@pytest.mark.parametrize("line", BAD)
def test_a_bad_line_fails_as_pydantic_fails(line):
    for ending in ("\n", ""):
        with pytest.raises((ValidationError, ValueError)) as expected:
            parse_line(line + ending)
        with pytest.raises((ValidationError, ValueError)) as got:
            read_item(line + ending)
        assert type(got.value) is type(expected.value) and str(got.value) == str(expected.value)


def _wrapper_lines(data: bytes) -> list[str]:
    return list(io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="replace"))


class _Trickle(io.RawIOBase):
    """A stream that hands out a few bytes per read, as a slow pipe does."""

    def __init__(self, data: bytes, step: int) -> None:
        self.data, self.step = data, step

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        part, self.data = self.data[: self.step], self.data[self.step :]
        buf[: len(part)] = part
        return len(part)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"a\nb\n",
        b"a\nb",
        b"a\r\nb\rc\n\n\r\n  \nd",
        "яма \u2028 на\x0bдороге\x1c\nконец\r".encode() + b"\xff\xfe \xd0 \xd0\xb1\n\xd0",
    ],
)
@pytest.mark.parametrize("step", [1, 2, 3, 1 << 20])
def test_lines_are_split_and_decoded_as_text_io_does(data, step):
    stream = io.BufferedReader(_Trickle(data, step))
    got = [line for batch in read_batches(stream) for line in batch]
    assert got == _wrapper_lines(data)


def test_verdict_lines_are_what_json_dumps_writes():
    span = Span(start=0, end=3, text="бля", reason="obscene")
    verdicts = [
        Verdict(decision="accept"),
        Verdict(decision="accept", repeat_of="1"),
        Verdict(decision="drop", reasons=["obscene"], spans=[span]),
        Verdict(decision="drop", reasons=["duplicate"], repeat_of="x"),
    ]
    for ident in (1, -5, 10**25, "id", 'кв"\\1\n', ""):
        for v in verdicts:
            out: dict = {"id": ident, "decision": v.decision, "reasons": v.reasons}
            if v.spans:
                out["spans"] = [s.model_dump() for s in v.spans]
            if v.repeat_of is not None:
                out["repeat_of"] = v.repeat_of
            assert verdict_line(ident, v) == json.dumps(out, ensure_ascii=False) + "\n"


def test_a_line_is_answered_while_the_input_waits():
    proc = subprocess.Popen(
        [sys.executable, "-m", "otklik", "moderate"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        for i in range(2):
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(json.dumps({"id": i, "author": "a", "text": "яма на дороге"}).encode() + b"\n")
            proc.stdin.flush()
            ready, _, _ = select.select([proc.stdout], [], [], 60)
            assert ready, "no verdict before the input ended"
            assert json.loads(proc.stdout.readline())["id"] == i
    finally:
        proc.stdin.close()
        assert proc.wait(60) == 0
