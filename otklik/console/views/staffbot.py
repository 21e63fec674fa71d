"""«Бот уведомлений» (`/console/me/bot`): a person links their own Telegram or MAX chat with the staff
bot — the page gives a one-time code and the instruction «Откройте бота и отправьте /start КОД» —
and unlinks it. The service (otklik/services/staff_links.py) decides and audits."""

from __future__ import annotations

from aiohttp import web

from otklik.api.staffbot import bot_settings
from otklik.console import app as console_app
from otklik.console import nav, session
from otklik.console.security import bad_input, redirect
from otklik.services import staff_links
from otklik.staffbot import PLATFORMS

PATH = "/console/me/bot"


async def _page(request: web.Request, issued: dict | None = None) -> web.Response:
    console, actor = console_app.of(request), request[session.ACTOR]
    config = bot_settings(console.daemon)
    rows = await console.run(lambda s: staff_links.status(s, actor, enabled=config.enabled()))
    if issued is not None:
        issued["bot_url"] = config.deep_link(issued["platform"], issued["code"])
        issued["name"] = staff_links.PLATFORM_NAMES[issued["platform"]]
    response = console.render(request, "staffbot.html", {"rows": rows, "issued": issued,
                                                         "done": request.query.get("done")})
    response.headers["Cache-Control"] = "no-store"  # a code is a credential for 15 minutes
    return response


async def page(request: web.Request) -> web.Response:
    return await _page(request)


async def _platform(request: web.Request) -> str:
    platform = str((await request.post()).get("platform", ""))
    if platform not in PLATFORMS:
        raise bad_input("Выберите Telegram или MAX.")
    return platform


async def code(request: web.Request) -> web.Response:
    console, actor = console_app.of(request), request[session.ACTOR]
    platform = await _platform(request)
    enabled = bot_settings(console.daemon).enabled()
    issued = await console.run(lambda s: staff_links.request_code(s, actor, platform, enabled=enabled))
    # Shown in the answer to this POST, never in a URL (history, proxies' logs).
    return await _page(request, issued)


async def unlink(request: web.Request) -> web.Response:
    console, actor = console_app.of(request), request[session.ACTOR]
    platform = await _platform(request)
    await console.run(lambda s: staff_links.unlink(s, actor, platform))
    return redirect(f"{PATH}?done=unlinked")


def setup(router: web.UrlDispatcher) -> None:
    router.add_get(PATH, page)
    router.add_post(f"{PATH}/code", code)
    router.add_post(f"{PATH}/unlink", unlink)
    nav.add("Бот уведомлений", PATH, nav.EVERYONE)
