"""Reports in the API: `GET /api/reports?from=&to=[&department=&source=]&format=json|csv|xlsx|html`
(a file in the caller's scope: an executor's covers its department only), `GET /api/stats[?from=&to=]`
(a few figures for dashboards; the last 30 days by default), `PUT /api/users/{login}/email`
(admins: where a head's scheduled reports go)."""

from __future__ import annotations

import json
from datetime import timedelta

from aiohttp import web
from pydantic import BaseModel

from otklik.api.routes import Api, _body, _fail
from otklik.services import users
from regulation.profiles import load_profile
from reports import compute
from reports.period import BadPeriod, parse_date
from reports.produce import FORMATS, render, report
from reports.render import plain
from storage.tables import now


class EmailBody(BaseModel):
    email: str | None = None


class ReportsApi:
    def __init__(self, api: Api) -> None:
        self.api = api

    def _period(self, request: web.Request, default_days: int | None = None):
        q = request.query
        try:
            if default_days is not None and not q.get("from") and not q.get("to"):
                today = load_profile(self.profile).calendar.local(now()).date()
                return today - timedelta(days=default_days - 1), today
            return parse_date(q.get("from", ""), "from"), parse_date(q.get("to", ""), "to")
        except BadPeriod as exc:
            raise _fail(web.HTTPBadRequest, str(exc)) from None

    @property
    def profile(self) -> str:
        settings = getattr(self.api.daemon, "settings", None)
        if settings is None:  # an app built around a bare daemon object (tests): the configured one
            from otklik.settings import get_settings

            settings = get_settings()
        return settings.profile

    async def _report(self, request: web.Request, first, last):
        actor = await self.api.user(request)
        department = request.query.get("department") or None
        source = request.query.get("source") or None
        try:
            return await self.api._db(lambda s: report(s, actor, self.profile, first, last,
                                                       department=department, source=source))
        except BadPeriod as exc:
            raise _fail(web.HTTPBadRequest, str(exc)) from None

    async def reports(self, request: web.Request) -> web.Response:
        fmt = request.query.get("format", "json")
        if fmt not in FORMATS:
            raise _fail(web.HTTPBadRequest, f"unknown format {fmt!r}; formats: {', '.join(FORMATS)}")
        first, last = self._period(request)
        rep = await self._report(request, first, last)
        content_type, ext = FORMATS[fmt]
        body = render(rep, fmt)
        headers = {"Content-Type": content_type}
        if fmt != "json" and fmt != "html":
            headers["Content-Disposition"] = f'attachment; filename="report-{first}-{last}.{ext}"'
        return web.Response(body=body, headers=headers)

    async def stats(self, request: web.Request) -> web.Response:
        first, last = self._period(request, default_days=30)
        rep = await self._report(request, first, last)
        meta = rep["meta"]
        out = {"from": meta["from"], "to": meta["to"], "timezone": meta["timezone"], "profile": meta["profile"],
               "scope": meta["scope"], **compute.summary(rep)}
        return web.json_response(plain(out), dumps=lambda v: json.dumps(v, ensure_ascii=False))

    async def set_email(self, request: web.Request) -> web.Response:
        actor = await self.api.user(request)
        login = request.match_info["login"]
        body = await _body(request, EmailBody)
        address = await self.api._db(lambda s: users.set_email(s, actor, login, body.email))
        return web.json_response({"login": login, "email": address})


def setup(app: web.Application, daemon) -> None:
    handlers = ReportsApi(Api(daemon))
    app.router.add_get("/api/reports", handlers.reports)
    app.router.add_get("/api/stats", handlers.stats)
    app.router.add_put("/api/users/{login}/email", handlers.set_email)
