"""Incident Management mock API (the regional centre's monitoring system, 004 §2.1).

There is no public API, so this mock is our design from REGULATIONS.md; it is documented in
docs/openapi/incident_management.yaml (a test keeps the two in step) and lives in this one folder
so a real API can replace it. What it models:
- a bearer token per municipality (`Authorization: Bearer …`); a revoked token answers 401;
- a change feed `GET /api/v1/incidents?since=<seq>&limit=` ordered by the global change sequence,
  so a reader that stores the last `seq` it saw never misses a change;
- answers `POST /api/v1/incidents/{id}/answers` (first / intermediate / final / clarification with
  outcome Решено | Не решено | Отложено), deduplicated by the `Idempotency-Key` header;
- `POST /api/v1/incidents/{id}/publication`: the approved answer was posted in the social network,
  the incident is marked answered with the link and sent for the citizen's rating;
- the regional centre approving or returning answers, citizens commenting (reopens) or rating,
  and two days of silence meaning "accepted" — driven by the `/_sandbox/...` admin routes;
- errors `{"error": {"code", "message"}}` with the HTTP status; 10 requests per second per token,
  answered with 429, `Retry-After` and `error.retry_after`.
"""

from __future__ import annotations

import itertools
import json
import time
from collections import deque
from typing import Any

from aiohttp import web

from sandbox.base import Emulator, over_rate
from sandbox.faults import FaultRule
from sandbox.incident_management.world import NETWORKS, Conflict, Invalid, World

TOKEN = "im-demo-token-for-the-emulator-only"
API = "/api/v1"
RPS_LIMIT = 10
MAX_LIMIT = 100
ORGANIZATION = {
    "id": 4201,
    "name": "Администрация Таштагольского муниципального района",
    "municipality": "Таштагольский муниципальный район",
}
SCOPES = ["incidents:read", "answers:write", "publications:write"]


def error(status: int, code: str, message: str, **extra: Any) -> web.Response:
    headers = {"Retry-After": str(extra["retry_after"])} if "retry_after" in extra else None
    return web.json_response(
        {"error": {"code": code, "message": message, **extra}}, status=status, headers=headers
    )


