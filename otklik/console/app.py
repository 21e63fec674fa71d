"""Wires the console into the daemon's aiohttp app: templates, filters, static files, the security
middleware and the routes of every view module. Called from otklik.http.build_app."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import aiohttp_jinja2
import jinja2
from aiohttp import web

from otklik import services
from otklik.accounts.secretbox import SecretBox
from otklik.accounts.sessions import Lifetimes
from otklik.console import nav, session, timefmt

HERE = Path(__file__).parent
STATIC_PREFIX = "/console/static"
T = TypeVar("T")


class Console:
    """What every view needs: the daemon's database, the settings, and rendering with the common
    context (the actor, the nav bar, the CSRF token)."""

    def __init__(self, daemon) -> None:
        self.daemon = daemon
        from otklik.settings import get_settings

        settings = getattr(daemon, "settings", None)
        if settings is None:
            settings = get_settings()
        self.settings = settings
        # A stand-in daemon of a test may carry only some settings: the rest from the environment.
        self.profile: str = getattr(settings, "profile", None) or get_settings().profile
        self.var_dir = getattr(settings, "var_dir", None) or get_settings().var_dir
        self.lifetimes = Lifetimes.from_settings(settings)
        self._box: SecretBox | None = None

    @property
    def box(self) -> SecretBox:
        if self._box is None:  # resolved on first login, as the API does
            self._box = SecretBox.from_settings(self.settings)
        return self._box

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """A service call in one transaction (otklik.services.run), off the event loop. Its
        exceptions (NotFound, PermissionDenied, InvalidTransition) become Russian error pages in
        otklik.console.security."""
        return await asyncio.to_thread(services.run, self.daemon.db, fn, *args)

    def render(self, request: web.Request, template: str, context: dict[str, Any] | None = None,
               status: int = 200) -> web.Response:
        actor = request.get(session.ACTOR)
        entries = nav.for_actor(actor)
        ctx = {"actor": actor, "nav": entries, "current_nav": nav.current(entries, request.path, request.path_qs),
               "csrf": session.csrf_token(request), "path": request.path,
               "unread": request.get(nav.UNREAD), **(context or {})}
        return aiohttp_jinja2.render_template(template, request, ctx, status=status)


CONSOLE = web.AppKey("console", Console)


def of(request: web.Request) -> Console:
    return request.app[CONSOLE]


def setup(app: web.Application, daemon) -> None:
    from otklik.console import security
    from otklik.console.views import ROUTE_MODULES

    console = Console(daemon)
    app[CONSOLE] = console
    env = aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                               undefined=jinja2.StrictUndefined)
    env.filters["localtime"] = lambda value, with_date=True: timefmt.local_time(value, console.profile, with_date)
    env.filters["remaining"] = timefmt.remaining
    env.globals["role_names"] = nav.ROLE_NAMES
    app.middlewares.append(security.console_guard)
    from otklik.console.views import notifications

    app.middlewares.append(notifications.bell)  # inside the guard: the person is known by then
    # append_version: a file's URL carries its hash, so browsers may cache it and never see a stale copy.
    app.router.add_static(STATIC_PREFIX, HERE / "static", append_version=True, name="console_static")
    env.globals["static"] = lambda name: str(app.router["console_static"].url_for(filename=name))
    app.router.add_get("/", security.to_inbox)
    app.router.add_get("/console", security.to_inbox)
    app.router.add_get("/console/", security.to_inbox)
    for module in ROUTE_MODULES:
        module.setup(app.router)
