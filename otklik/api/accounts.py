"""The account endpoints: login, logout, step-up, own sessions and password; for admins, users'
sessions, deactivation, unlocking and the audit log. Access is decided in otklik.api.auth."""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime

from aiohttp import web
from pydantic import BaseModel, Field

from otklik.accounts import passwords
from otklik.accounts import sessions as session_store
from otklik.accounts.secretbox import SecretBox
from otklik.accounts.sessions import Lifetimes
from otklik.api import auth
from otklik.api.routes import Api, _body, _fail
from storage.tables import now


class LoginBody(BaseModel):
    login: str = Field(max_length=200)
    password: str = Field(max_length=1000)
    otp: str | None = Field(None, max_length=100)


class DismissalBody(BaseModel):
    dismissed_on: date  # the dismissal order's date


class StepUpBody(BaseModel):
    otp: str = Field(min_length=1, max_length=100)


class PasswordBody(BaseModel):
    old_password: str = Field(max_length=1000)
    new_password: str = Field(max_length=1000)


def client_address(request: web.Request) -> str:
    # The peer address. Behind a reverse proxy this is the proxy's: configure the proxy to limit
    # logins too, or terminate TLS on this host.
    return (request.remote or "unknown")[:64]


class Accounts:
    def __init__(self, api: Api) -> None:
        self.api = api
        settings = getattr(api.daemon, "settings", None)
        if settings is None:
            from otklik.settings import get_settings

            settings = get_settings()
        self.settings = settings
        self._box: SecretBox | None = None
        self.lifetimes = Lifetimes.from_settings(settings)
        passwords.dummy_hash()  # computed now, not during the first unknown login (that would time differently)

    @property
    def box(self) -> SecretBox:
        # Resolved on first use: a daemon that nobody logs in to generates no key file.
        if self._box is None:
            self._box = SecretBox.from_settings(self.settings)
        return self._box

    async def login(self, request: web.Request) -> web.Response:
        body = await _body(request, LoginBody)
        # Not in Api._db: auth.login runs its own two transactions around the slow password check.
        result = await asyncio.to_thread(auth.login, self.api.daemon.db, body.login, body.password, body.otp, kind="api",
                                         address=client_address(request), box=self.box, lifetimes=self.lifetimes)
        if result.retry_after:
            raise web.HTTPTooManyRequests(
                text=json.dumps({"error": "too many attempts; retry later", "retry_after": result.retry_after}),
                content_type="application/json", headers={"Retry-After": str(result.retry_after)})
        if not result.ok:
            raise _fail(web.HTTPUnauthorized, auth.LOGIN_FAILED)
        actor = result.actor
        return web.json_response({"token": result.token, "role": actor.role, "login": actor.login,
                                  "expires_at": result.expires_at.isoformat(),
                                  "second_factor_at": _iso(actor.second_factor_at)})

    async def logout(self, request: web.Request) -> web.Response:
        actor = await self.api.user(request)
        await self.api._db(lambda s: auth.logout(s, actor))
        return web.json_response({"ok": True})

    async def step_up(self, request: web.Request) -> web.Response:
        actor = await self.api.user(request)
        body = await _body(request, StepUpBody)
        at = await self.api._db(lambda s: auth.step_up(s, actor, body.otp, address=client_address(request),
                                                       box=self.box))
        if at is None:
            raise _fail(web.HTTPUnauthorized, "wrong code")
        return web.json_response({"second_factor_at": at.isoformat()})

    async def sessions(self, request: web.Request) -> web.Response:
        actor = await self.api.user(request)
        rows = await self.api._db(lambda s: session_store.listing(s, actor.user_id, now()))
        for r in rows:
            r["current"] = r["id"] == actor.session_id
        return web.json_response({"sessions": rows})

    async def revoke_all(self, request: web.Request) -> web.Response:
        actor = await self.api.user(request)
        keep = request.query.get("keep_current") in ("1", "true")
        n = await self.api._db(lambda s: auth.revoke_own_sessions(s, actor, keep_current=keep))
        return web.json_response({"revoked": n})

    async def password(self, request: web.Request) -> web.Response:
        actor = await self.api.user(request)
        body = await _body(request, PasswordBody)
        try:
            n = await self.api._db(lambda s: auth.change_password(s, actor, body.old_password, body.new_password))
        except auth.PasswordRejected as exc:
            raise _fail(web.HTTPBadRequest, "weak password", details=str(exc).split("; ")) from None
        if n is None:
            raise _fail(web.HTTPForbidden, "wrong password")
        return web.json_response({"ok": True, "other_sessions_ended": n})

    # -- admin ---------------------------------------------------------------------------------
    async def admin_user_action(self, request: web.Request) -> web.Response:
        actor = await self.api.user(request)
        login = request.match_info["login"]
        action = request.match_info["action"]
        if action == "dismiss":
            return await self._dismiss(request, actor, login)
        from otklik.services import users

        fn = {"deactivate": users.deactivate, "unlock": users.unlock,
              "revoke-sessions": users.revoke_sessions}.get(action)
        if fn is None:
            raise _fail(web.HTTPNotFound, f"no action {action}")
        result = await self.api._db(lambda s: fn(s, actor, login))
        return web.json_response({"ok": True, "sessions_ended": result} if isinstance(result, int) else {"ok": True})

    async def _dismiss(self, request: web.Request, actor, login: str) -> web.Response:
        """A dismissal (000 §9): `{"dismissed_on": "YYYY-MM-DD"}`, the order's date."""
        from otklik.services import staff

        body = await _body(request, DismissalBody)
        from otklik.settings import get_settings

        profile = get_settings().profile
        out = await self.api._db(lambda s: staff.dismiss(s, actor, login, dismissed_on=body.dismissed_on,
                                                         profile=profile))
        return web.json_response(out)

    async def audit(self, request: web.Request) -> web.Response:
        actor = await self.api.user(request)
        since = request.query.get("since")
        try:
            since_at = datetime.fromisoformat(since) if since else None
            limit = min(int(request.query.get("limit", "1000")), 10_000)
        except ValueError:
            raise _fail(web.HTTPBadRequest, "since must be an ISO 8601 time, limit a number") from None
        rows = await self.api._db(lambda s: auth.audit_log(
            s, actor, entity=request.query.get("entity") or None, actor=request.query.get("actor") or None,
            since=since_at, limit=limit))
        return web.json_response({"audit": rows})


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def setup(app: web.Application, daemon, api: Api | None = None) -> None:
    accounts = Accounts(api or Api(daemon))
    r = app.router
    r.add_post("/api/login", accounts.login)
    r.add_post("/api/logout", accounts.logout)
    r.add_post("/api/step-up", accounts.step_up)
    r.add_get("/api/sessions", accounts.sessions)
    r.add_post("/api/sessions/revoke-all", accounts.revoke_all)
    r.add_post("/api/password", accounts.password)
    r.add_post("/api/users/{login}/{action}", accounts.admin_user_action)
    r.add_get("/api/audit", accounts.audit)
