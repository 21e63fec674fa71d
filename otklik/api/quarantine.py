"""The quarantine in the API: `GET /api/quarantine[?source=S&all=1]`, `GET /api/quarantine/{id}`,
`POST /api/quarantine/{id}/retry`. Who may see and retry is decided by storage.quarantine
(curators and admins: the items hold raw payloads with personal data)."""

from __future__ import annotations

import json

from aiohttp import web

from otklik.api.routes import Api, _fail
from storage import quarantine

MAX_ID = 2**63 - 1  # larger ids cannot exist (and PostgreSQL would refuse to compare them)


def _item_id(request: web.Request) -> int:
    item_id = int(request.match_info["id"])
    if item_id > MAX_ID:
        raise _fail(web.HTTPNotFound, f"quarantine item {item_id} not found")
    return item_id


class QuarantineApi:
    def __init__(self, api: Api) -> None:
        self.api = api

    async def listing(self, request: web.Request) -> web.Response:
        actor = await self.api.user(request)
        source = request.query.get("source") or None
        include_resolved = request.query.get("all", "").lower() in ("1", "true", "yes")

        def go(s):
            return [quarantine.as_dict(r) for r in quarantine.listing(s, actor, source=source,
                                                                       include_resolved=include_resolved)]
        return web.json_response({"items": await self.api._db(go)}, dumps=_dumps)

    async def show(self, request: web.Request) -> web.Response:
        actor = await self.api.user(request)
        item_id = _item_id(request)
        item = await self.api._db(lambda s: quarantine.as_dict(quarantine.get(s, actor, item_id), with_raw=True))
        return web.json_response(item, dumps=_dumps)

    async def retry(self, request: web.Request) -> web.Response:
        actor = await self.api.user(request)
        item_id = _item_id(request)

        def go(s):
            outcome = quarantine.retry(s, actor, item_id)
            return outcome, quarantine.as_dict(quarantine.get(s, actor, item_id))
        outcome, item = await self.api._db(go)
        if item["resolved_at"] is None:  # stored again and refused again: still in quarantine
            raise _fail(web.HTTPConflict, outcome, item=item)
        return web.json_response({"outcome": outcome, "item": item}, dumps=_dumps)


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def setup(app: web.Application, daemon) -> None:
    handlers = QuarantineApi(Api(daemon))
    app.router.add_get("/api/quarantine", handlers.listing)
    app.router.add_get("/api/quarantine/{id:\\d+}", handlers.show)
    app.router.add_post("/api/quarantine/{id:\\d+}/retry", handlers.retry)
