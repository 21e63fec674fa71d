"""Record real HTTP exchanges with an emulator into a cassette (sandbox/cassette.py format).

Attach `Recorder.hooks()` to an httpx client as `event_hooks` (async or sync client alike), run a
scenario, then `save()`. Before anything is written, every configured secret value is replaced by
its `{placeholder}` (in paths, parameters, headers and bodies) and every personal name field gets a
fake name, the same fake for the same real value, so a cassette stays consistent with itself.

    recorder = Recorder("telegram", "first_sync", secrets={"token": token})
    async with httpx.AsyncClient(event_hooks=recorder.hooks()) as http:
        ...  # drive the connector
    recorder.save()

Exchanges that do not go through a client (a platform's webhook deliveries to us) are added with
`add(request_dict, response_dict)`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import httpx

from sandbox.cassette import FIXTURES_DIR, request_params

# Fields that carry a person's name on VK, OK and Telegram; their values are replaced by fakes of
# the same sort (a handle stays a Latin handle).
FIRST_NAME_FIELDS = frozenset({"first_name", "name", "author_name", "full_name", "fio"})
LAST_NAME_FIELDS = frozenset({"last_name"})
HANDLE_FIELDS = frozenset({"username", "screen_name", "nickname"})
NAME_FIELDS = FIRST_NAME_FIELDS | LAST_NAME_FIELDS | HANDLE_FIELDS
FAKE_FIRST = ["Анна", "Борис", "Вера", "Глеб", "Дарья", "Егор", "Жанна", "Захар", "Ирина", "Кирилл"]
FAKE_LAST = ["Берёзкина", "Васильков", "Грушина", "Дубов", "Ёлкина", "Клёнов", "Липина", "Ольхов"]
# Response headers worth keeping; dates, lengths and server names only add noise to a diff.
KEEP_HEADERS = frozenset({"content-type", "retry-after"})


class Recorder:
    def __init__(
        self,
        platform: str,
        scenario: str,
        *,
        secrets: Mapping[str, str] | None = None,
        match_keys: Iterable[str] | None = None,
        keep_names: Iterable[str] = (),
        description: str = "",
    ) -> None:
        """`secrets`: placeholder name -> secret value. `match_keys`: request parameters recorded
        under `match` (default: every parameter with a scalar value). `keep_names`: name values
        that are not personal (the bot's own name, a channel title) and stay as they are."""
        self.platform = platform
        self.scenario = scenario
        self.description = description
        self.replacements = {v: "{" + k + "}" for k, v in (secrets or {}).items() if v}
        self.match_keys = set(match_keys) if match_keys is not None else None
        self.keep_names = set(keep_names)
        self.interactions: list[dict[str, Any]] = []
        self._fakes: dict[str, dict[str, str]] = {}  # sort of name -> real -> fake

    # -- capture -------------------------------------------------------------------------------
    def hooks(self) -> dict[str, list]:
        """`event_hooks` for an httpx.AsyncClient."""
        return {"response": [self._on_response_async]}

    def sync_hooks(self) -> dict[str, list]:
        """`event_hooks` for an httpx.Client."""
        return {"response": [self._on_response_sync]}

    async def _on_response_async(self, response: httpx.Response) -> None:
        await response.aread()
        self.capture(response)

    def _on_response_sync(self, response: httpx.Response) -> None:
        response.read()
        self.capture(response)

    def capture(self, response: httpx.Response) -> None:
        request = response.request
        params = request_params(request)
        if self.match_keys is None:
            match = {k: v for k, v in params.items() if isinstance(v, str | int | float | bool)}
        else:
            match = {k: v for k, v in params.items() if k in self.match_keys}
        resp: dict[str, Any] = {
            "status": response.status_code,
            "headers": {k: v for k, v in response.headers.items() if k.lower() in KEEP_HEADERS},
        }
        try:
            resp["json"] = json.loads(response.content)
        except ValueError:
            resp["text"] = response.text
        self.add({"method": request.method, "path": request.url.path, "match": match}, resp)

    def add(self, request: dict[str, Any], response: dict[str, Any]) -> None:
        """Record one exchange given as cassette dicts (scrubbed here like the captured ones)."""
        self.interactions.append(self.scrub({"request": request, "response": response}))

    # -- scrubbing -----------------------------------------------------------------------------
    def _fake(self, real: str, field: str) -> str:
        sort = "handle" if field in HANDLE_FIELDS else "last" if field in LAST_NAME_FIELDS else "first"
        fakes = self._fakes.setdefault(sort, {})
        if real not in fakes:
            n = len(fakes)
            if sort == "handle":
                fakes[real] = f"resident_{n + 1}"
            else:
                pool = FAKE_LAST if sort == "last" else FAKE_FIRST
                fakes[real] = pool[n % len(pool)] + ("" if n < len(pool) else f" {n // len(pool) + 1}")
        return fakes[real]

    def replace(self, real: str, shown: str) -> None:
        """Show `real` as `shown` wherever it occurs (a local URL with a random port, say)."""
        self.replacements[real] = shown

    def _scrub_text(self, text: str) -> str:
        for real, shown in self.replacements.items():
            text = text.replace(real, shown)
        return text

    def scrub(self, value: Any, key: str | None = None) -> Any:
        if isinstance(value, dict):
            return {k: self.scrub(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.scrub(v, key) for v in value]
        if isinstance(value, str):
            if key in NAME_FIELDS and value not in self.keep_names:
                return self._fake(value, key)
            return self._scrub_text(value)
        return value

    # -- output --------------------------------------------------------------------------------
    def cassette(self) -> dict[str, Any]:
        out: dict[str, Any] = {"platform": self.platform, "scenario": self.scenario}
        if self.description:
            out["description"] = self.description
        out["interactions"] = self.interactions
        return out

    def save(self, root: Path = FIXTURES_DIR, notes: Mapping[str, Any] | None = None) -> Path:
        """Write the cassette; `notes` (what a replaying test needs besides the exchanges: a cursor,
        ids, the expected error) go to its top level, scrubbed like the exchanges."""
        path = root / self.platform / f"{self.scenario}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        cassette = {**self.cassette(), **self.scrub(dict(notes or {}))}
        path.write_text(json.dumps(cassette, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        return path
