"""The JSON API for curators, executors, approvers and the head (aiohttp).

Every handler runs its database work in a thread (`_db`), in one transaction, and maps our
exceptions to HTTP: NotFound 404, PermissionDenied 403, InvalidTransition 409, bad input 400.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import AliasChoices, BaseModel, Field, ValidationError, field_validator

from otklik import alerts as alert_store
from otklik import services
from otklik.actor import Actor
from otklik.api import auth
from otklik.attachments.store import StoreUnavailable
from otklik.exceptions import InvalidTransition, NotFound, PermissionDenied
from otklik.services import access, cases, deliveries, departments, messages, substitutes
from storage import outbox

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


class ReplyAddressBody(BaseModel):
    address: str | None = Field(None, max_length=320)  # null or "": answer where the citizen wrote again

    @field_validator("address")
    @classmethod
    def _address(cls, v: str | None) -> str | None:
        from connectors.email.connector import valid_address

        return valid_address(v) if v else None  # ValueError: a 400 naming the field, not the value


class ExtensionBody(BaseModel):
    days: int = Field(ge=1, le=8)
    comment: str = Field(min_length=1)


class DepartmentBody(BaseModel):
    id: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=300)


class SubstituteBody(BaseModel):
    absent: str = Field(min_length=1, max_length=100)
    substitute: str = Field(min_length=1, max_length=100)
    starts_on: date = Field(validation_alias=AliasChoices("from", "starts_on"))
    ends_on: date = Field(validation_alias=AliasChoices("to", "ends_on"))
    reason: str = Field("leave", pattern="^(illness|leave|travel|other)$")


def store_unavailable(exc: Exception) -> web.HTTPException:
    """The attachment store (S3) cannot be reached: 424 Failed Dependency — the request was sound and
    nothing was recorded; a 4xx with Retry-After, as every handler answers, never a 5xx."""
    return web.HTTPFailedDependency(
        text=json.dumps({"error": f"{exc}; nothing was saved, try again later"}, ensure_ascii=False),
        content_type="application/json", headers={"Retry-After": "30"})


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
        try:
            return await asyncio.to_thread(services.run, self.daemon.db, fn, *args)
        except NotFound as exc:
            raise _fail(web.HTTPNotFound, str(exc)) from None
        except PermissionDenied as exc:
            raise _fail(web.HTTPForbidden, str(exc), code=getattr(exc, "code", "forbidden")) from None
        except InvalidTransition as exc:
            raise _fail(web.HTTPConflict, str(exc)) from None
        except StoreUnavailable as exc:
            raise store_unavailable(exc) from None

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

    # -- handlers: parse, call the service with the Actor, answer. Access is decided in
    # otklik.services.access, never here. ---------------------------------------------------
    async def list_cases(self, request: web.Request) -> web.Response:
        user = await self.user(request)
        state, executor = request.query.get("state"), request.query.get("executor")
        rows = await self._db(lambda s: cases.listing(s, user, state=state, executor=executor))
        return web.json_response({"cases": rows})

    async def show_case(self, request: web.Request) -> web.Response:
        user = await self.user(request)
        case_id = int(request.match_info["id"])
        return web.json_response(await self._db(lambda s: cases.show(s, user, case_id)))

    async def route(self, request: web.Request) -> web.Response:
        user = await self.user(request)
        body = await _body(request, RouteBody)
        case_id = int(request.match_info["id"])
        learn = self.daemon.pipeline.record_correction if self.daemon.pipeline else None
        row = await self._db(lambda s: cases.as_dict(cases.route(
            s, user, case_id, executors=body.executors, topic_group=body.topic_group, topic=body.topic,
            learn=learn)))
        return web.json_response(row)

    async def return_case(self, request: web.Request) -> web.Response:
        user = await self.user(request)
        body = await _body(request, CommentBody)
        case_id = int(request.match_info["id"])
        row = await self._db(lambda s: cases.as_dict(cases.return_case(s, user, case_id, comment=body.comment)))
        return web.json_response(row)

    async def submit_draft(self, request: web.Request) -> web.Response:
        user = await self.user(request)
        body = await _body(request, DraftBody)
        case_id = int(request.match_info["id"])
        draft = await self._db(lambda s: cases.submit_draft(
            s, user, case_id, text=body.text, kind=body.kind, outcome=body.outcome,
            contacted_author=body.contacted_author))
        return web.json_response({"draft_id": draft.id, "quality": draft.quality}, status=201)

    async def approve(self, request: web.Request) -> web.Response:
        user = await self.user(request)
        case_id = int(request.match_info["id"])
        row = await self._db(lambda s: outbox.as_dict(cases.approve(s, user, case_id)))
        return web.json_response({"delivery": row})

    async def reply_address(self, request: web.Request) -> web.Response:
        user = await self.user(request)
        body = await _body(request, ReplyAddressBody)
        case_id = int(request.match_info["id"])
        by_email = await self._db(lambda s: cases.set_reply_address(s, user, case_id, body.address).reply_address
                                  is not None)
        return web.json_response({"id": case_id, "by_email": by_email})

    async def send_back(self, request: web.Request) -> web.Response:
        user = await self.user(request)
        body = await _body(request, CommentBody)
        case_id = int(request.match_info["id"])
        await self._db(lambda s: cases.send_back(s, user, case_id, comment=body.comment))
        return web.json_response({"ok": True})

    async def extension(self, request: web.Request) -> web.Response:
        user = await self.user(request)
        body = await _body(request, ExtensionBody)
        case_id = int(request.match_info["id"])
        row = await self._db(lambda s: cases.as_dict(cases.request_extension(
            s, user, case_id, days=body.days, comment=body.comment)))
        return web.json_response(row)

    async def audit_trail(self, request: web.Request) -> web.Response:
        user = await self.user(request)
        case_id = int(request.match_info["id"])
        return web.json_response({"audit": await self._db(lambda s: cases.audit_trail(s, user, case_id))})

    async def dropped(self, request: web.Request) -> web.Response:
        user = await self.user(request)
        return web.json_response({"dropped": await self._db(lambda s: messages.dropped(s, user))})

    async def overrule(self, request: web.Request) -> web.Response:
        user = await self.user(request)
        message_id = int(request.match_info["id"])
        await self._db(lambda s: messages.overrule_drop(s, user, message_id))
        self.daemon.wake_pipeline.set()
        return web.json_response({"ok": True})

    async def alerts(self, request: web.Request) -> web.Response:
        user = await self.user(request)

        def go(s):
            access.require(s, user, "read_alerts", entity="alerts")
            return alert_store.recent(s)
        return web.json_response({"alerts": await self._db(go)})

    async def deliveries(self, request: web.Request) -> web.Response:
        user = await self.user(request)
        statuses = tuple(request.query.getall("status", [])) or None
        return web.json_response({"deliveries": await self._db(lambda s: deliveries.listing(s, user, statuses))})

    async def retry_delivery(self, request: web.Request) -> web.Response:
        user = await self.user(request)
        outbox_id = request.match_info["id"]
        return web.json_response(await self._db(lambda s: deliveries.retry(s, user, outbox_id)))

    async def redirect_delivery(self, request: web.Request) -> web.Response:
        user = await self.user(request)
        outbox_id = request.match_info["id"]
        return web.json_response(await self._db(lambda s: deliveries.redirect(s, user, outbox_id)))

    # -- the directory (admin) -------------------------------------------------------------------
    async def list_departments(self, request: web.Request) -> web.Response:
        user = await self.user(request)
        return web.json_response({"departments": await self._db(lambda s: departments.listing(s, user))})

    async def add_department(self, request: web.Request) -> web.Response:
        user = await self.user(request)
        body = await _body(request, DepartmentBody)
        row = await self._db(lambda s: departments.add(s, user, body.id, body.name))
        return web.json_response(row, status=201)

    async def list_substitutes(self, request: web.Request) -> web.Response:
        user = await self.user(request)
        return web.json_response({"substitutes": await self._db(lambda s: substitutes.listing(s, user))})

    async def add_substitute(self, request: web.Request) -> web.Response:
        user = await self.user(request)
        body = await _body(request, SubstituteBody)
        row = await self._db(lambda s: substitutes.add(s, user, body.absent, body.substitute, body.starts_on,
                                                       body.ends_on, body.reason))
        return web.json_response(row, status=201)

    async def remove_substitute(self, request: web.Request) -> web.Response:
        user = await self.user(request)
        substitute_id = int(request.match_info["id"])
        await self._db(lambda s: substitutes.remove(s, user, substitute_id))
        return web.json_response({"ok": True})

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
    r.add_post("/api/cases/{id:\\d+}/reply-address", api.reply_address)
    r.add_post("/api/cases/{id:\\d+}/extension", api.extension)
    r.add_get("/api/cases/{id:\\d+}/audit", api.audit_trail)
    __import__("otklik.api.attachments", fromlist=["setup"]).setup(app, api)  # files with answers, citizens' photos
    r.add_get("/api/messages/dropped", api.dropped)
    r.add_post("/api/messages/{id:\\d+}/overrule", api.overrule)
    r.add_get("/api/alerts", api.alerts)
    r.add_get("/api/deliveries", api.deliveries)
    r.add_post("/api/deliveries/{id}/retry", api.retry_delivery)
    r.add_post("/api/deliveries/{id}/redirect", api.redirect_delivery)
    __import__("otklik.api.quarantine", fromlist=["setup"]).setup(app, daemon)  # builds on Api: no top import
    __import__("otklik.api.categories", fromlist=["setup"]).setup(app, daemon)  # new-topic proposals
    __import__("otklik.api.reports", fromlist=["setup"]).setup(app, daemon)  # reports, stats, report e-mail
    __import__("otklik.api.case_actions", fromlist=["setup"]).setup(app, daemon)  # terms, inputs, closing …
    __import__("otklik.api.operations", fromlist=["setup"]).setup(app, daemon)  # dashboard, sources, users
    __import__("otklik.api.notifications", fromlist=["setup"]).setup(app, daemon)  # a person's notes, preferences
    __import__("otklik.api.staffbot", fromlist=["setup"]).setup(app, api)  # linking one's chat with the staff bot
    r.add_get("/api/departments", api.list_departments)
    r.add_post("/api/departments", api.add_department)
    r.add_get("/api/substitutes", api.list_substitutes)
    r.add_post("/api/substitutes", api.add_substitute)
    r.add_delete("/api/substitutes/{id:\\d+}", api.remove_substitute)
