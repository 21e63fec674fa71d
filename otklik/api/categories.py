"""`GET /api/categories/proposals[?since=DATE&until=DATE]`: new topics proposed inside topic groups
from the messages the router was unsure of (regulation 004 §14.7). Curators and heads only: the
role is decided by reports.categories.authorize."""

from __future__ import annotations

import json
from datetime import date

from aiohttp import web

from otklik.api.routes import Api, _fail
from reports import categories


def _date(request: web.Request, name: str) -> date | None:
    value = request.query.get(name)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _fail(web.HTTPBadRequest, f"{name} must be a date (YYYY-MM-DD)") from None


class CategoriesApi:
    def __init__(self, api: Api) -> None:
        self.api = api

    async def proposals(self, request: web.Request) -> web.Response:
        actor = await self.api.user(request)
        since, until = _date(request, "since"), _date(request, "until")

        def go(s):
            categories.authorize(actor)
            return [p.as_dict() for p in categories.propose(s, since, until)]
        items = await self.api._db(go)
        return web.json_response({"proposals": items}, dumps=lambda v: json.dumps(v, ensure_ascii=False))


def setup(app: web.Application, daemon) -> None:
    handlers = CategoriesApi(Api(daemon))
    app.router.add_get("/api/categories/proposals", handlers.proposals)
