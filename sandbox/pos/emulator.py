"""ПОС («Единое окно цифровой обратной связи») mock, from what public client code shows of the
real API, plus the parts it does not show, designed by us (marked "mock" in
docs/openapi/pos.yaml, which a test keeps in step with these routes):
- `POST /user-service/oauth/token`: OAuth2 password grant (and refresh_token) with HTTP Basic
  client credentials, form-encoded; Spring OAuth2 errors `{"error", "error_description"}`;
  access tokens expire (`expires_in`), an expired one answers 401 `invalid_token`;
- `GET /appeal-service/edms?page=&size=`: the inbox as a Spring page (`content`, `totalPages`,
  `totalElements`, `number`, `size`, `first`, `last`, …) of appeals with `id, description,
  subjectName, subsubjectName, answerAt, fastTrack, regionName, address, coordinates, applicant,
  attachments`; an appeal stays listed until `POST /appeal-service/edms/{id}/mark-accepted`
  (mock: `?version=` acknowledges only that version, so a newer change is listed again);
- `POST /appeal-service/edms/{id}`: an answer (`answerText`, `appealAnswerType` SOLVED |
  NOT_SOLVED | POSTPONED | REJECTED, `postponedDate`, `executorInfo`, `outgoingNumber`…) or a
  status action (TAKE_TO_WORK, SET_EXECUTOR, FORWARD_TO_PARENT, FORWARD_TO_SUBORDINATE);
- `POST /file-storage-service/filestorage` (multipart `file`, answered `{id, name, size, contentType,
  temporary, avatar, previewUrl, url}`) stores a file an answer then names in `attachmentIds`
  (public client code); mock: `GET /file-storage-service/filestorage/{id}` serves it back, and an
  answer naming an unknown id is refused with 400;
- mock: `GET /appeal-service/edms/{id}` (read-back), the manager's approval, negative comments
  and ratings via `/_sandbox/...`; Spring error bodies `{timestamp, status, error, message,
  messages, path}`; 10 requests per second per token answered with 429 and `Retry-After`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections import deque
from typing import Any

from aiohttp import web

from sandbox.base import Emulator
from sandbox.faults import FaultRule
from sandbox.pos.world import Conflict, Invalid, World, iso

CLIENT_ID = "pos-demo-client"
CLIENT_SECRET = "pos-demo-client-secret"
USERNAME = "severny-operator"
PASSWORD = "pos-demo-password-for-the-emulator-only"
TOKEN_TTL = 3600
RPS_LIMIT = 10
MAX_PAGE = 100
EDMS = "/appeal-service/edms"
FILES = "/file-storage-service/filestorage"
MAX_FILE = 50 * 1024 * 1024  # assumed: the documented limits are not public
OPERATOR = {
    "surname": "Операторова",
    "name": "Ольга",
    "patronymic": "Сергеевна",
    "system": "EDMS",
    "rsId": "5400000100",
    "userId": "70001",
    "email": "pos@severny.example",
    "superUser": False,
}


def oauth_error(status: int, code: str, description: str) -> web.Response:
    return web.json_response({"error": code, "error_description": description}, status=status)


class PosEmulator(Emulator):
    name = "pos"

    def __init__(
        self, *, seed: int = 0, clock: Any = None, rps_limit: int = RPS_LIMIT, token_ttl: int = TOKEN_TTL
    ) -> None:
        super().__init__(seed=seed, clock=clock)
        self.offset = 0.0
        self.world = World(self.now)
        self.password = PASSWORD
        self.token_ttl = token_ttl
        self.tokens: dict[str, float] = {}  # access token -> expiry (platform time)
        self.refresh_tokens: set[str] = set()
        self.rps_limit = rps_limit
        self.rate_limited = 0
        self.call_times: list[float] = []
        self.token_grants: list[str] = []  # grant types served, for tests of re-authentication
        self._window: dict[str, deque[float]] = {}
        self.files: dict[str, dict[str, Any]] = {}  # file storage id -> {name, size, contentType, data, sha256}

    def now(self) -> float:
        return self.clock() + self.offset

    def demo_secrets(self) -> dict[str, str]:
        return {
            "username": USERNAME,
            "password": PASSWORD,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        }

    def error(
        self,
        request: web.Request,
        status: int,
        reason: str,
        message: str,
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        """Spring Boot's error body; `messages` is what ПОС clients read."""
        return web.json_response(
            {
                "timestamp": iso(self.now()),
                "status": status,
                "error": reason,
                "message": message,
                "messages": [message],
                "path": request.path,
            },
            status=status,
            headers=headers,
        )

    def error_response(self, kind: str, rule: FaultRule) -> web.StreamResponse:
        if kind == "auth":
            return oauth_error(401, "invalid_token", "Cannot convert access token to JSON")
        body = {
            "timestamp": iso(self.now()),
            "status": 429 if kind == "429" else 503,
            "error": "Too Many Requests" if kind == "429" else "Service Unavailable",
            "message": "",
            "messages": [],
            "path": "",
        }
        if kind == "429":
            return web.json_response(body, status=429, headers={"Retry-After": str(rule.retry_after)})
        return web.json_response(body, status=503)

    # -- simulated people ------------------------------------------------------------------------
    def inject(self, payload: dict[str, Any]) -> dict[str, Any]:
        """`{"text", "author_id"?, "author_name"?, "subject"?, "subsubject"?, "fast_track"?:
        FEDERAL|REGIONAL, "address"?, "attachments"?: n}` files an appeal; `{"kind": edit|rate|dispute,
        "id", "text"?, "rating"?}` acts on one (dispute = a negative comment)."""
        kind = payload.get("kind", "new")
        try:
            if kind == "new":
                appeal = self.world.create(
                    text=payload.get("text", ""),
                    author_id=int(payload.get("author_id", 500_000 + self.next_id())),
                    author_name=payload.get("author_name", "Житель"),
                    subject=payload.get("subject"),
                    subsubject=payload.get("subsubject"),
                    fast_track=payload.get("fast_track"),
                    address=payload.get("address"),
                    attachments=int(payload.get("attachments", 0)),
                )
                return {"id": appeal["id"]}
            appeal_id = int(payload["id"])
            if kind == "edit":
                self.world.edit(appeal_id, payload["text"])
            elif kind == "rate":
                self.world.rate(appeal_id, int(payload.get("rating", 5)), payload.get("text") or None)
            elif kind == "dispute":
                self.world.comment(appeal_id, payload.get("text") or "Проблема не решена")
            else:  # ПОС appeals are not deleted by their authors
                return {"delivered": False, "error": f"unsupported kind {kind!r}"}
        except (KeyError, Conflict, Invalid) as exc:
            return {"delivered": False, "error": str(exc)}
        return {"delivered": True, "id": appeal_id}

    def approve(self, appeal_id: int) -> dict[str, Any]:
        return self.world.approve(appeal_id)

    def return_answer(self, appeal_id: int, comment: str = "Доработать ответ") -> dict[str, Any]:
        return self.world.return_answer(appeal_id, comment)

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    def revoke(self) -> None:
        """The account's password was changed: every token dies, the old password is refused."""
        self.password = secrets.token_hex(8)
        self.tokens.clear()
        self.refresh_tokens.clear()

    # -- routes ------------------------------------------------------------------------------------
    def setup_routes(self, app: web.Application) -> None:
        app.router.add_post("/user-service/oauth/token", self.post_token)
        app.router.add_get(EDMS, self.list_inbox)
        app.router.add_get(f"{EDMS}/{{id}}", self.get_appeal)
        app.router.add_post(f"{EDMS}/{{id}}", self.post_action)
        app.router.add_post(f"{EDMS}/{{id}}/mark-accepted", self.post_mark_accepted)
        app.router.add_post(FILES, self.post_file)
        app.router.add_get(f"{FILES}/{{id}}", self.get_file)
        app.router.add_post("/_sandbox/appeals/{id}/approve", self.admin_approve)
        app.router.add_post("/_sandbox/appeals/{id}/return", self.admin_return)
        app.router.add_post("/_sandbox/appeals/{id}/comment", self.admin_comment)
        app.router.add_post("/_sandbox/appeals/{id}/rate", self.admin_rate)
        app.router.add_post("/_sandbox/clock", self.admin_clock)
        app.router.add_post("/_sandbox/revoke", self.admin_revoke)

    def _limited(self, request: web.Request, key: str) -> web.Response | None:
        now = time.monotonic()
        self.call_times.append(now)
        window = self._window.setdefault(key, deque())
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= self.rps_limit:
            self.rate_limited += 1
            return self.error(request, 429, "Too Many Requests", "Rate limit exceeded", {"Retry-After": "1"})
        window.append(now)
        return None

    def _guard(self, request: web.Request) -> web.Response | None:
        auth = request.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else ""
        if not token:
            return oauth_error(401, "unauthorized", "Full authentication is required to access this resource")
        expiry = self.tokens.get(token)
        if expiry is None:
            return oauth_error(401, "invalid_token", "Invalid access token")
        if expiry <= self.now():
            return oauth_error(401, "invalid_token", "Access token expired")
        return self._limited(request, token)

    def _client_ok(self, request: web.Request) -> bool:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Basic "):
            return False
        try:
            user, _, pwd = base64.b64decode(auth[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return user == CLIENT_ID and pwd == CLIENT_SECRET

    async def post_token(self, request: web.Request) -> web.Response:
        if (limited := self._limited(request, "token")) is not None:
            return limited
        if not self._client_ok(request):
            return oauth_error(401, "unauthorized", "Full authentication is required to access this resource")
        form = await request.post()
        grant = form.get("grant_type")
        if grant == "password":
            if form.get("username") != USERNAME or form.get("password") != self.password:
                return oauth_error(400, "invalid_grant", "Bad credentials")
        elif grant == "refresh_token":
            if form.get("refresh_token") not in self.refresh_tokens:
                return oauth_error(400, "invalid_grant", "Invalid refresh token")
        else:
            return oauth_error(400, "unsupported_grant_type", f"Unsupported grant type: {grant}")
        self.token_grants.append(str(grant))
        access = secrets.token_urlsafe(24)
        refresh = form.get("refresh_token") if grant == "refresh_token" else secrets.token_urlsafe(24)
        self.tokens[access] = self.now() + self.token_ttl
        self.refresh_tokens.add(str(refresh))
        return web.json_response(
            {
                "access_token": access,
                "token_type": "bearer",
                "refresh_token": refresh,
                "expires_in": self.token_ttl - 1,
                "scope": form.get("scope") or "any",
                "jti": secrets.token_hex(8),
                **OPERATOR,
            }
        )

    def _appeal_id(self, request: web.Request) -> int | web.Response:
        try:
            appeal_id = int(request.match_info["id"])
        except ValueError:
            return self.error(request, 400, "Bad Request", "id must be a number")
        if appeal_id not in self.world.appeals:
            return self.error(request, 404, "Not Found", f"Appeal {appeal_id} not found")
        return appeal_id

    async def list_inbox(self, request: web.Request) -> web.Response:
        if (denied := self._guard(request)) is not None:
            return denied
        try:
            page = int(request.query.get("page", 0))
            size = int(request.query.get("size", 20))
        except ValueError:
            return self.error(request, 400, "Bad Request", "page and size must be numbers")
        if page < 0 or not 1 <= size <= MAX_PAGE:
            return self.error(request, 400, "Bad Request", f"page >= 0, 1 <= size <= {MAX_PAGE}")
        items = self.world.inbox()
        content = items[page * size : (page + 1) * size]
        total_pages = (len(items) + size - 1) // size
        if self.faults.pick(request.path, {"duplicate"}):
            content = content + content  # re-delivered items: readers must dedupe by id
        sort = {"sorted": True, "unsorted": False, "empty": False}
        return web.json_response(
            {
                "content": content,
                "pageable": {
                    "sort": sort,
                    "pageNumber": page,
                    "pageSize": size,
                    "offset": page * size,
                    "paged": True,
                    "unpaged": False,
                },
                "totalPages": total_pages,
                "totalElements": len(items),
                "last": page >= total_pages - 1,
                "first": page == 0,
                "number": page,
                "size": size,
                "numberOfElements": len(content),
                "sort": sort,
                "empty": not content,
            }
        )

    async def get_appeal(self, request: web.Request) -> web.Response:
        if (denied := self._guard(request)) is not None:
            return denied
        appeal_id = self._appeal_id(request)
        if isinstance(appeal_id, web.Response):
            return appeal_id
        return web.json_response(self.world.get(appeal_id))

    async def post_mark_accepted(self, request: web.Request) -> web.Response:
        if (denied := self._guard(request)) is not None:
            return denied
        appeal_id = self._appeal_id(request)
        if isinstance(appeal_id, web.Response):
            return appeal_id
        version = request.query.get("version")
        self.world.acknowledge(appeal_id, int(version) if version and version.isdigit() else None)
        return web.Response(status=200)

    async def post_action(self, request: web.Request) -> web.Response:
        if (denied := self._guard(request)) is not None:
            return denied
        appeal_id = self._appeal_id(request)
        if isinstance(appeal_id, web.Response):
            return appeal_id
        try:
            body = await request.json()
        except (ValueError, json.JSONDecodeError):
            return self.error(request, 400, "Bad Request", "JSON parse error")
        if not isinstance(body, dict):
            return self.error(request, 400, "Bad Request", "JSON object expected")
        named = body.get("attachmentIds") or []
        unknown = [i for i in named if str(i) not in self.files] if isinstance(named, list) else [named]
        if unknown:
            return self.error(request, 400, "Bad Request", f"attachmentIds: unknown files {unknown[:3]}")
        try:
            appeal, answer = self.world.act(appeal_id, body)
        except Invalid as exc:
            return self.error(request, 400, "Bad Request", str(exc))
        except Conflict as exc:
            return self.error(request, 409, "Conflict", str(exc))
        if answer is not None:
            self.record_reply(
                {
                    "appeal_id": appeal_id,
                    "answer_id": answer["id"],
                    "answer_type": answer["appealAnswerType"],
                    "postponed_date": answer["postponedDate"],
                    "outgoing_number": answer["outgoingNumber"],
                    "text": answer["answerText"],
                    "attachments": [self._file_record(str(i)) for i in answer["attachmentIds"]],
                }
            )
        return web.json_response(appeal)

    # -- the file storage ----------------------------------------------------------------------
    def _file_record(self, ident: str) -> dict[str, Any]:
        f = self.files[ident]
        return {"id": ident, "name": f["name"], "size": f["size"], "sha256": f["sha256"]}

    def _file_wire(self, request: web.Request, ident: str) -> dict[str, Any]:
        f = self.files[ident]
        return {"id": ident, "name": f["name"], "size": f["size"], "contentType": f["contentType"],
                "temporary": True, "avatar": False, "previewUrl": None,
                "url": f"{request.scheme}://{request.host}{FILES}/{ident}"}

    async def post_file(self, request: web.Request) -> web.Response:
        if (denied := self._guard(request)) is not None:
            return denied
        if not request.content_type.startswith("multipart/form-data"):
            return self.error(request, 400, "Bad Request", "Current request is not a multipart request")
        form = await request.post()
        field = form.get("file")
        if not isinstance(field, web.FileField):
            return self.error(request, 400, "Bad Request", "Required request part 'file' is not present")
        data = field.file.read()
        if not data or len(data) > MAX_FILE:
            return self.error(request, 400, "Bad Request", "the file is empty or too large")
        ident = secrets.token_hex(16)
        self.files[ident] = {"name": field.filename or "file", "size": len(data), "data": data,
                             "contentType": field.content_type or "application/octet-stream",
                             "sha256": hashlib.sha256(data).hexdigest()}
        return web.json_response(self._file_wire(request, ident))

    async def get_file(self, request: web.Request) -> web.Response:
        if (denied := self._guard(request)) is not None:
            return denied
        f = self.files.get(request.match_info["id"])
        if f is None:
            return self.error(request, 404, "Not Found", "File not found")
        return web.Response(body=f["data"], content_type=f["contentType"])

    # -- admin: the manager, the applicant, time -------------------------------------------------
    async def _admin(self, request: web.Request, action) -> web.Response:
        try:
            body = await request.json() if request.can_read_body else {}
            return web.json_response(action(int(request.match_info.get("id", 0)), body))
        except KeyError as exc:
            return self.error(request, 404, "Not Found", str(exc).strip("'\""))
        except Conflict as exc:
            return self.error(request, 409, "Conflict", str(exc))
        except (Invalid, ValueError, TypeError) as exc:
            return self.error(request, 400, "Bad Request", str(exc))

    async def admin_approve(self, request: web.Request) -> web.Response:
        return await self._admin(request, lambda i, b: self.world.approve(i))

    async def admin_return(self, request: web.Request) -> web.Response:
        return await self._admin(
            request, lambda i, b: self.world.return_answer(i, b.get("comment") or "Доработать")
        )

    async def admin_comment(self, request: web.Request) -> web.Response:
        return await self._admin(
            request,
            lambda i, b: self.world.comment(
                i, b["text"], b.get("author", "APPLICANT"), bool(b.get("negative", True))
            ),
        )

    async def admin_rate(self, request: web.Request) -> web.Response:
        return await self._admin(request, lambda i, b: self.world.rate(i, int(b["rating"]), b.get("comment")))

    async def admin_clock(self, request: web.Request) -> web.Response:
        def move(_: int, body: dict) -> dict:
            self.advance(float(body["advance"]))
            return {"now": self.now()}

        return await self._admin(request, move)

    async def admin_revoke(self, request: web.Request) -> web.Response:
        self.revoke()
        return web.json_response({"ok": True})
