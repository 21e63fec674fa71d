"""My notifications in the console: the bell with the unread count in the header (every page),
`/console/notifications` (the list, newest first, with how the e-mail / chat copies fared; mark one
or all read) and the preferences form (channels, quiet hours, daily digest); for admins,
`/console/admin/notifications`: the notes that could not be delivered, each with a "send again"
button (it puts the note back to pending). The service functions
of otklik.services.notifications decide everything; this module parses forms and renders."""

from __future__ import annotations

import asyncio

from aiohttp import web

from otklik import services
from otklik.console import app as console_app
from otklik.console import nav, session
from otklik.console.security import bad_input, redirect
from otklik.services import notifications

CHANNEL_NAMES = {"email": "Электронная почта", "telegram": "Telegram", "max": "MAX", "console": "Консоль"}
STATUS_NAMES = {"pending": "ожидает отправки", "enqueued": "в очереди", "sending": "отправляется",
                "deferred": "отложено (тихие часы)", "sent": "доставлено", "failed": "не доставлено"}
KIND_NAMES = {"assigned": "назначение", "sent_back": "возврат на доработку", "returned": "возврат куратору",
              "reopened": "повторное открытие", "near_due": "срок подходит", "overdue": "срок истёк",
              "draft_waiting": "проект ответа на согласовании", "term_needed": "нужно продление срока",
              "dismissal": "увольнение сотрудника", "significant": "значимое обращение", "spike": "всплеск обращений",
              "high_importance": "высокая важность", "overdue_report": "отчёт о просрочках", "report": "отчёт",
              "digest": "ежедневная сводка"}


@web.middleware
async def bell(request: web.Request, handler):
    """The unread count for the header's bell, on console pages of a logged-in person (GET only:
    a POST answers with a redirect)."""
    actor = request.get(session.ACTOR)
    if actor is not None and request.method == "GET" and request.path.startswith("/console/") \
            and not request.path.startswith(console_app.STATIC_PREFIX):
        db = console_app.of(request).daemon.db
        request[nav.UNREAD] = await asyncio.to_thread(
            services.run, db, lambda s: notifications.unread_count(s, actor))
    return await handler(request)


async def page(request: web.Request) -> web.Response:
    console, actor = console_app.of(request), request[session.ACTOR]
    unread = request.query.get("unread") == "1"

    def go(s):
        return notifications.listing(s, actor, unread=unread), notifications.get_preferences(s, actor)
    rows, prefs = await console.run(go)
    return console.render(request, "notifications.html", {
        "notes": rows, "prefs": prefs, "only_unread": unread, "channel_names": CHANNEL_NAMES,
        "status_names": STATUS_NAMES, "saved": request.query.get("saved") == "1"})


async def read_one(request: web.Request) -> web.Response:
    console, actor = console_app.of(request), request[session.ACTOR]
    try:
        note_id = int(request.match_info["id"])
    except ValueError:
        raise bad_input("Неверный номер уведомления.") from None
    await console.run(lambda s: notifications.mark_read(s, actor, [note_id]))
    return redirect("/console/notifications")


async def read_all(request: web.Request) -> web.Response:
    console, actor = console_app.of(request), request[session.ACTOR]
    await console.run(lambda s: notifications.mark_read(s, actor))
    return redirect("/console/notifications")


async def save_preferences(request: web.Request) -> web.Response:
    console, actor = console_app.of(request), request[session.ACTOR]
    form = await request.post()
    channels = [c for c in ("email", "telegram", "max") if form.get(f"channel_{c}") == "on"]
    quiet_start, quiet_end = str(form.get("quiet_start", "")).strip(), str(form.get("quiet_end", "")).strip()
    digest_at = str(form.get("digest_at", "")).strip()
    if len(quiet_start) > 5 or len(quiet_end) > 5 or len(digest_at) > 5:
        raise bad_input("Время указывается как ЧЧ:ММ.")
    await console.run(lambda s: notifications.set_preferences(
        s, actor, channels=channels, quiet_start=quiet_start or None, quiet_end=quiet_end or None,
        digest=form.get("digest") == "on", digest_at=digest_at or None))
    return redirect("/console/notifications?saved=1")


async def failed_page(request: web.Request) -> web.Response:
    console, actor = console_app.of(request), request[session.ACTOR]
    rows = await console.run(lambda s: notifications.failed(s, actor))
    return console.render(request, "admin_notifications.html", {
        "rows": rows, "channel_names": CHANNEL_NAMES, "kind_names": KIND_NAMES,
        "done": done if (done := request.query.get("done", "")).isdecimal() and len(done) <= 18 else ""})


async def retry_failed(request: web.Request) -> web.Response:
    console, actor = console_app.of(request), request[session.ACTOR]
    value = request.match_info["id"]
    if not (value.isdecimal() and len(value) <= 18):
        raise bad_input("Неверный номер уведомления.")
    note_id = int(value)
    await console.run(lambda s: notifications.retry(s, actor, note_id))
    return redirect(f"/console/admin/notifications?done={note_id}")


def setup(router: web.UrlDispatcher) -> None:
    router.add_get("/console/admin/notifications", failed_page)
    router.add_post("/console/admin/notifications/{id}/retry", retry_failed)
    nav.add("Сбои уведомлений", "/console/admin/notifications", {"admin"})
    router.add_get("/console/notifications", page)
    router.add_post("/console/notifications/read-all", read_all)
    router.add_post("/console/notifications/preferences", save_preferences)
    router.add_post("/console/notifications/{id}/read", read_one)
