"""A message found by manual monitoring (000 §8; 004 ручной мониторинг): the curator enters its text
and link; otklik.services.manual stores it like a polled message, and the pipeline moderates and
routes it. The page shows the form; the service decides who may enter (403 page otherwise)."""

from __future__ import annotations

from aiohttp import web

from otklik.console import app as console_app
from otklik.console import nav, session
from otklik.console.security import bad_input, redirect
from otklik.services import manual

NETWORKS = {"vk": "ВКонтакте", "ok": "Одноклассники", "telegram": "Telegram", "max": "MAX",
            "web": "сайт или форум"}


async def page(request: web.Request) -> web.Response:
    console = console_app.of(request)
    return console.render(request, "manual.html", {"networks": NETWORKS, "entered": request.query.get("entered")})


async def enter(request: web.Request) -> web.Response:
    console, actor = console_app.of(request), request[session.ACTOR]
    form = await request.post()
    text, url = str(form.get("text", "")).strip(), str(form.get("url", "")).strip()
    network, author = str(form.get("network", "")), str(form.get("author_name", "")).strip() or None
    if not text or len(text) > manual.MAX_TEXT:
        raise bad_input(f"Текст сообщения — от 1 до {manual.MAX_TEXT} символов.")
    if not url.startswith(("http://", "https://")) or len(url) > 1000:
        raise bad_input("Ссылка — адрес, где найдено сообщение (http или https).")
    if network not in NETWORKS:
        raise bad_input("Выберите, где найдено сообщение.")
    message_id = await console.run(lambda s: manual.enter(s, actor, text=text, url=url, network=network,
                                                          author_name=author).id)
    wake = getattr(console.daemon, "wake_pipeline", None)
    if wake is not None:
        wake.set()  # the pipeline takes it now, not at its next tick
    return redirect(f"/console/manual?entered={message_id}")


def setup(router: web.UrlDispatcher) -> None:
    router.add_get("/console/manual", page)
    router.add_post("/console/manual", enter)
    nav.add("Ручной ввод", "/console/manual", {"curator"})
