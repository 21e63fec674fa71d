"""The head's and the admin's overviews in the API: `GET /api/dashboard` (overdue and near-due
cases by department, alerts, today's volume by topic group), `GET /api/sources` (each source's
health and quarantine counts), `GET /api/users` (the directory's users). Who may read them is
decided in otklik.services.access; the console's pages call the same service functions."""

from __future__ import annotations

import json

from aiohttp import web

from otklik.api.routes import Api
from otklik.services import dashboard, sources, users


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)


class OperationsApi:
    def __init__(self, api: Api) -> None:
        self.api = api

    async def dashboard(self, request: web.Request) -> web.Response:
        actor = await self.api.user(request)
        return web.json_response(await self.api._db(lambda s: dashboard.head(s, actor)), dumps=_dumps)

    async def sources(self, request: web.Request) -> web.Response:
        actor = await self.api.user(request)
        settings = getattr(self.api.daemon, "settings", None)  # None: the service reads the process's
        configured = list(settings.sources) if settings is not None else None
        rows = await self.api._db(lambda s: sources.health(s, actor, configured))
        return web.json_response({"sources": rows}, dumps=_dumps)

    async def users(self, request: web.Request) -> web.Response:
        actor = await self.api.user(request)
        return web.json_response({"users": await self.api._db(lambda s: users.listing(s, actor))}, dumps=_dumps)


def setup(app: web.Application, daemon) -> None:
    handlers = OperationsApi(Api(daemon))
    app.router.add_get("/api/dashboard", handlers.dashboard)
    app.router.add_get("/api/sources", handlers.sources)
    app.router.add_get("/api/users", handlers.users)
