"""Recorded HTTP exchanges ("cassettes") in a readable JSON format, replayed with respx.

A cassette is `fixtures/<platform>/<scenario>.json`:

    {"platform": "telegram", "scenario": "first_sync",
     "interactions": [
        {"request": {"method": "POST", "path": "/bot{token}/getUpdates", "match": {"offset": 0}},
         "response": {"status": 200, "headers": {...}, "json": {...}}}]}

`path` is matched exactly after the host (tokens already scrubbed to `{token}` placeholders, which
match any value); `match` lists request parameters (query, form or JSON body) that must be equal
(a value that is just a placeholder, such as "{webhook_secret}", matches any value).
Interactions are served in order for the same request shape, so a scenario that polls twice gets
the two recorded answers in turn; the last one repeats once the list runs out.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import respx

FIXTURES_DIR = Path(__file__).resolve().parent.parent / "fixtures"
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def load(platform: str, scenario: str, root: Path = FIXTURES_DIR) -> dict[str, Any]:
    path = root / platform / f"{scenario}.json"
    return json.loads(path.read_text(encoding="utf-8"))


def request_params(request: httpx.Request) -> dict[str, Any]:
    """Every parameter of a request, whatever way it was sent."""
    params: dict[str, Any] = dict(request.url.params)
    body = request.content
    if body:
        ctype = request.headers.get("content-type", "")
        if "json" in ctype:
            try:
                loaded = json.loads(body)
                if isinstance(loaded, dict):
                    params.update(loaded)
            except ValueError:
                pass
        elif "form" in ctype:
            params.update(dict(parse_qsl(body.decode("utf-8", "replace"))))
    return params


def _path_pattern(path: str) -> re.Pattern[str]:
    parts = PLACEHOLDER.split(path)
    return re.compile("^" + "[^/]+".join(re.escape(p) for p in parts) + "$")


def _matches(interaction: dict[str, Any], request: httpx.Request) -> bool:
    want = interaction["request"]
    if want.get("method", "GET").upper() != request.method:
        return False
    if not _path_pattern(want["path"]).match(request.url.path):
        return False
    params = request_params(request)
    return all(_equal(v, params.get(k)) for k, v in want.get("match", {}).items())


def _equal(recorded: Any, actual: Any) -> bool:
    # A scrubbed secret ("{webhook_secret}") stands for whatever value the test configures.
    if isinstance(recorded, str) and PLACEHOLDER.fullmatch(recorded):
        return actual is not None
    return str(actual) == str(recorded)


def _response(spec: dict[str, Any]) -> httpx.Response:
    if "json" in spec:
        return httpx.Response(spec.get("status", 200), headers=spec.get("headers"), json=spec["json"])
    return httpx.Response(spec.get("status", 200), headers=spec.get("headers"), text=spec.get("text", ""))


def mount(router: respx.MockRouter, cassette: dict[str, Any], base_url: str) -> list[httpx.Request]:
    """Serve a cassette for requests to `base_url`; return the list the requests are appended to."""
    interactions = cassette["interactions"]
    served: dict[int, int] = defaultdict(int)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        candidates = [i for i, it in enumerate(interactions) if _matches(it, request)]
        if not candidates:
            return httpx.Response(599, text=f"no recorded interaction for {request.method} {request.url}")
        # The first candidate not yet served, else the last one again.
        for i in candidates:
            if served[i] == 0:
                served[i] += 1
                return _response(interactions[i]["response"])
        return _response(interactions[candidates[-1]]["response"])

    router.route(url__startswith=base_url).mock(side_effect=handler)
    return seen
