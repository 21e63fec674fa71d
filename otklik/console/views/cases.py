"""One case: the citizen's message and thread, routing (with the curator's corrections), the
timeline and audit trail, and the forms of the steps this person may take now. Each POST parses
the form, calls the same service function the API calls, and redirects back to the case."""

from __future__ import annotations

import dataclasses
import functools
import json
from datetime import datetime
from urllib.parse import quote

from aiohttp import web

from otklik.api import auth
from otklik.api.accounts import client_address
from otklik.attachments import checks
from otklik.console import app as console_app
from otklik.console import labels, session
from otklik.console.security import bad_input, redirect
from otklik.services import attachments, case_actions, case_page, cases, inbox

MAX_DRAFT = 20_000
MAX_COMMENT = 5_000
KINDS = ("answer", "intermediate", "clarify")
INLINE = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})  # never SVG: it may carry script
# The attachments service's checks (checks.Rejected.status) as Russian pages.
REJECTED = {413: (web.HTTPRequestEntityTooLarge, "Файл слишком большой."),
            415: (web.HTTPUnsupportedMediaType, "Можно приложить фотографию, видео или документ PDF/Office."),
            422: (web.HTTPUnprocessableEntity, "Файл повреждён или не читается.")}


def _case_id(request: web.Request) -> int:
    value = request.match_info["id"]
    if not (value.isdecimal() and len(value) <= 18):
        raise web.HTTPNotFound()
    return int(value)


def _text(form, name: str, limit: int, what: str, required: bool = True) -> str:
    value = str(form.get(name, "")).strip()
    if required and not value:
        raise bad_input(f"Заполните поле «{what}».")
    if len(value) > limit:
        raise bad_input(f"Поле «{what}» длиннее {limit} символов.")
    return value


def _learn(console):
    """How a topic correction teaches the router: the pipeline's own recorder, or (no pipeline in
    this process) the same corrections file it reads."""
    pipeline = getattr(console.daemon, "pipeline", None)
    if pipeline is not None:
        return pipeline.record_correction
    from router.learning import CORRECTIONS_FILE, record_correction

    path = console.var_dir / CORRECTIONS_FILE
    return lambda text, group, topic, executor: record_correction(path, text, group, topic, executor)


def _uploads(form, name: str) -> list[tuple[str | None, bytes]]:
    """The files chosen in a file input (an empty input sends one part without a name)."""
    out = []
    for part in form.getall(name, []):
        if isinstance(part, web.FileField) and part.filename:
            out.append((part.filename, part.file.read()))
    return out


def _rejected(exc: checks.Rejected) -> web.HTTPException:
    cls, text = REJECTED.get(exc.status, REJECTED[422])
    text += " Проект ответа не отправлен: вернитесь назад и приложите другой файл."
    if cls is web.HTTPRequestEntityTooLarge:
        return cls(max_size=checks.MAX_UPLOAD, actual_size=0, text=text, content_type="text/x-russian")
    return cls(text=text, content_type="text/x-russian")


async def page(request: web.Request) -> web.Response:
    console, actor = console_app.of(request), request[session.ACTOR]
    case_id = _case_id(request)
    data, options = await console.run(lambda s: (case_page.page(s, actor, case_id), inbox.choices(s, actor)))
    prefill = None
    base = request.query.get("base")
    if base is not None:  # «Взять за основу»: only an answer the page itself offered
        prefill = next((c["answer"] for c in data["similar"] if str(c["case_id"]) == base), None)
        if prefill is None:
            raise bad_input("Этот ответ нельзя взять за основу: его нет среди похожих обращений.")
    return console.render(request, "case.html", {**data, "options": options, "labels": labels,
                                                 "prefill": prefill})


async def route(request: web.Request) -> web.Response:
    console, actor = console_app.of(request), request[session.ACTOR]
    case_id = _case_id(request)
    form = await request.post()
    executors = [str(e) for e in form.getall("executors", []) if str(e)]
    if not executors:
        raise bad_input("Выберите хотя бы одного исполнителя.")
    group = _text(form, "topic_group", 200, "Группа тем", required=False) or None
    topic = _text(form, "topic", 300, "Тема", required=False) or None
    importance = str(form.get("importance", "")) or None
    places = _text(form, "places", 3000, "Место", required=False).splitlines()
    learn = _learn(console)

    def go(s):
        if importance:
            case_actions.set_importance(s, actor, case_id, importance=importance)
        case_actions.set_location(s, actor, case_id, location=places)
        cases.route(s, actor, case_id, executors=executors, topic_group=group, topic=topic, learn=learn)
    await console.run(go)
    return redirect(f"/console/cases/{case_id}")


async def return_case(request: web.Request) -> web.Response:
    console, actor = console_app.of(request), request[session.ACTOR]
    case_id = _case_id(request)
    comment = _text(await request.post(), "comment", MAX_COMMENT, "Причина")
    await console.run(lambda s: cases.return_case(s, actor, case_id, comment=comment))
    return redirect("/console/inbox")


async def draft(request: web.Request) -> web.Response:
    console, actor = console_app.of(request), request[session.ACTOR]
    case_id = _case_id(request)
    form = await request.post()
    text = _text(form, "text", MAX_DRAFT, "Текст")
    kind = str(form.get("kind", "answer"))
    if kind not in KINDS:
        raise bad_input("Неизвестный вид проекта ответа.")
    outcome = str(form.get("outcome", "")) or None
    contacted = form.get("contacted_author") == "on"
    photos = _uploads(form, "photos")

    def go(s):
        # One transaction: a refused file leaves neither the other files nor the draft behind.
        for name, data in photos:
            attachments.add(s, actor, case_id, data, name)
        cases.submit_draft(s, actor, case_id, text=text, kind=kind, outcome=outcome, contacted_author=contacted)
    try:
        await console.run(go)
    except checks.Rejected as exc:
        raise _rejected(exc) from None
    return redirect(f"/console/cases/{case_id}#draft-report")


