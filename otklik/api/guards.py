"""Input guards for the JSON API: whatever a client sends, the answer is a 4xx with a JSON reason,
never a 500 from deep inside a handler or the database.

One aiohttp middleware, so the handlers in routes.py stay as they are:
- a numeric path id outside 1..2^63−1 (what a BIGINT column holds) is 404: no such row can exist;
- NUL or a lone surrogate in the path, the query or a JSON string is 400 (PostgreSQL and the UTF-8
  encoder refuse both, later, with a 500);
- a body must be `application/json` in UTF-8 (415 otherwise), at most API_MAX_BYTES (413), valid
  UTF-8 and JSON, nested at most MAX_DEPTH levels (400) — checked once here, before the handler
  parses the same (cached) bytes;
- every JSON answer is UTF-8 text without `\\u` escapes, and aiohttp's own plain-text 404/405/413
  become JSON too.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from aiohttp import web

from otklik import safejson

API_PREFIX = "/api/"
API_MAX_BYTES = 256 * 1024  # the largest body the API takes is a 20,000-character draft
MAX_DEPTH = 32
MAX_ID = 2**63 - 1
BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers, dumps=safejson.dumps)


def _path_problem(request: web.Request) -> web.Response | None:
    if safejson.bad_text(request.path) or "%00" in request.raw_path:
        return _error(400, "the path holds a NUL character or an invalid code point")
    for key, value in request.query.items():
        if safejson.bad_text(key) or safejson.bad_text(value):
            return _error(400, "the query holds a NUL character or an invalid code point")
    for value in request.match_info.values():
        if value.isdecimal() and not (value.isascii() and len(value) <= 19 and 1 <= int(value) <= MAX_ID):
            return _error(404, "not found")  # no row has this id
    auth = request.headers.get("Authorization")
    if auth is not None and not (auth.isascii() and auth.isprintable()):
        return _error(401, "invalid token")  # tokens are ASCII; anything else cannot match
    return None


def _is_upload(request: web.Request) -> bool:
    """A file upload (multipart, far larger than JSON bodies) is streamed and limited by its handler
    (otklik/api/attachments.py: 413 over the size limit, 415 when it is not multipart)."""
    return request.method == "POST" and request.path.startswith("/api/cases/") and \
        request.path.endswith("/attachments")


async def _body_problem(request: web.Request) -> web.Response | None:
    if _is_upload(request):
        return None
    if request.method not in BODY_METHODS or not request.body_exists:
        return None
    if request.content_length is not None and request.content_length > API_MAX_BYTES:
        return _error(413, f"the body is larger than {API_MAX_BYTES} bytes")
    if request.content_type != "application/json":
        return _error(415, "the body must be application/json")
    if (request.charset or "utf-8").lower().replace("_", "-") not in ("utf-8", "utf8"):
        return _error(415, "the body must be UTF-8")
    body = await request.read()  # cached by aiohttp: the handler's request.json() reads it again
    if len(body) > API_MAX_BYTES:
        return _error(413, f"the body is larger than {API_MAX_BYTES} bytes")
    try:
        safejson.loads(body, MAX_DEPTH)
    except safejson.BadJson as exc:
        return _error(400, str(exc))
    return None


def _as_utf8(response: web.StreamResponse) -> web.StreamResponse:
    """Re-encode a JSON answer written with the default `\\u` escapes (web.json_response)."""
    if (type(response) is web.Response and response.content_type == "application/json"
            and isinstance(response.body, bytes) and b"\\u" in response.body):
        try:
            response.text = safejson.dumps(json.loads(response.body))
        except (ValueError, UnicodeEncodeError):
            pass  # leave an answer we cannot re-encode (a lone surrogate from storage) as it is
    return response


def _json_http_error(exc: web.HTTPException) -> web.StreamResponse:
    """aiohttp's own answers (unknown route, wrong method, body too large) are plain text."""
    if exc.content_type == "application/json":
        raise exc
    headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
    return _error(exc.status, (exc.reason or "error").lower(), headers)


@web.middleware
async def api_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith(API_PREFIX):
        return await handler(request)
    try:
        problem = _path_problem(request) or await _body_problem(request)
        if problem is not None:
            return problem
        return _as_utf8(await handler(request))
    except web.HTTPException as exc:
        if exc.status >= 400:
            return _json_http_error(exc)
        raise