class IncidentManagementEmulator(Emulator):
    name = "incident_management"

    def __init__(self, *, seed: int = 0, clock: Any = None, rps_limit: int = RPS_LIMIT) -> None:
        super().__init__(seed=seed, clock=clock)
        self.offset = 0.0  # moved by advance(): "two days of silence" in a test that takes a second
        self.world = World(self.now)
        self.tokens = {TOKEN}
        self.revoked: set[str] = set()
        self.rps_limit = rps_limit
        self.rate_limited = 0  # 429s answered by the limit itself (not injected faults)
        self.call_times: list[float] = []  # when each API call arrived, for the benchmark
        self._window: dict[str, deque[float]] = {}
        self._networks = itertools.cycle(NETWORKS)  # where the monitoring finds the next message

    def now(self) -> float:
        return self.clock() + self.offset

    def demo_secrets(self) -> dict[str, str]:
        return {"token": TOKEN}

    def error_response(self, kind: str, rule: FaultRule) -> web.StreamResponse:
        if kind == "429":
            return error(429, "rate_limited", "Too many requests", retry_after=rule.retry_after)
        if kind == "auth":
            return error(401, "token_revoked", "The access token was revoked")
        return error(503, "unavailable", "Service temporarily unavailable")

    # -- simulated people -------------------------------------------------------------------------
    def inject(self, payload: dict[str, Any]) -> dict[str, Any]:
        """`{"text", "author_id"?, "author_name"?, "network"?: vk|ok|telegram, "topic_group"?,
        "topic"?, "importance"?: normal|high, "urgent"?, "deadline_hours"?}` creates an incident;
        `{"kind": edit|delete|rate|dispute, "id", "text"?, "rating"?}` acts on one."""
        kind = payload.get("kind", "new")
        try:
            if kind == "new":
                inc = self.world.create(
                    text=payload.get("text", ""),
                    author_id=int(payload.get("author_id", 500_000 + self.next_id())),
                    author_name=payload.get("author_name", "Житель"),
                    network=payload.get("network") or next(self._networks),
                    topic_group=payload.get("topic_group"),
                    topic=payload.get("topic"),
                    importance=payload.get("importance", "normal"),
                    urgent=bool(payload.get("urgent", False)),
                    deadline_hours=payload.get("deadline_hours"),
                )
                return {"id": inc["id"], "number": inc["number"], "network": inc["source"]["network"]}
            incident_id = int(payload["id"])
            if kind == "edit":
                self.world.edit_source(incident_id, payload["text"])
            elif kind == "delete":
                self.world.delete_source(incident_id)
            elif kind == "rate":
                self.world.rate(incident_id, int(payload.get("rating", 5)), payload.get("text") or None)
            elif kind == "dispute":
                self.world.comment(incident_id, payload.get("text") or "Не согласен с ответом")
            else:
                return {"delivered": False, "error": f"unknown kind {kind!r}"}
        except (KeyError, Conflict, Invalid) as exc:
            return {"delivered": False, "error": str(exc)}
        return {"delivered": True, "id": incident_id}

    def approve(self, incident_id: int, answer_id: int | None = None) -> dict[str, Any]:
        return self.world.approve(incident_id, answer_id)

    def return_answer(
        self, incident_id: int, comment: str = "Ответ не раскрывает сроки", answer_id: int | None = None
    ) -> dict[str, Any]:
        return self.world.return_answer(incident_id, comment, answer_id)

    def advance(self, seconds: float) -> list[int]:
        """Move the platform's clock; returns the incidents that became accepted by silence."""
        self.offset += seconds
        return self.world.expire_silence()

    def revoke(self, token: str = TOKEN) -> None:
        self.revoked.add(token)

    # -- routes ------------------------------------------------------------------------------------
    def setup_routes(self, app: web.Application) -> None:
        app.router.add_get(f"{API}/me", self.get_me)
        app.router.add_get(f"{API}/incidents", self.list_incidents)
        app.router.add_get(f"{API}/incidents/{{id}}", self.get_incident)
        app.router.add_post(f"{API}/incidents/{{id}}/answers", self.post_answer)
        app.router.add_post(f"{API}/incidents/{{id}}/publication", self.post_publication)
        app.router.add_post("/_sandbox/incidents/{id}/approve", self.admin_approve)
        app.router.add_post("/_sandbox/incidents/{id}/return", self.admin_return)
        app.router.add_post("/_sandbox/incidents/{id}/comment", self.admin_comment)
        app.router.add_post("/_sandbox/incidents/{id}/rate", self.admin_rate)
        app.router.add_post("/_sandbox/clock", self.admin_clock)
        app.router.add_post("/_sandbox/revoke", self.admin_revoke)

    def _guard(self, request: web.Request) -> web.Response | None:
        """Token check and the per-token rate limit, before any handler runs."""
        self.call_times.append(time.monotonic())
        auth = request.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else ""
        if not token:
            return error(401, "unauthorized", "Bearer token required")
        if token in self.revoked:
            return error(401, "token_revoked", "The access token was revoked")
        if token not in self.tokens:
            return error(401, "unauthorized", "Unknown access token")
        if over_rate(self._window, token, self.rps_limit):
            self.rate_limited += 1
            return error(
                429, "rate_limited", f"More than {self.rps_limit} requests per second", retry_after=1
            )
        self.world.expire_silence()
        return None

    def _incident_id(self, request: web.Request) -> int | web.Response:
        try:
            incident_id = int(request.match_info["id"])
        except ValueError:
            return error(404, "not_found", "No such incident")
        if incident_id not in self.world.incidents:
            return error(404, "not_found", f"Incident {incident_id} not found")
        return incident_id

    async def _body(self, request: web.Request) -> dict[str, Any] | web.Response:
        try:
            body = await request.json() if request.can_read_body else {}
        except (ValueError, json.JSONDecodeError):
            return error(400, "bad_request", "Body is not JSON")
        if not isinstance(body, dict):
            return error(400, "bad_request", "Body must be a JSON object")
        return body

    async def get_me(self, request: web.Request) -> web.Response:
        if (denied := self._guard(request)) is not None:
            return denied
        return web.json_response(
            {
                "organization": ORGANIZATION,
                "scopes": SCOPES,
                "limits": {"requests_per_second": self.rps_limit},
            }
        )

    async def list_incidents(self, request: web.Request) -> web.Response:
        if (denied := self._guard(request)) is not None:
            return denied
        try:
            since = int(request.query.get("since", 0))
            limit = int(request.query.get("limit", 50))
        except ValueError:
            return error(422, "validation_failed", "since and limit must be integers")
        if since < 0 or not 1 <= limit <= MAX_LIMIT:
            return error(422, "validation_failed", f"since >= 0 and 1 <= limit <= {MAX_LIMIT}")
        items = self.world.changed_since(since, limit)
        next_since = items[-1]["revision"] if items else max(since, 0)
        has_more = bool(items) and any(i["revision"] > next_since for i in self.world.incidents.values())
        if self.faults.pick(request.path, {"duplicate"}):
            items = items + items  # the platform re-delivers: readers must dedupe by id
        return web.json_response({"items": items, "next_since": next_since, "has_more": has_more})

    async def get_incident(self, request: web.Request) -> web.Response:
        if (denied := self._guard(request)) is not None:
            return denied
        incident_id = self._incident_id(request)
        if isinstance(incident_id, web.Response):
            return incident_id
        return web.json_response(self.world.get(incident_id))

    async def post_answer(self, request: web.Request) -> web.Response:
        if (denied := self._guard(request)) is not None:
            return denied
        incident_id = self._incident_id(request)
        if isinstance(incident_id, web.Response):
            return incident_id
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        try:
            answer, created = self.world.submit_answer(
                incident_id, body, request.headers.get("Idempotency-Key")
            )
        except Invalid as exc:
            return error(422, "validation_failed", str(exc))
        except Conflict as exc:
            return error(409, "conflict", str(exc))
        if created:
            self.record_reply(
                {
                    "incident_id": incident_id,
                    "answer_id": answer["id"],
                    "kind": answer["kind"],
                    "outcome": answer["outcome"],
                    "text": answer["text"],
                    "attachments": answer.get("attachments") or [],
                    "client_reference": answer["client_reference"],
                }
            )
        return web.json_response(answer, status=201 if created else 200)

    async def post_publication(self, request: web.Request) -> web.Response:
        if (denied := self._guard(request)) is not None:
            return denied
        incident_id = self._incident_id(request)
        if isinstance(incident_id, web.Response):
            return incident_id
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        try:
            answer, created = self.world.publish(incident_id, body)
        except Invalid as exc:
            return error(422, "validation_failed", str(exc))
        except Conflict as exc:
            return error(409, "conflict", str(exc))
        return web.json_response(
            {"incident": self.world.get(incident_id), "answer": answer}, status=201 if created else 200
        )

    # -- admin: the regional centre, citizens, time ----------------------------------------------
    async def _admin(self, request: web.Request, action) -> web.Response:
        try:
            body = await request.json() if request.can_read_body else {}
            return web.json_response(action(int(request.match_info.get("id", 0)), body))
        except KeyError as exc:
            return error(404, "not_found", str(exc).strip("'\""))
        except Conflict as exc:
            return error(409, "conflict", str(exc))
        except (Invalid, ValueError, TypeError) as exc:
            return error(422, "validation_failed", str(exc))

    async def admin_approve(self, request: web.Request) -> web.Response:
        return await self._admin(request, lambda i, b: self.world.approve(i, b.get("answer_id")))

    async def admin_return(self, request: web.Request) -> web.Response:
        return await self._admin(
            request,
            lambda i, b: self.world.return_answer(
                i, b.get("comment") or "Ответ не раскрывает сроки", b.get("answer_id")
            ),
        )

    async def admin_comment(self, request: web.Request) -> web.Response:
        return await self._admin(request, lambda i, b: self.world.comment(i, b["text"]))

    async def admin_rate(self, request: web.Request) -> web.Response:
        return await self._admin(request, lambda i, b: self.world.rate(i, int(b["rating"]), b.get("comment")))

    async def admin_clock(self, request: web.Request) -> web.Response:
        return await self._admin(
            request, lambda _, b: {"accepted": self.advance(float(b["advance"])), "now": self.now()}
        )

    async def admin_revoke(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else {}
        self.revoke(body.get("token", TOKEN))
        return web.json_response({"ok": True})
