"""What moderation dropped, with the matched words marked, and the curator's overrule: the
message goes back into the pipeline as accepted (otklik.services.messages, audited there)."""

from __future__ import annotations

from aiohttp import web

from otklik.console import app as console_app
from otklik.console import nav, session
from otklik.console.security import redirect
from otklik.services import access, messages

REASONS = {"obscene": "нецензурная брань", "insult": "оскорбление", "threat": "угроза",
           "harm_intent": "намерение причинить вред", "spam": "спам", "duplicate": "дубликат",
           "repeat_answered": "повтор уже отвеченного"}


async def page(request: web.Request) -> web.Response:
    console, actor = console_app.of(request), request[session.ACTOR]

    def go(s):
        return messages.dropped(s, actor), access.may(s, actor, "overrule_drop")
    rows, may_overrule = await console.run(go)
    return console.render(request, "moderation.html", {"rows": rows, "reasons": REASONS,
                                                       "may_overrule": may_overrule,
                                                       "done": request.query.get("overruled")})


async def overrule(request: web.Request) -> web.Response:
    console, actor = console_app.of(request), request[session.ACTOR]
    value = request.match_info["id"]
    if not (value.isdecimal() and len(value) <= 18):
        raise web.HTTPNotFound()
    message_id = int(value)
    await console.run(lambda s: messages.overrule_drop(s, actor, message_id))
    wake = getattr(console.daemon, "wake_pipeline", None)
    if wake is not None:
        wake.set()  # the pipeline routes it now, not at its next pass
    return redirect(f"/console/moderation?overruled={message_id}")


def setup(router: web.UrlDispatcher) -> None:
    router.add_get("/console/moderation", page)
    router.add_post("/console/moderation/{id}/overrule", overrule)
    nav.add("Модерация", "/console/moderation", {"curator", "head"})
