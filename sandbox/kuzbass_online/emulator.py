"""«Кузбасс Онлайн» mock API: a municipality's sub-domain of the regional feedback platform.

There is no public API (the web client speaks private `/web/v1/…` endpoints), so this mock is our
design from 004 §2.3 and what the platform shows publicly; it is documented in
docs/openapi/kuzbass_online.yaml (a test keeps the two in step) and lives in this one folder so a
real API can replace it. What it models:
- the organisation's token (`Authorization: Bearer …`), one municipality per sub-domain;
- `GET /web/v1/appeals?cursor=&limit=`: appeals and every later change, with an opaque cursor
  (`next_cursor`, `has_more`);
- statuses новое → принято в работу → решено | разъяснено: `POST …/take` with category,
  subcategory and executor, `POST …/answer` with the result and attachments, deduplicated by the
  `Idempotency-Key` header;
- the platform's moderator returning an answer, authors reopening and rating, via `/_sandbox/…`;
- errors `{"error": {"code", "message"}}`; 5 requests per second per token, answered with 429
  `TOO_MANY_REQUESTS` and `Retry-After`.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from aiohttp import web

from sandbox.base import Emulator, decode_seq_cursor, encode_seq_cursor, over_rate, run_action
from sandbox.faults import FaultRule
from sandbox.kuzbass_online.world import CATALOG, ApiError, World

TOKEN = "ko-demo-organisation-token-for-the-emulator-only"
API = "/web/v1"
RPS_LIMIT = 5
MAX_LIMIT = 100
PERMISSIONS = ["appeals.read", "appeals.take", "answers.write"]
ORGANISATION = "Администрация Таштагольского муниципального района"


def ok(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status)


def fail(status: int, code: str, message: str, retry_after: int | None = None) -> web.Response:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return web.json_response({"error": {"code": code, "message": message}}, status=status, headers=headers)


def encode_cursor(seq: int) -> str:
    return encode_seq_cursor("ko1", seq)


def decode_cursor(cursor: str) -> int:
    seq = decode_seq_cursor("ko1", cursor)
    if seq is None:
        raise ApiError(400, "BAD_CURSOR", "The cursor is not one this API issued")
    return seq


class KuzbassOnlineEmulator(Emulator):
    name = "kuzbass_online"

    def __init__(self, *, seed: int = 0, clock: Any = None, rps_limit: int = RPS_LIMIT) -> None:
        super().__init__(seed=seed, clock=clock)
        self.offset = 0.0
        self.world = World(self.now)
        self.tokens = {TOKEN}
        self.revoked: set[str] = set()
        self.rps_limit = rps_limit
        self.rate_limited = 0
        self._window: dict[str, deque[float]] = {}

    def now(self) -> float:
        return self.clock() + self.offset

    def demo_secrets(self) -> dict[str, str]:
        return {"token": TOKEN}

    def demo_options(self) -> dict[str, Any]:
        return {"executor": ORGANISATION, "web_url": self.world.web}

    def error_response(self, kind: str, rule: FaultRule) -> web.StreamResponse:
        if kind == "429":
            return fail(429, "TOO_MANY_REQUESTS", "Too many requests", retry_after=rule.retry_after)
        if kind == "auth":
            return fail(401, "TOKEN_EXPIRED", "The token has expired")
        return fail(500, "INTERNAL", "Internal error")

    # -- simulated people ------------------------------------------------------------------------
    def inject(self, payload: dict[str, Any]) -> dict[str, Any]:
        """`{"text", "author_id"?, "author_name"?, "category"?, "attachments"?: n, "address"?}`
        posts an appeal; `{"kind": delete|rate|dispute|return, "id", "text"?, "rating"?}` acts on
        one (dispute: the author reopens it; return: the platform's moderator sends it back)."""
        kind = payload.get("kind", "new")
        w = self.world
        try:
            if kind == "new":
                appeal = w.create(
                    text=payload.get("text", ""),
                    author_id=int(payload.get("author_id", 700_000 + self.next_id())),
                    author_name=payload.get("author_name", "Житель"),
                    category=payload.get("category"),
                    attachments=int(payload.get("attachments", 0)),
                    address=payload.get("address"),
                )
                return {"id": appeal["id"], "number": appeal["number"]}
            appeal_id = int(payload["id"])
            if kind == "delete":
                w.withdraw(appeal_id)
            elif kind == "rate":
                w.rate(appeal_id, int(payload.get("rating", 5)), payload.get("text") or None)
            elif kind == "dispute":
                w.reopen(appeal_id, payload.get("text") or "Проблема не решена")
            elif kind == "return":
                w.return_answer(appeal_id, payload.get("text") or "Ответ не по существу")
            else:
                return {"delivered": False, "error": f"unknown kind {kind!r}"}
        except (KeyError, ValueError, ApiError) as exc:
            return {"delivered": False, "error": str(exc)}
        return {"delivered": True, "id": appeal_id}

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    def revoke(self, token: str = TOKEN) -> None:
        self.revoked.add(token)

    # -- routes ------------------------------------------------------------------------------------
    def setup_routes(self, app: web.Application) -> None:
        app.router.add_get(f"{API}/profile", self.get_profile)
        app.router.add_get(f"{API}/appeals", self.list_appeals)
        app.router.add_get(f"{API}/appeals/{{id}}", self.get_appeal)
        app.router.add_post(f"{API}/appeals/{{id}}/take", self.post_take)
        app.router.add_post(f"{API}/appeals/{{id}}/answer", self.post_answer)
        for action in ("return", "reopen", "rate"):
            app.router.add_post(f"/_sandbox/appeals/{{id}}/{action}", self.admin_action)
        app.router.add_post("/_sandbox/clock", self.admin_clock)
        app.router.add_post("/_sandbox/revoke", self.admin_revoke)

    def _guard(self, request: web.Request) -> web.Response | None:
        auth = request.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else ""
        if not token or token not in self.tokens:
            return fail(401, "UNAUTHORIZED", "A valid token is required")
        if token in self.revoked:
            return fail(401, "TOKEN_EXPIRED", "The token has expired")
        if over_rate(self._window, token, self.rps_limit):
            self.rate_limited += 1
            return fail(429, "TOO_MANY_REQUESTS", f"More than {self.rps_limit} requests per second", retry_after=1)
        return None

    async def _handle(self, request: web.Request, action) -> web.Response:
        """Guard, parse the id and the body, run `action(appeal_id, body)`, map ApiError."""
        if (denied := self._guard(request)) is not None:
            return denied
        return await run_action(request, action, fail, "No such appeal")

    async def get_profile(self, request: web.Request) -> web.Response:
        return await self._handle(
            request,
            lambda _, __: ok(
                {
                    "organisation": {"id": 4201, "name": ORGANISATION},
                    "municipality": self.world.municipality,
                    "permissions": PERMISSIONS,
                    "categories": [{"name": c, "subcategories": s} for c, s in CATALOG.items()],
                    "limits": {"requests_per_second": self.rps_limit},
                }
            ),
        )

    async def list_appeals(self, request: web.Request) -> web.Response:
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
            has_more = any(a["revision"] > last for a in self.world.appeals.values())
            if self.faults.pick(request.path, {"duplicate"}):
                items = items + items  # re-delivered: readers must dedupe by id
            return ok({"items": items, "next_cursor": encode_cursor(last), "has_more": has_more})

        return await self._handle(request, page)

    async def get_appeal(self, request: web.Request) -> web.Response:
        return await self._handle(request, lambda i, _: ok(self.world.get(i)))

    async def post_take(self, request: web.Request) -> web.Response:
        def take(appeal_id: int, body: dict) -> web.Response:
            appeal, _ = self.world.take(appeal_id, body)
            return ok(appeal)

        return await self._handle(request, take)

    async def post_answer(self, request: web.Request) -> web.Response:
        def answer(appeal_id: int, body: dict) -> web.Response:
            result, created = self.world.answer(appeal_id, body, request.headers.get("Idempotency-Key"))
            if created:
                self.record_reply(
                    {
                        "appeal_id": appeal_id,
                        "answer_id": result["id"],
                        "result": result["result"],
                        "text": result["text"],
                        "attachments": result["attachments"],
                        "client_reference": result["client_reference"],
                    }
                )
            return ok(result, status=201 if created else 200)

        return await self._handle(request, answer)

    # -- admin: the moderator, authors, time -----------------------------------------------------
    async def admin_action(self, request: web.Request) -> web.Response:
        action = request.path.rsplit("/", 1)[-1]
        try:
            appeal_id = int(request.match_info["id"])
            body = await request.json() if request.can_read_body else {}
            w = self.world
            if action == "return":
                result = w.return_answer(appeal_id, body.get("comment") or "Ответ не по существу")
            elif action == "reopen":
                result = w.reopen(appeal_id, body.get("comment") or "Проблема не решена")
            else:
                result = w.rate(appeal_id, int(body["rating"]), body.get("comment"))
        except ApiError as exc:
            return fail(exc.status, exc.code, str(exc))
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            return fail(422, "VALIDATION_ERROR", f"bad admin request: {type(exc).__name__}")
        return ok(result)

    async def admin_clock(self, request: web.Request) -> web.Response:
        try:
            self.advance(float((await request.json())["advance"]))
        except (KeyError, ValueError, TypeError) as exc:
            return fail(422, "VALIDATION_ERROR", f"bad admin request: {type(exc).__name__}")
        return ok({"now": self.now()})

    async def admin_revoke(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else {}
        self.revoke(body.get("token", TOKEN))
        return ok({"revoked": True})
