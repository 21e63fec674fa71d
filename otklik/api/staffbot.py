"""The staff bot on the API: a person links their own Telegram or MAX chat for notifications.

`GET /api/me/staff-bot` (which platforms are linked), `POST /api/me/staff-bot/link?platform=P` (a
one-time code, 15 minutes, and the instruction «Откройте бота и отправьте /start КОД»),
`DELETE /api/me/staff-bot/link?platform=P` (unlink). Who may is decided in
otklik/services/staff_links.py."""

from __future__ import annotations

from aiohttp import web

from otklik.api.routes import Api, _fail
from otklik.services import staff_links
from otklik.staffbot import PLATFORMS
from otklik.staffbot.config import StaffBotSettings


def bot_settings(daemon) -> StaffBotSettings:
    """The daemon's `[staff_bot]` (a stand-in daemon of a test may carry no settings)."""
    settings = getattr(daemon, "settings", None)
    if settings is None:
        from otklik.settings import get_settings

        settings = get_settings()
    return settings.staff_bot


def _platform(request: web.Request) -> str:
    platform = request.query.get("platform", "")
    if platform not in PLATFORMS:
        raise _fail(web.HTTPBadRequest, f"platform is one of {', '.join(PLATFORMS)}")
    return platform


class StaffBotApi:
    def __init__(self, api: Api) -> None:
        self.api = api

    async def status(self, request: web.Request) -> web.Response:
        actor = await self.api.user(request)
        enabled = bot_settings(self.api.daemon).enabled()
        rows = await self.api._db(lambda s: staff_links.status(s, actor, enabled=enabled))
        return web.json_response({"platforms": rows})

    async def link(self, request: web.Request) -> web.Response:
        actor = await self.api.user(request)
        platform = _platform(request)
        config = bot_settings(self.api.daemon)
        out = await self.api._db(lambda s: staff_links.request_code(s, actor, platform, enabled=config.enabled()))
        out["bot_url"] = config.deep_link(platform, out["code"])
        # The code is a credential for 15 minutes: no cache may keep the answer.
        return web.json_response(out, status=201, headers={"Cache-Control": "no-store"})

    async def unlink(self, request: web.Request) -> web.Response:
        actor = await self.api.user(request)
        platform = _platform(request)
        gone = await self.api._db(lambda s: staff_links.unlink(s, actor, platform))
        return web.json_response({"platform": platform, "unlinked": gone})


def setup(app: web.Application, api: Api) -> None:
    handlers = StaffBotApi(api)
    app.router.add_get("/api/me/staff-bot", handlers.status)
    app.router.add_post("/api/me/staff-bot/link", handlers.link)
    app.router.add_delete("/api/me/staff-bot/link", handlers.unlink)
