"""The JSON API for curators, executors, approvers and the head (aiohttp).

Every handler runs its database work in a thread (`_db`), in one transaction, and maps our
exceptions to HTTP: NotFound 404, PermissionDenied 403, InvalidTransition 409, bad input 400.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import select

from otklik import alerts as alert_store
from otklik import cases
from otklik.actor import Actor
from otklik.api import auth
from otklik.exceptions import InvalidTransition, NotFound, PermissionDenied
from storage import audit, outbox
from storage.tables import CaseRow, DraftRow, MessageRow, VerdictRow, now

OPENAPI = Path(__file__).with_name("openapi.json")
USER = web.AppKey("user_loader", object)


class RouteBody(BaseModel):
    executors: list[str] = Field(min_length=1)
    topic_group: str | None = None
    topic: str | None = None


class DraftBody(BaseModel):
    text: str = Field(min_length=1, max_length=20_000)
    kind: str = Field("answer", pattern="^(answer|intermediate|clarify)$")
    outcome: str | None = Field(None, max_length=50)  # where the channel's regulation lists outcomes
    contacted_author: bool = False  # where the regulation requires contacting the author first


class CommentBody(BaseModel):
    comment: str = Field(min_length=1, max_length=5_000)


class ExtensionBody(BaseModel):
    days: int = Field(ge=1, le=8)
    comment: str = Field(min_length=1)


def _fail(exc_class: type[web.HTTPException], message: str, **extra) -> web.HTTPException:
    return exc_class(text=json.dumps({"error": message, **extra}, ensure_ascii=False),
                     content_type="application/json")


async def _body(request: web.Request, model: type[BaseModel]) -> BaseModel:
    try:
        return model.model_validate(await request.json())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _fail(web.HTTPBadRequest, "body is not JSON") from None
    except ValidationError as exc:
        errors = [{"field": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in exc.errors()]
        raise _fail(web.HTTPBadRequest, "invalid body", details=errors) from None


class Api:
    def __init__(self, daemon) -> None:
        self.daemon = daemon

    async def _db(self, fn: Callable[..., Any], *args: Any) -> Any:
        def run():
            with self.daemon.db.session() as s:
                return fn(s, *args)
        try:
            return await asyncio.to_thread(run)
        except NotFound as exc:
            raise _fail(web.HTTPNotFound, str(exc)) from None
        except PermissionDenied as exc:
            raise _fail(web.HTTPForbidden, str(exc)) from None
        except InvalidTransition as exc:
            raise _fail(web.HTTPConflict, str(exc)) from None

    async def user(self, request: web.Request) -> Actor:
        """The Actor of the request's session (otklik.api.accounts logs in); 401 when the token is
        missing, unknown, expired, revoked or its user deactivated."""
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            raise _fail(web.HTTPUnauthorized, "missing bearer token")
        user = await self._db(lambda s: auth.resolve(s, header[7:].strip(), via="api"))
        if user is None:
            raise _fail(web.HTTPUnauthorized, "invalid or expired session")
        return user

    @staticmethod
    def need(user: Actor, *roles: str) -> None:
        if user.role not in roles and user.role != "admin":
            raise _fail(web.HTTPForbidden, f"role {user.role} may not do this")

    # -- handlers ------------------------------------------------------------------------------
    async def list_cases(self, request: web.Request) -> web.Response:
        user = await self.user(request)
        state = request.query.get("state")
        executor = request.query.get("executor") or (user.department if user.role == "executor" else None)

        def go(s):
            stmt = select(CaseRow).order_by(CaseRow.answer_by.is_(None), CaseRow.answer_by).limit(500)
            if state:
                stmt = stmt.where(CaseRow.state == state)
            rows = [cases.as_dict(r) for r in s.execute(stmt).scalars()]
            if executor:
                rows = [r for r in rows if executor in (r["executors"] or [])]
            t = now()
            for r in rows:  # the SLA timer the curator sees
                r["seconds_left"] = (None if r["answer_by"] is None else
                                     int((cases.parse_dt(r["answer_by"]) - t).total_seconds()))
            return rows
        return web.json_response({"cases": await self._db(go)})

    async def show_case(self, request: web.Request) -> web.Response:
        await self.user(request)
        case_id = int(request.match_info["id"])

        def go(s):
            row = cases.get(s, case_id)
            msg = s.get(MessageRow, row.message_id)
            drafts = s.execute(select(DraftRow).where(DraftRow.case_id == case_id).order_by(DraftRow.id)).scalars()
            return {**cases.as_dict(row),
                    "message": {"id": msg.id, "source": msg.source, "text": msg.text, "url": msg.url,
                                "created_at": msg.created_at.isoformat(), "author": msg.author_name},
                    "drafts": [{"id": d.id, "kind": d.kind, "text": d.text, "status": d.status,
                                "quality": d.quality, "comment": d.comment} for d in drafts]}
        return web.json_response(await self._db(go))

    async def route(self, request: web.Request) -> web.Response:
        user = await self.user(request)
        self.need(user, "curator")
        body = await _body(request, RouteBody)
        case_id = int(request.match_info["id"])
        row = await self._db(lambda s: cases.as_dict(cases.route(
            s, case_id, actor=user.login, executors=body.executors, topic_group=body.topic_group,
            topic=body.topic, role=user.role, learn=self.daemon.pipeline.record_correction if self.daemon.pipeline else None)))
        return web.json_response(row)

    async def return_case(self, request: web.Request) -> web.Response:
        user = await self.user(request)
        self.need(user, "executor", "curator")
        body = await _body(request, CommentBody)
        case_id = int(request.match_info["id"])
        row = await self._db(lambda s: cases.as_dict(cases.return_case(
            s, case_id, actor=user.login, department=user.department, comment=body.comment,
            role=user.role)))
        return web.json_response(row)

    async def submit_draft(self, request: web.Request) -> web.Response:
        user = await self.user(request)
        self.need(user, "executor", "curator")
        body = await _body(request, DraftBody)
        case_id = int(request.match_info["id"])
        draft = await self._db(lambda s: cases.submit_draft(
            s, case_id, actor=user.login, text=body.text, kind=body.kind, role=user.role,
            outcome=body.outcome, contacted_author=body.contacted_author))
        return web.json_response({"draft_id": draft.id, "quality": draft.quality}, status=201)

    async def approve(self, request: web.Request) -> web.Response:
        user = await self.user(request)
        case_id = int(request.match_info["id"])
        row = await self._db(lambda s: outbox.as_dict(cases.approve(s, case_id, actor=user.login,
                                                                    role=user.role)))
        return web.json_response({"delivery": row})

    async def send_back(self, request: web.Request) -> web.Response:
        user = await self.user(request)
        body = await _body(request, CommentBody)
        case_id = int(request.match_info["id"])
        await self._db(lambda s: cases.send_back(s, case_id, actor=user.login, role=user.role,
                                                 comment=body.comment))
        return web.json_response({"ok": True})

    async def extension(self, request: web.Request) -> web.Response:
        user = await self.user(request)
        self.need(user, "executor", "curator")
        body = await _body(request, ExtensionBody)
        case_id = int(request.match_info["id"])
        row = await self._db(lambda s: cases.as_dict(cases.request_extension(
            s, case_id, actor=user.login, days=body.days, comment=body.comment, role=user.role)))
        return web.json_response(row)

    async def audit_trail(self, request: web.Request) -> web.Response:
        await self.user(request)
        case_id = int(request.match_info["id"])

        def go(s):
            return [{"at": a.at.isoformat(), "actor": a.actor, "action": a.action, "data": a.data}
                    for a in audit.trail(s, "case", case_id)]
        return web.json_response({"audit": await self._db(go)})

    async def dropped(self, request: web.Request) -> web.Response:
        user = await self.user(request)
        self.need(user, "curator", "head")

        def go(s):
            stmt = (select(MessageRow, VerdictRow).join(VerdictRow, VerdictRow.message_id == MessageRow.id)
                    .where(VerdictRow.decision == "drop").order_by(MessageRow.id.desc()).limit(500))
            return [{"message_id": m.id, "source": m.source, "text": m.text, "reasons": v.reasons,
                     "spans": v.spans, "repeat_of": v.repeat_of} for m, v in s.execute(stmt)]
        return web.json_response({"dropped": await self._db(go)})

    async def overrule(self, request: web.Request) -> web.Response:
        user = await self.user(request)
        self.need(user, "curator")
        message_id = int(request.match_info["id"])
        await self._db(lambda s: cases.overrule_drop(s, message_id, actor=user.login))
        self.daemon.wake_pipeline.set()
        return web.json_response({"ok": True})

    async def alerts(self, request: web.Request) -> web.Response:
        user = await self.user(request)
        self.need(user, "head", "curator")
        return web.json_response({"alerts": await self._db(alert_store.recent)})

    async def deliveries(self, request: web.Request) -> web.Response:
        user = await self.user(request)
        self.need(user, "curator")
        statuses = tuple(request.query.getall("status", [])) or None
        rows = await self._db(lambda s: [outbox.as_dict(r) for r in outbox.listing(s, statuses)])
        return web.json_response({"deliveries": rows})

    async def retry_delivery(self, request: web.Request) -> web.Response:
        user = await self.user(request)
        self.need(user, "curator")
        outbox_id = request.match_info["id"]

        def go(s):
            row = outbox.retry(s, outbox_id)
            audit.append(s, actor=user.login, action="delivery_retry", entity="outbox", entity_id=row.id)
            return outbox.as_dict(row)
        return web.json_response(await self._db(go))

    async def redirect_delivery(self, request: web.Request) -> web.Response:
        user = await self.user(request)
        self.need(user, "curator")
        outbox_id = request.match_info["id"]

        def go(s):
            row = outbox.redirect_private(s, outbox_id)
            audit.append(s, actor=user.login, action="delivery_redirected", entity="outbox", entity_id=row.id)
            return outbox.as_dict(row)
        return web.json_response(await self._db(go))

    async def openapi(self, request: web.Request) -> web.Response:
        return web.json_response(json.loads(OPENAPI.read_text(encoding="utf-8")))


def setup(app: web.Application, daemon) -> None:
    from otklik.api import accounts

    api = Api(daemon)
    r = app.router
    r.add_get("/api/openapi.json", api.openapi)
    accounts.setup(app, daemon, api)  # login, logout, step-up, sessions, passwords, users, audit
    r.add_get("/api/cases", api.list_cases)
    r.add_get("/api/cases/{id:\\d+}", api.show_case)
    r.add_post("/api/cases/{id:\\d+}/route", api.route)
    r.add_post("/api/cases/{id:\\d+}/return", api.return_case)
    r.add_post("/api/cases/{id:\\d+}/drafts", api.submit_draft)
    r.add_post("/api/cases/{id:\\d+}/approve", api.approve)
    r.add_post("/api/cases/{id:\\d+}/send-back", api.send_back)
    r.add_post("/api/cases/{id:\\d+}/extension", api.extension)
    r.add_get("/api/cases/{id:\\d+}/audit", api.audit_trail)
    r.add_get("/api/messages/dropped", api.dropped)
    r.add_post("/api/messages/{id:\\d+}/overrule", api.overrule)
    r.add_get("/api/alerts", api.alerts)
    r.add_get("/api/deliveries", api.deliveries)
    r.add_post("/api/deliveries/{id}/retry", api.retry_delivery)
    r.add_post("/api/deliveries/{id}/redirect", api.redirect_delivery)
