"""A person's notifications on the API: `GET /api/me/notifications` (the console notes, newest
first, with how the e-mail / chat copies fared), `POST /api/me/notifications/read`,
`GET|PUT /api/me/notifications/preferences`, and the admin's `GET /api/notifications/failed`,
`POST /api/notifications/{id}/retry` and `GET|PUT /api/users/{login}/notifications/preferences`.
Handlers parse and answer; who may do what is decided in otklik.services.notifications."""

from __future__ import annotations

import json
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from otklik.api.attachments import _id
from otklik.api.routes import Api, _body, _fail
from otklik.services import notifications

HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"


class PreferencesBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channels: list[Literal["email", "telegram", "max", "console"]] | None = Field(None, max_length=4)
    quiet_start: str | None = Field(None, pattern=HHMM)  # "" is refused; null turns quiet hours off
    quiet_end: str | None = Field(None, pattern=HHMM)
    digest: bool | None = None
    digest_at: str | None = Field(None, pattern=HHMM)


class ReadBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[int] | None = Field(None, min_length=1, max_length=500)  # null: every unread note
    all: bool = False


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def _limit(request: web.Request) -> int:
    raw = request.query.get("limit", "50")
    if not raw.isdigit() or not 1 <= int(raw) <= notifications.LIMIT:
        raise _fail(web.HTTPBadRequest, f"limit is a number from 1 to {notifications.LIMIT}")
    return int(raw)


class NotificationsApi:
    def __init__(self, api: Api) -> None:
        self.api = api

    async def listing(self, request: web.Request) -> web.Response:
        actor = await self.api.user(request)
        unread, limit = request.query.get("unread") in ("1", "true"), _limit(request)

        def go(s):
            return {"notifications": notifications.listing(s, actor, unread=unread, limit=limit),
                    "unread": notifications.unread_count(s, actor)}
        return web.json_response(await self.api._db(go), dumps=_dumps)

    async def read(self, request: web.Request) -> web.Response:
        actor = await self.api.user(request)
        body = await _body(request, ReadBody)
        if body.ids is None and not body.all:
            raise _fail(web.HTTPBadRequest, "name the notes (ids) or ask for all (all: true)")
        ids = None if body.all else body.ids
        marked = await self.api._db(lambda s: notifications.mark_read(s, actor, ids))
        return web.json_response({"marked": marked})

    async def get_preferences(self, request: web.Request) -> web.Response:
        actor = await self.api.user(request)
        return web.json_response(await self.api._db(lambda s: notifications.get_preferences(s, actor)),
                                 dumps=_dumps)

    async def put_preferences(self, request: web.Request) -> web.Response:
        actor = await self.api.user(request)
        login = request.match_info.get("login")  # another person's (admins): the service decides
        body = await _body(request, PreferencesBody)
        given = {k: getattr(body, k) for k in body.model_fields_set}
        return web.json_response(
            await self.api._db(lambda s: notifications.set_preferences(s, actor, login, **given)), dumps=_dumps)

    async def get_user_preferences(self, request: web.Request) -> web.Response:
        actor = await self.api.user(request)
        login = request.match_info["login"]
        return web.json_response(await self.api._db(lambda s: notifications.get_preferences(s, actor, login)),
                                 dumps=_dumps)

    async def retry(self, request: web.Request) -> web.Response:
        actor = await self.api.user(request)
        note_id = _id(request)
        return web.json_response(await self.api._db(lambda s: notifications.retry(s, actor, note_id)), dumps=_dumps)

    async def failed(self, request: web.Request) -> web.Response:
        actor = await self.api.user(request)
        return web.json_response({"notifications": await self.api._db(lambda s: notifications.failed(s, actor))},
                                 dumps=_dumps)


def setup(app: web.Application, daemon) -> None:
    handlers = NotificationsApi(Api(daemon))
    app.router.add_get("/api/me/notifications", handlers.listing)
    app.router.add_post("/api/me/notifications/read", handlers.read)
    app.router.add_get("/api/me/notifications/preferences", handlers.get_preferences)
    app.router.add_put("/api/me/notifications/preferences", handlers.put_preferences)
    app.router.add_get("/api/notifications/failed", handlers.failed)
    app.router.add_post("/api/notifications/{id:\\d+}/retry", handlers.retry)
    app.router.add_get("/api/users/{login}/notifications/preferences", handlers.get_user_preferences)
    app.router.add_put("/api/users/{login}/notifications/preferences", handlers.put_preferences)
