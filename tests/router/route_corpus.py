"""A fixed corpus for proving that routing speed-ups change no route.

    .venv/bin/python -m tests.router.route_corpus --write   # (re)writes data/routes.jsonl.gz

The texts are the project's own: the throughput bench's synthetic messages (two seeds) and the
string constants of the router tests. No dev text. Each is routed by the default router with the
rules (a fast-track flag, a platform and a date cycling through the seasons, so importance and
executors' absences vary), and in batches by a router with a model trained on the archive written
for tests/router/test_archive.py (archive topic and executors, territories). Every field of the
`Routing` is recorded, the confidence rounded to 6 places.

Regenerate only from a commit whose routes are the reference (the fixture records them).
"""

from __future__ import annotations

import ast
import gzip
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
FIXTURE = HERE / "data" / "routes.jsonl.gz"
DATES = [datetime(2026, m, d, 9, 0, tzinfo=UTC) for m, d in ((1, 15), (4, 2), (7, 20), (10, 30), (12, 31))]
PLATFORMS = [None, "vk", "telegram", "ok", "max"]
BATCH = 64


def texts() -> list[str]:
    sys.path.insert(0, str(ROOT))
    from bench.router_throughput import make_messages

    out = make_messages(1500, seed=7) + make_messages(500, seed=11)
    seen = set(out)
    for path in sorted(HERE.glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                s = node.value
                if len(s) >= 8 and any("а" <= c.lower() <= "я" for c in s) and s not in seen:
                    seen.add(s)
                    out.append(s)
    return out


def route_record(r) -> dict:
    rec = r.model_dump(mode="json")
    rec["confidence"] = round(rec["confidence"], 6)
    return rec


def model_router():
    from router.classifier import Router
    from router.model import TopicModel
    from tests.router.test_archive import archive

    rows = archive()
    model = TopicModel.train(
        [r["text"] for r in rows],
        [r["topic_group"] for r in rows],
        topics=[r["topic"] for r in rows],
        executors=[r["executor"] for r in rows],
    )
    base = Router.load()
    return Router(base.rubricator, base.executors, base.gazetteer, base.importance, model=model)


def rules_routes(router, corpus: list[str]) -> list[dict]:
    out = []
    for i, text in enumerate(corpus):
        r = router.route(
            text, fast_track=i % 7 == 3, platform=PLATFORMS[i % len(PLATFORMS)], when=DATES[i % len(DATES)]
        )
        out.append(route_record(r))
    return out


def model_routes(router, corpus: list[str]) -> list[dict]:
    out = []
    for k in range(0, len(corpus), BATCH):
        when = DATES[(k // BATCH) % len(DATES)]
        out.extend(route_record(r) for r in router.route_many(corpus[k : k + BATCH], when=when))
    return out


def build() -> list[dict]:
    from router.classifier import Router

    corpus = texts()
    records = [
        {"kind": "rules", "text": t, "route": r} for t, r in zip(corpus, rules_routes(Router.load(), corpus), strict=True)
    ]
    records += [
        {"kind": "model", "text": t, "route": r} for t, r in zip(corpus, model_routes(model_router(), corpus), strict=True)
    ]
    return records


def read() -> list[dict]:
    with gzip.open(FIXTURE, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def write() -> None:
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(FIXTURE, "wt", encoding="utf-8", compresslevel=9) as f:
        for rec in build():
            f.write(json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n")


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        write()
        print(f"wrote {FIXTURE}")
    else:
        print(__doc__)