async def quality(request: web.Request) -> web.Response:
    """JSON for static/draft.js: the quality check of the text being typed."""
    console, actor = console_app.of(request), request[session.ACTOR]
    case_id = _case_id(request)
    try:
        body = await request.json()
        text, kind = str(body.get("text", ""))[:MAX_DRAFT], str(body.get("kind", "answer"))
    except (ValueError, AttributeError):
        raise bad_input("Ожидался JSON с полем text.") from None
    if kind not in KINDS:
        kind = "answer"
    hints = await console.run(lambda s: case_page.quality_hints(s, actor, case_id, text, kind))
    return web.json_response({"hints": hints}, dumps=functools.partial(json.dumps, ensure_ascii=False))


async def approve(request: web.Request) -> web.Response:
    """Approving posts in the municipality's name: the one-time code is proven again first (the
    API's step-up), then the same cases.approve the API calls."""
    console, actor = console_app.of(request), request[session.ACTOR]
    case_id = _case_id(request)
    code = _text(await request.post(), "otp", 100, "Одноразовый код")
    at = await console.run(lambda s: auth.step_up(s, actor, code, address=client_address(request), box=console.box))
    if at is None:
        raise web.HTTPForbidden(text="Неверный одноразовый код: проект не согласован.", content_type="text/x-russian")
    confirmed = dataclasses.replace(actor, second_factor_at=at)
    await console.run(lambda s: cases.approve(s, confirmed, case_id))
    return redirect(f"/console/cases/{case_id}")


async def send_back(request: web.Request) -> web.Response:
    console, actor = console_app.of(request), request[session.ACTOR]
    case_id = _case_id(request)
    comment = _text(await request.post(), "comment", MAX_COMMENT, "Замечание")
    await console.run(lambda s: cases.send_back(s, actor, case_id, comment=comment))
    return redirect(f"/console/cases/{case_id}")


async def file(request: web.Request) -> web.Response:
    """An attachment's bytes for whoever may read its case (the service decides; else 404). A photo
    is shown inline (the case page's thumbnails); anything else only as a download, so a file from
    outside never runs as a page of ours."""
    console, actor = console_app.of(request), request[session.ACTOR]
    attachment_id = _case_id(request)
    meta, data = await console.run(lambda s: attachments.download(s, actor, attachment_id))
    how = "inline" if meta["kind"] == "photo" and meta["mime"] in INLINE else "attachment"
    headers = {"Content-Disposition": f"{how}; filename*=UTF-8''{quote(meta['filename'])}",
               "Cache-Control": "private, no-store"}
    mime = meta["mime"] if how == "inline" else "application/octet-stream"
    return web.Response(body=data, content_type=mime, headers=headers)


CLOSE_REASONS = {"not_processed": "не подлежит обработке", "forwarded": "направлено в другой орган"}


def _local_time(form, name: str, what: str) -> datetime:
    """A datetime-local field: the municipality's local time (case_actions reads it so)."""
    value = str(form.get(name, "")).strip()
    try:
        return datetime.fromisoformat(value).replace(tzinfo=None)
    except ValueError:
        raise bad_input(f"Укажите дату и время в поле «{what}».") from None


async def action(request: web.Request) -> web.Response:
    """The regulated actions (otklik/services/case_actions.py), one small form each."""
    console, actor = console_app.of(request), request[session.ACTOR]
    case_id = _case_id(request)
    form = await request.post()
    name = request.match_info["action"]
    if name == "term":
        at = _local_time(form, "answer_by", "Новый срок ответа")
        call = functools.partial(case_actions.shorten_term, answer_by=at)
    elif name == "final-term":
        at = _local_time(form, "final_by", "Окончательный срок")
        call = functools.partial(case_actions.set_final_term, final_by=at)
    elif name == "responsible":
        call = functools.partial(case_actions.set_responsible, responsible=_text(form, "responsible", 100, "Ответственный"))
    elif name == "input":
        text = _text(form, "text", MAX_DRAFT, "Предложения соисполнителя")
        department = str(form.get("department", "")) or None
        call = functools.partial(case_actions.coexecutor_input, text=text, department=department)
    elif name == "repeat":
        value = str(form.get("repeat_of", "")).strip()
        if value and not (value.isdecimal() and len(value) <= 18):
            raise bad_input("Номер прежнего обращения — число.")
        call = functools.partial(case_actions.decide_repeat, repeat_of=int(value) if value else None)
    elif name == "close":
        reason = str(form.get("reason", ""))
        if reason not in CLOSE_REASONS:
            raise bad_input("Выберите причину закрытия.")
        comment = _text(form, "comment", MAX_COMMENT, "Обоснование")
        body = _text(form, "forwarded_to", 300, "Куда направлено", required=reason == "forwarded") or None
        call = functools.partial(case_actions.close, reason=reason, comment=comment, forwarded_to=body)
    else:
        raise web.HTTPNotFound()
    await console.run(lambda s: call(s, actor, case_id))
    return redirect(f"/console/cases/{case_id}")


def setup(router: web.UrlDispatcher) -> None:
    router.add_post("/console/cases/{id}/do/{action}", action)
    router.add_get("/console/files/{id}", file)
    router.add_get("/console/cases/{id}", page)
    router.add_post("/console/cases/{id}/route", route)
    router.add_post("/console/cases/{id}/return", return_case)
    router.add_post("/console/cases/{id}/draft", draft)
    router.add_post("/console/cases/{id}/quality", quality)
    router.add_post("/console/cases/{id}/approve", approve)
    router.add_post("/console/cases/{id}/send-back", send_back)
