"""Search: full text over messages and answers with filters (otklik.services.search)."""

from __future__ import annotations

from datetime import date

from aiohttp import web

from otklik.console import app as console_app
from otklik.console import labels, session
from otklik.console.security import bad_input
from otklik.console.views.inbox import filters_of
from otklik.services import inbox
from otklik.services import search as search_service


def _date(request: web.Request, name: str) -> date | None:
    value = request.query.get(name, "")
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise bad_input("Дата периода — в виде ГГГГ-ММ-ДД.") from None


async def page(request: web.Request) -> web.Response:
    console, actor = console_app.of(request), request[session.ACTOR]
    q = request.query.get("q", "")
    f = filters_of(request)
    period = search_service.Period(_date(request, "from"), _date(request, "to"))
    asked = bool(q.strip()) or any(v for v in request.query.values())
    rows, options = await console.run(lambda s: (
        search_service.search(s, actor, q, f, period, profile=console.profile) if asked else [],
        inbox.choices(s, actor)))
    return console.render(request, "search.html", {"rows": rows, "options": options, "filters": f, "q": q,
                                                   "period": period, "asked": asked, "labels": labels})


def setup(router: web.UrlDispatcher) -> None:
    router.add_get("/console/search", page)
