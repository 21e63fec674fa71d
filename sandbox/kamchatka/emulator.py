"""«Камчатка в порядке» mock API: the executor's cabinet, module «Сообщения» (000 app. 2).

There is no public API, so this mock is our design from the regulation; it is documented in
docs/openapi/kamchatka.yaml (a test keeps the two in step) and lives in this one folder so a real
API can replace it. What it models:
- an API key of the executor's cabinet (`Authorization: Bearer …`);
- `GET /api/executor/v1/messages?cursor=&limit=`: assigned messages and every later change, with
  an opaque cursor (`meta.next_cursor`, `meta.has_more`);
- answers with confirming photos or a reason why there are none (§2.5), clarifying questions,
  and an extension request of up to 8 days with a comment (§2.5), both deduplicated by the
  `Idempotency-Key` header;
- the coordinator granting or denying extensions, users confirming, rating and sending answers
  back for rework (§2.7–2.8), via the `/_sandbox/...` admin routes;
- the envelope `{"success": true, "data", "meta"}` / `{"success": false, "error": {"code",
  "message"}}`; 5 requests per second per key, answered with 429 `RATE_LIMIT` and `Retry-After`.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from aiohttp import web

from sandbox.base import Emulator, decode_seq_cursor, encode_seq_cursor, over_rate, run_action
from sandbox.faults import FaultRule
from sandbox.kamchatka.world import EXECUTOR, ApiError, World

API_KEY = "kvp-demo-executor-key-for-the-emulator-only"
API = "/api/executor/v1"
RPS_LIMIT = 5
MAX_LIMIT = 100
PERMISSIONS = ["messages.read", "answers.write", "extensions.request"]


def ok(data: Any, status: int = 200, meta: dict[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"success": True, "data": data}
    if meta is not None:
        body["meta"] = meta
    return web.json_response(body, status=status)


def fail(status: int, code: str, message: str, retry_after: int | None = None) -> web.Response:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return web.json_response(
        {"success": False, "error": {"code": code, "message": message}}, status=status, headers=headers
    )


def encode_cursor(seq: int) -> str:
    return encode_seq_cursor("v1", seq)


def decode_cursor(cursor: str) -> int:
    seq = decode_seq_cursor("v1", cursor)
    if seq is None:
        raise ApiError(400, "CURSOR_INVALID", "The cursor is not one this API issued")
    return seq


class KamchatkaEmulator(Emulator):
    name = "kamchatka"

    def __init__(self, *, seed: int = 0, clock: Any = None, rps_limit: int = RPS_LIMIT) -> None:
        super().__init__(seed=seed, clock=clock)
        self.offset = 0.0
        self.world = World(self.now)
        self.keys = {API_KEY}
        self.revoked: set[str] = set()
        self.rps_limit = rps_limit
        self.rate_limited = 0
        self.call_times: list[float] = []
        self._window: dict[str, deque[float]] = {}

    def now(self) -> float:
        return self.clock() + self.offset

    def demo_secrets(self) -> dict[str, str]:
        return {"api_key": API_KEY}

    def error_response(self, kind: str, rule: FaultRule) -> web.StreamResponse:
        if kind == "429":
            return fail(429, "RATE_LIMIT", "Too many requests", retry_after=rule.retry_after)
        if kind == "auth":
            return fail(401, "TOKEN_REVOKED", "The API key was revoked")
        return fail(500, "INTERNAL_ERROR", "Internal error")

    # -- simulated people ------------------------------------------------------------------------
    def inject(self, payload: dict[str, Any]) -> dict[str, Any]:
        """`{"text", "author_id"?, "author_name"?, "group"?, "topic"?, "fast_track_days"?: 1..3,
        "repeat_of"?, "photos"?: n, "address"?}` posts a message; `{"kind": edit|delete|rate|dispute,
        "id", "text"?, "rating"?}` acts on one (rate = confirm and rate; dispute = rework)."""
        kind = payload.get("kind", "new")
        w = self.world
        try:
            if kind == "new":
                msg = w.create(
                    text=payload.get("text", ""),
                    author_id=int(payload.get("author_id", 500_000 + self.next_id())),
                    author_name=payload.get("author_name", "Житель"),
                    group=payload.get("group"),
                    topic=payload.get("topic"),
                    fast_track_days=payload.get("fast_track_days"),
                    repeat_of=payload.get("repeat_of"),
                    photos=int(payload.get("photos", 0)),
                    address=payload.get("address"),
                )
                return {"id": msg["id"], "number": msg["number"]}
            message_id = int(payload["id"])
            if kind == "edit":
                w.edit(message_id, payload["text"])
            elif kind == "delete":
                w.withdraw(message_id)
            elif kind == "rate":
                w.confirm(message_id)
                w.rate(message_id, int(payload.get("rating", 5)), payload.get("text") or None)
            elif kind == "dispute":
                w.rework(message_id, payload.get("text") or "Проблема не решена")
            else:
                return {"delivered": False, "error": f"unknown kind {kind!r}"}
        except (KeyError, ApiError) as exc:
            return {"delivered": False, "error": str(exc)}
        return {"delivered": True, "id": message_id}

    def decide_extension(self, message_id: int, granted: bool, comment: str | None = None) -> dict[str, Any]:
        return self.world.decide_extension(message_id, granted, comment)

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    def revoke(self, key: str = API_KEY) -> None:
        self.revoked.add(key)

    # -- routes ------------------------------------------------------------------------------------
    def setup_routes(self, app: web.Application) -> None:
        app.router.add_get(f"{API}/profile", self.get_profile)
        app.router.add_get(f"{API}/messages", self.list_messages)
        app.router.add_get(f"{API}/messages/{{id}}", self.get_message)
        app.router.add_post(f"{API}/messages/{{id}}/answers", self.post_answer)
        app.router.add_post(f"{API}/messages/{{id}}/extension", self.post_extension)
        for action in ("extension", "confirm", "rate", "rework"):
            app.router.add_post(f"/_sandbox/messages/{{id}}/{action}", self.admin_action)
        app.router.add_post("/_sandbox/clock", self.admin_clock)
        app.router.add_post("/_sandbox/revoke", self.admin_revoke)

    def _guard(self, request: web.Request) -> web.Response | None:
        self.call_times.append(time.monotonic())
        auth = request.headers.get("Authorization", "")
        key = auth[7:] if auth.startswith("Bearer ") else ""
        if not key:
            return fail(401, "TOKEN_MISSING", "API key required")
        if key in self.revoked:
            return fail(401, "TOKEN_REVOKED", "The API key was revoked")
        if key not in self.keys:
            return fail(401, "TOKEN_INVALID", "Unknown API key")
        if over_rate(self._window, key, self.rps_limit):
            self.rate_limited += 1
            return fail(429, "RATE_LIMIT", f"More than {self.rps_limit} requests per second", retry_after=1)
        return None

    async def _handle(self, request: web.Request, action) -> web.Response:
        """Guard, parse the id and the body, run `action(message_id, body)`, map ApiError."""
        if (denied := self._guard(request)) is not None:
            return denied
        return await run_action(request, action, fail, "No such message")

    async def get_profile(self, request: web.Request) -> web.Response:
        return await self._handle(
            request,
            lambda _, __: ok(
                {
                    "executor": {"id": 41, "name": EXECUTOR},
                    "permissions": PERMISSIONS,
                    "limits": {"requests_per_second": self.rps_limit},
                }
            ),
        )

    async def list_messages(self, request: web.Request) -> web.Response:
        def page(_: int, __: Any) -> web.Response:
            since = decode_cursor(request.query["cursor"]) if request.query.get("cursor") else 0
            try:
                limit = int(request.query.get("limit", 50))
            except ValueError:
                raise ApiError(422, "VALIDATION_ERROR", "limit must be an integer") from None
            if not 1 <= limit <= MAX_LIMIT:
                raise ApiError(422, "VALIDATION_ERROR", f"1 <= limit <= {MAX_LIMIT}")
            items = self.world.changed_since(since, limit)
            last = items[-1]["revision"] if items else since
            has_more = any(m["revision"] > last for m in self.world.messages.values())
            if self.faults.pick(request.path, {"duplicate"}):
                items = items + items  # re-delivered: readers must dedupe by id
            return ok(items, meta={"next_cursor": encode_cursor(last), "has_more": has_more})

        return await self._handle(request, page)

    async def get_message(self, request: web.Request) -> web.Response:
        return await self._handle(request, lambda i, _: ok(self.world.get(i)))

    async def post_answer(self, request: web.Request) -> web.Response:
        def answer(message_id: int, body: dict) -> web.Response:
            result, created = self.world.answer(message_id, body, request.headers.get("Idempotency-Key"))
            if created:
                self.record_reply(
                    {
                        "message_id": message_id,
                        "answer_id": result["id"],
                        "kind": result["kind"],
                        "text": result["text"],
                        "photos": result["photos"],
                        "client_reference": result["client_reference"],
                    }
                )
            return ok(result, status=201 if created else 200)

        return await self._handle(request, answer)

    async def post_extension(self, request: web.Request) -> web.Response:
        def extension(message_id: int, body: dict) -> web.Response:
            result, created = self.world.request_extension(
                message_id, body, request.headers.get("Idempotency-Key")
            )
            return ok(result, status=201 if created else 200)

        return await self._handle(request, extension)

    # -- admin: the coordinator, users, time -----------------------------------------------------
    async def admin_action(self, request: web.Request) -> web.Response:
        action = request.path.rsplit("/", 1)[-1]
        try:
            message_id = int(request.match_info["id"])
            body = await request.json() if request.can_read_body else {}
            w = self.world
            if action == "extension":
                result = w.decide_extension(message_id, bool(body["granted"]), body.get("comment"))
            elif action == "confirm":
                result = w.confirm(message_id)
            elif action == "rate":
                result = w.rate(message_id, int(body["rating"]), body.get("comment"))
            else:
                result = w.rework(message_id, body.get("comment") or "Проблема не решена")
        except ApiError as exc:
            return fail(exc.status, exc.code, str(exc))
        except (KeyError, ValueError, TypeError) as exc:
            return fail(422, "VALIDATION_ERROR", f"bad admin request: {exc}")
        return ok(result)

    async def admin_clock(self, request: web.Request) -> web.Response:
        try:
            self.advance(float((await request.json())["advance"]))
        except (KeyError, ValueError, TypeError) as exc:
            return fail(422, "VALIDATION_ERROR", f"bad admin request: {exc}")
        return ok({"now": self.now()})

    async def admin_revoke(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else {}
        self.revoke(body.get("key", API_KEY))
        return ok({"revoked": True})
