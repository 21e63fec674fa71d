"""A fixed corpus for proving that moderation speed-ups change no verdict.

    .venv/bin/python -m tests.moderation.verdict_corpus --write   # (re)writes data/verdicts.jsonl.gz

The corpus is built only from the project's own material: the sandbox traffic generator's texts
(single messages, social-length joins, long letters, huge texts), the disguise generator's output
for every family, the string constants of the moderation tests, and seeded mutations of the traffic
texts that sprinkle look-alikes, masks, separators, gaps, zero-width characters, markup and
capitals over them (so every normalizer path is exercised, not just the plain one). No dev text.

Two kinds of record, both compared field by field by test_equivalence.py:
- "text": `check_text` alone (decision, reasons, spans);
- "stream": a `ModerationFilter` run over a traffic stream in order, with authors and answers
  marked, under the default profile and the one with 002's "answered several times" rule, so the
  repeat verdicts (duplicate, repeat_answered, accepted repeat with `repeat_of`) are covered too.

Regenerate only from a commit whose verdicts are the reference (the fixture records them).
"""

from __future__ import annotations

import ast
import gzip
import json
import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURE = HERE / "data" / "verdicts.jsonl.gz"
T0 = datetime(2026, 3, 1, 8, 0)

# What a mutation may insert or substitute: look-alikes, masks, separators, gap punctuation,
# hidden characters, drawn letters, combining accents, markup, capitals.
_INSERTS = (
    "*", "**", "@", "%", '"', "#", "_", ".", "..", ",", "?", "-", " ", "|", "~", "^", "…",
    "\u200b", "\u00ad", "\u0301", "}{", ")(", ">|<", "(", ")", "3.14", "<b>", "&nbsp;", "\n", "ё", "Ё",
)
_SUBST = {
    "а": "a@", "в": "B", "е": "e3", "з": "3", "и": "u", "к": "k", "м": "m", "н": "H", "о": "o0",
    "р": "p", "с": "c$", "т": "T", "у": "y", "х": "x", "б": "6", "ч": "4", "п": "n", "ь": "b", "я": "9",
}


def _mutate(text: str, rng: random.Random) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 6)):
        if not chars:
            break
        i = rng.randrange(len(chars))
        roll = rng.random()
        if roll < 0.35 and chars[i].lower() in _SUBST:
            chars[i] = rng.choice(_SUBST[chars[i].lower()])
        elif roll < 0.6:
            chars.insert(i, rng.choice(_INSERTS))
        elif roll < 0.7:
            chars[i] = chars[i] * rng.randint(2, 4)
        elif roll < 0.8:
            chars[i] = chars[i].upper()
        elif roll < 0.9:  # a word spelt letter by letter
            j = min(len(chars), i + rng.randint(3, 7))
            sep = rng.choice((" ", ".", "-", "_", "*"))
            chars[i:j] = [sep.join(chars[i:j])]
        else:
            chars[i] = "*"
    return "".join(chars)


def traffic_texts(seed: int, n: int) -> list[str]:
    from sandbox.traffic import TrafficGenerator

    gen = TrafficGenerator(seed=seed)
    out: list[str] = []
    while len(out) < n:
        e = gen.next_event()
        if e.text:
            out.append(e.text)
    return out


def test_texts() -> list[str]:
    """Every string constant of the moderation tests with a letter in it."""
    out: list[str] = []
    for path in sorted(HERE.glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if any(ch.isalpha() for ch in node.value) and len(node.value) < 50_000:
                    out.append(node.value)
    return out


def texts() -> list[str]:
    from moderation.disguise import generate

    singles = traffic_texts(1, 6000)
    rng = random.Random(21)
    out: list[str] = []
    out += singles
    # Social-length joins (as bench/moderate_cli.py builds them) and long letters.
    out += [" ".join(singles[i : i + 2]) for i in range(0, 2000, 2)]
    out += [" ".join(singles[i : i + 10]) for i in range(0, 3000, 10)]
    out += [" ".join(singles[i : i + 300]) for i in range(0, 1800, 300)]  # beyond MAX_CHECKED
    for seed in (0, 1, 2):
        out += [s.text for s in generate(seed=seed)]
        out += [s.disguised for s in generate(seed=seed, per_form=1)]
    out += test_texts()
    mutated = traffic_texts(2, 6000)
    out += [_mutate(t, rng) for t in mutated]
    out += [_mutate(_mutate(t, rng), rng) for t in mutated[:2000]]
    out += [t.upper() for t in singles[:500]]
    out += [f"<p>{t}</p>&amp;<br/>" for t in singles[500:800]]
    return list(dict.fromkeys(out))  # unique, in order


def stream_events(seed: int, n: int) -> Iterator[dict]:
    """A traffic stream in order: id, author, text, created_at, answered (every third legit one)."""
    from sandbox.traffic import TrafficGenerator

    gen = TrafficGenerator(seed=seed, authors=60)
    count = 0
    while count < n:
        e = gen.next_event()
        if not e.text:
            continue
        count += 1
        yield {
            "id": str(e.seq),
            "author": str(e.author_id),
            "text": e.text,
            "created_at": (T0 + timedelta(minutes=7 * e.seq)).isoformat(),
            "answered": e.label == "legit" and e.seq % 3 == 0,
        }


def verdict_record(verdict) -> dict:
    return {
        "decision": verdict.decision,
        "reasons": list(verdict.reasons),
        "spans": [[s.start, s.end, s.text, s.reason] for s in verdict.spans],
        "repeat_of": verdict.repeat_of,
    }


def records() -> Iterator[dict]:
    from moderation.filter import ModerationFilter
    from moderation.profile import load_profile
    from moderation.rules import check_text

    for text in texts():
        yield {"kind": "text", "text": text, **verdict_record(check_text(text))}
    for profile in ("default", "moskalensky"):
        filt = ModerationFilter(load_profile(profile))
        for ev in stream_events(7, 4000):
            verdict = filt.moderate(ev["id"], ev["author"], ev["text"], datetime.fromisoformat(ev["created_at"]))
            if ev["answered"]:
                filt.mark_answered(ev["id"])
            yield {"kind": "stream", "profile": profile, **ev, **verdict_record(verdict)}


def write(path: Path = FIXTURE) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=9) as f:
        for rec in records():
            f.write(json.dumps(rec) + "\n")  # ASCII: test texts hold lone surrogates
            n += 1
    return n


def read(path: Path = FIXTURE) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


if __name__ == "__main__":
    import sys

    if sys.argv[1:] != ["--write"]:
        sys.exit(f"re-records {FIXTURE} with the verdicts of this tree; run with --write to do it")
    print(f"{write()} verdicts written to {FIXTURE}")
