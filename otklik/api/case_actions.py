"""The regulated actions of otklik/services/case_actions.py on the API, one POST each under
`/api/cases/{id}/…`. Handlers parse the body and call the service; access is decided there."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, Field

from otklik.api.routes import Api, _body
from otklik.services import case_actions, cases, manual


class TermBody(BaseModel):
    answer_by: datetime  # ISO 8601; without an offset, the municipality's local time


class FinalTermBody(BaseModel):
    final_by: datetime


class ResponsibleBody(BaseModel):
    responsible: str = Field(min_length=1, max_length=100)


class InputBody(BaseModel):
    text: str = Field(min_length=1, max_length=20_000)
    department: str | None = Field(None, max_length=100)


class RepeatBody(BaseModel):
    repeat_of: int | None = Field(None, ge=1, le=2**63 - 1)  # null: not a repeat


class ImportanceBody(BaseModel):
    importance: Literal["normal", "high"]


class LocationBody(BaseModel):
    location: str = Field(min_length=1, max_length=case_actions.MAX_LOCATION)


class CloseBody(BaseModel):
    reason: str = Field(min_length=1, max_length=40)
    comment: str = Field("", max_length=5_000)
    forwarded_to: str | None = Field(None, max_length=300)


class ManualBody(BaseModel):
    text: str = Field(min_length=1, max_length=manual.MAX_TEXT)
    url: str = Field(min_length=1, max_length=1000)
    network: Literal["vk", "ok", "telegram", "max", "web"]
    found_at: datetime | None = None
    author_name: str | None = Field(None, max_length=300)


class CaseActionsApi:
    def __init__(self, api: Api) -> None:
        self.api = api

    async def _act(self, request: web.Request, model: type[BaseModel], call) -> web.Response:
        actor = await self.api.user(request)
        body = await _body(request, model)
        case_id = int(request.match_info["id"])
        out = await self.api._db(lambda s: call(s, actor, case_id, body))
        return web.json_response(out, status=201 if isinstance(out, dict) and out.get("input") else 200)

    async def term(self, request: web.Request) -> web.Response:
        return await self._act(request, TermBody, lambda s, a, i, b: cases.as_dict(
            case_actions.shorten_term(s, a, i, answer_by=b.answer_by)))

    async def final_term(self, request: web.Request) -> web.Response:
        return await self._act(request, FinalTermBody, lambda s, a, i, b: cases.as_dict(
            case_actions.set_final_term(s, a, i, final_by=b.final_by)))

    async def responsible(self, request: web.Request) -> web.Response:
        return await self._act(request, ResponsibleBody, lambda s, a, i, b: cases.as_dict(
            case_actions.set_responsible(s, a, i, responsible=b.responsible)))

    async def coexecutor_input(self, request: web.Request) -> web.Response:
        def go(s, a, i, b):
            draft = case_actions.coexecutor_input(s, a, i, text=b.text, department=b.department)
            return {"input": draft.id, "department": draft.comment}
        return await self._act(request, InputBody, go)

    async def repeat(self, request: web.Request) -> web.Response:
        return await self._act(request, RepeatBody, lambda s, a, i, b: cases.as_dict(
            case_actions.decide_repeat(s, a, i, repeat_of=b.repeat_of)))

    async def importance(self, request: web.Request) -> web.Response:
        return await self._act(request, ImportanceBody, lambda s, a, i, b: cases.as_dict(
            case_actions.set_importance(s, a, i, importance=b.importance)))

    async def location(self, request: web.Request) -> web.Response:
        return await self._act(request, LocationBody, lambda s, a, i, b: cases.as_dict(
            case_actions.set_location(s, a, i, location=b.location)))

    async def close(self, request: web.Request) -> web.Response:
        return await self._act(request, CloseBody, lambda s, a, i, b: cases.as_dict(
            case_actions.close(s, a, i, reason=b.reason, comment=b.comment, forwarded_to=b.forwarded_to)))


    async def enter_message(self, request: web.Request) -> web.Response:
        actor = await self.api.user(request)
        body = await _body(request, ManualBody)
        message_id = await self.api._db(lambda s: manual.enter(
            s, actor, text=body.text, url=body.url, network=body.network, found_at=body.found_at,
            author_name=body.author_name).id)
        if getattr(self.api.daemon, "wake_pipeline", None) is not None:
            self.api.daemon.wake_pipeline.set()
        return web.json_response({"message_id": message_id}, status=201)


ROUTES = {
    "term": "term",
    "final-term": "final_term",
    "responsible": "responsible",
    "coexecutor-input": "coexecutor_input",
    "repeat": "repeat",
    "importance": "importance",
    "location": "location",
    "close": "close",
}


def setup(app: web.Application, daemon) -> None:
    handlers = CaseActionsApi(Api(daemon))
    for path, name in ROUTES.items():
        app.router.add_post(f"/api/cases/{{id:\\d+}}/{path}", getattr(handlers, name))
    app.router.add_post("/api/messages/manual", handlers.enter_message)
