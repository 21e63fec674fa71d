"""The head's dashboard: overdue and near-due cases by department, the last day's alerts, today's
volume by topic group (otklik.services.dashboard), with links to the cases behind each figure and
to the reports."""

from __future__ import annotations

from aiohttp import web

from otklik.console import app as console_app
from otklik.console import nav, session
from otklik.services import dashboard

ALERT_KINDS = {"spike": "всплеск", "significant": "общественно значимое", "overdue": "просрочка",
               "near_due": "истекает срок", "overdue_report": "отчёт о просрочках"}


async def page(request: web.Request) -> web.Response:
    console, actor = console_app.of(request), request[session.ACTOR]
    data = await console.run(lambda s: dashboard.head(s, actor))
    return console.render(request, "dashboard.html", {"d": data, "alert_kinds": ALERT_KINDS,
                                                      "unassigned": dashboard.UNASSIGNED})


def setup(router: web.UrlDispatcher) -> None:
    router.add_get("/console/dashboard", page)
    nav.add("Обзор", "/console/dashboard", {"head", "curator"})
