"""Logging in and out. The same account service as the API (otklik.api.auth.login): the same
password and second-factor rules, the same throttle, the same audit entries; the session is of
kind "console" and lives in an HttpOnly cookie."""

from __future__ import annotations

import asyncio

from aiohttp import web

from otklik.api import auth
from otklik.api.accounts import client_address
from otklik.console import app as console_app
from otklik.console import session
from otklik.console.security import redirect


def _next(value: str | None) -> str:
    """Only our own pages: an open redirect would let a link send people elsewhere after login."""
    if value and value.startswith("/console/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/console/inbox"


async def login_page(request: web.Request) -> web.Response:
    if request.get(session.ACTOR) is not None:
        return redirect(_next(request.query.get("next")))
    return console_app.of(request).render(request, "login.html", {"next": _next(request.query.get("next")),
                                                                   "error": None, "login": ""})


async def login(request: web.Request) -> web.Response:
    console = console_app.of(request)
    form = await request.post()
    name, password = str(form.get("login", ""))[:200], str(form.get("password", ""))[:1000]
    otp = str(form.get("otp", "")).strip()[:100] or None
    target = _next(str(form.get("next", "")))
    result = await asyncio.to_thread(auth.login, console.daemon.db, name, password, otp, kind="console",
                                     address=client_address(request), box=console.box, lifetimes=console.lifetimes)
    if not result.ok:
        if result.retry_after:
            error, status = f"Слишком много попыток. Повторите через {result.retry_after} с.", 429
        else:
            error, status = "Неверный логин, пароль или одноразовый код.", 401
        response = console.render(request, "login.html", {"next": target, "error": error, "login": name},
                                  status=status)
        if result.retry_after:
            response.headers["Retry-After"] = str(result.retry_after)
        return response
    response = redirect(target)
    session.set_session(request, response, result.token)
    return response


async def logout(request: web.Request) -> web.Response:
    actor = request[session.ACTOR]
    await console_app.of(request).run(lambda s: auth.logout(s, actor))
    response = redirect("/console/login")
    session.clear_session(request, response)
    return response


def setup(router: web.UrlDispatcher) -> None:
    router.add_get("/console/login", login_page)
    router.add_post("/console/login", login)
    router.add_post("/console/logout", logout)
