"""The console's session cookie and CSRF token.

The session is an ordinary accounts session of kind "console" (otklik.accounts.sessions): the
cookie holds its token, HttpOnly and SameSite=Strict, Secure when the request came over TLS.
The CSRF token is a random value in a cookie of its own, repeated in every POST form (or in the
X-CSRF-Token header for the few fetch() calls); otklik.console.security compares the two."""

from __future__ import annotations

import hmac
import secrets

from aiohttp import web

SESSION_COOKIE = "otklik_session"
CSRF_COOKIE = "otklik_csrf"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
# Request keys (typed keys where this aiohttp has them, 3.12+; plain strings before).
_KEY = getattr(web, "RequestKey", None)
ACTOR = _KEY("console_actor", object) if _KEY else "console_actor"  # the Actor of the session, or None
NEW_CSRF = _KEY("console_new_csrf", str) if _KEY else "console_new_csrf"  # a token to set as a cookie


def session_token(request: web.Request) -> str:
    return request.cookies.get(SESSION_COOKIE, "")


def _cookie_flags(request: web.Request) -> dict:
    return {"httponly": True, "samesite": "Strict", "secure": request.secure, "path": "/"}


def set_session(request: web.Request, response: web.StreamResponse, token: str) -> None:
    # No max_age: a browser session cookie; the server ends the session by its own lifetimes.
    response.set_cookie(SESSION_COOKIE, token, **_cookie_flags(request))


def clear_session(request: web.Request, response: web.StreamResponse) -> None:
    response.del_cookie(SESSION_COOKIE, path="/")


def csrf_token(request: web.Request) -> str:
    """The browser's CSRF token, made on its first console page (security middleware sets the cookie)."""
    token = request.get(NEW_CSRF) or request.cookies.get(CSRF_COOKIE, "")
    if not token:
        token = request[NEW_CSRF] = secrets.token_urlsafe(24)
    return token


def remember_csrf(request: web.Request, response: web.StreamResponse) -> None:
    if request.get(NEW_CSRF):
        response.set_cookie(CSRF_COOKIE, request[NEW_CSRF], **_cookie_flags(request))


def csrf_matches(request: web.Request, sent: str | None) -> bool:
    expected = request.cookies.get(CSRF_COOKIE, "")
    return bool(expected and sent) and hmac.compare_digest(expected.encode(), (sent or "").encode())
