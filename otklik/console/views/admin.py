"""The admin's pages: users and their roles, departments, substitutes, sources with their health
and quarantined items, and deliveries that are parked, failed or uncertain (retry, redirect: both
need the one-time code again, like the API's step-up). Each POST parses the form and calls the
service function the API and the CLI call; who may do what is decided there."""

from __future__ import annotations

import dataclasses
from datetime import date

from aiohttp import web

from otklik.accounts.totp import provisioning_uri
from otklik.api import auth
from otklik.api.accounts import client_address
from otklik.console import app as console_app
from otklik.console import nav, session
from otklik.console.security import bad_input, redirect
from otklik.services import access, deliveries, departments, sources, substitutes, users
from storage import quarantine

STATUSES = {"parked": "приостановлена", "failed": "не удалась", "uncertain": "неизвестно, опубликована ли",
            "pending": "ждёт отправки", "enqueued": "в очереди", "sending": "отправляется", "posted": "опубликована"}
SOURCE_STATUSES = {"ok": "работает", "degraded": "есть отложенные", "stalled": "не опрашивается",
                   "auth_failed": "токен не действует", "rate_limited": "ограничение частоты", "failing": "ошибки",
                   "unknown": "ещё не опрашивался", "disabled": "выключен"}
REASONS = {"illness": "болезнь", "leave": "отпуск", "travel": "командировка", "other": "другое"}


def _field(form, name: str, what: str, limit: int = 300) -> str:
    value = str(form.get(name, "")).strip()
    if not value:
        raise bad_input(f"Заполните поле «{what}».")
    if len(value) > limit:
        raise bad_input(f"Поле «{what}» длиннее {limit} символов.")
    return value


def _int_id(request: web.Request) -> int:
    value = request.match_info["id"]
    if not (value.isdecimal() and len(value) <= 18):
        raise web.HTTPNotFound()
    return int(value)


# -- users and roles ---------------------------------------------------------------------------
async def users_page(request: web.Request) -> web.Response:
    console, actor = console_app.of(request), request[session.ACTOR]
    rows, depts = await console.run(lambda s: (users.listing(s, actor), departments.listing(s, actor)))
    return console.render(request, "admin_users.html", {"rows": rows, "roles": access.ROLES, "departments": depts,
                                                        "done": DONE.get(request.query.get("done", ""))})


DONE = {"deactivate": "Пользователь отключён, его сессии завершены.", "unlock": "Блокировки входа сняты.",
        "revoke": "Сессии пользователя завершены."}


def _secrets_page(request: web.Request, ctx: dict) -> web.Response:
    """A page showing a password or codes once: never cached, never logged (nothing here logs it)."""
    response = console_app.of(request).render(request, "admin_user_secrets.html", ctx)
    response.headers["Cache-Control"] = "no-store"
    return response


async def add_user(request: web.Request) -> web.Response:
    console, actor = console_app.of(request), request[session.ACTOR]
    form = await request.post()
    login, role = _field(form, "login", "Логин", 63), _field(form, "role", "Роль", 20)
    department = str(form.get("department", "")).strip() or None
    email = str(form.get("email", "")).strip()[:300] or None
    made = await console.run(lambda s: users.add(s, actor, login, role, department, email, box=console.box))
    uri = provisioning_uri(made.totp_secret, login) if made.totp_secret else None
    return _secrets_page(request, {"login": login, "role": role, "password": made.password,
                                   "totp_secret": made.totp_secret, "totp_uri": uri, "codes": made.recovery_codes})


async def user_action(request: web.Request) -> web.Response:
    console, actor = console_app.of(request), request[session.ACTOR]
    login, action = request.match_info["login"], request.match_info["action"]
    if action == "recovery-codes":
        codes = await console.run(lambda s: users.recovery_codes(s, actor, login))
        return _secrets_page(request, {"login": login, "password": None, "totp_secret": None, "codes": codes})
    fn = {"deactivate": users.deactivate, "unlock": users.unlock, "revoke": users.revoke_sessions}.get(action)
    if fn is None:
        raise web.HTTPNotFound()
    await console.run(lambda s: fn(s, actor, login))
    return redirect(f"/console/admin/users?done={action}")


async def set_roles(request: web.Request) -> web.Response:
    console, actor = console_app.of(request), request[session.ACTOR]
    login = request.match_info["login"]
    form = await request.post()
    roles = [str(r) for r in form.getall("roles", [])]
    await console.run(lambda s: users.set_roles(s, actor, login, roles))
    return redirect("/console/admin/users")


# -- departments -------------------------------------------------------------------------------
async def departments_page(request: web.Request) -> web.Response:
    console, actor = console_app.of(request), request[session.ACTOR]
    rows = await console.run(lambda s: departments.listing(s, actor))
    return console.render(request, "admin_departments.html", {"rows": rows})


async def add_department(request: web.Request) -> web.Response:
    console, actor = console_app.of(request), request[session.ACTOR]
    form = await request.post()
    dept_id, name = _field(form, "id", "Код", 100), _field(form, "name", "Название")
    await console.run(lambda s: departments.add(s, actor, dept_id, name))
    return redirect("/console/admin/departments")


# -- substitutes -------------------------------------------------------------------------------
async def substitutes_page(request: web.Request) -> web.Response:
    console, actor = console_app.of(request), request[session.ACTOR]
    rows, people = await console.run(lambda s: (substitutes.listing(s, actor), users.listing(s, actor)))
    return console.render(request, "admin_substitutes.html", {"rows": rows, "people": people, "reasons": REASONS})


async def add_substitute(request: web.Request) -> web.Response:
    console, actor = console_app.of(request), request[session.ACTOR]
    form = await request.post()
    absent, substitute = _field(form, "absent", "Отсутствующий", 100), _field(form, "substitute", "Замещающий", 100)
    reason = str(form.get("reason", "leave"))
    if reason not in REASONS:
        raise bad_input("Выберите причину из списка.")
    try:
        starts, ends = date.fromisoformat(_field(form, "from", "С")), date.fromisoformat(_field(form, "to", "По"))
    except ValueError:
        raise bad_input("Даты — в виде ГГГГ-ММ-ДД.") from None
    await console.run(lambda s: substitutes.add(s, actor, absent, substitute, starts, ends, reason))
    return redirect("/console/admin/substitutes")


async def remove_substitute(request: web.Request) -> web.Response:
    console, actor = console_app.of(request), request[session.ACTOR]
    substitute_id = _int_id(request)
    await console.run(lambda s: substitutes.remove(s, actor, substitute_id))
    return redirect("/console/admin/substitutes")


# -- sources and the quarantine ------------------------------------------------------------------
async def sources_page(request: web.Request) -> web.Response:
    console, actor = console_app.of(request), request[session.ACTOR]
    settings = getattr(console.daemon, "settings", None) or console.settings
    configured = list(settings.sources)

    def go(s):
        return (sources.health(s, actor, configured),
                [quarantine.as_dict(r) for r in quarantine.listing(s, actor, limit=200)])
    rows, items = await console.run(go)
    return console.render(request, "admin_sources.html", {"rows": rows, "items": items,
                                                          "statuses": SOURCE_STATUSES,
                                                          "outcome": request.query.get("outcome")})


async def retry_quarantined(request: web.Request) -> web.Response:
    console, actor = console_app.of(request), request[session.ACTOR]
    item_id = _int_id(request)
    outcome = await console.run(lambda s: quarantine.retry(s, actor, item_id))
    wake = getattr(console.daemon, "wake_pipeline", None)
    if wake is not None:
        wake.set()
    ok = "failed" not in outcome
    return redirect(f"/console/admin/sources?outcome={'retried' if ok else 'failed'}")


# -- deliveries --------------------------------------------------------------------------------
async def deliveries_page(request: web.Request) -> web.Response:
    console, actor = console_app.of(request), request[session.ACTOR]
    data = await console.run(lambda s: deliveries.troubled(s, actor))
    return console.render(request, "admin_deliveries.html", {"rows": data["deliveries"], "counts": data["counts"],
                                                             "statuses": STATUSES,
                                                             "done": request.query.get("done")})


async def _confirmed(request: web.Request):
    """The actor with its second factor proven now (the code from the form), as the API's step-up."""
    console, actor = console_app.of(request), request[session.ACTOR]
    code = _field(await request.post(), "otp", "Одноразовый код", 100)
    at = await console.run(lambda s: auth.step_up(s, actor, code, address=client_address(request), box=console.box))
    if at is None:
        raise web.HTTPForbidden(text="Неверный одноразовый код: доставка не изменена.", content_type="text/x-russian")
    return dataclasses.replace(actor, second_factor_at=at)


async def retry_delivery(request: web.Request) -> web.Response:
    console = console_app.of(request)
    outbox_id = request.match_info["id"]
    confirmed = await _confirmed(request)
    await console.run(lambda s: deliveries.retry(s, confirmed, outbox_id))
    return redirect("/console/admin/deliveries?done=retry")


async def redirect_delivery(request: web.Request) -> web.Response:
    console = console_app.of(request)
    outbox_id = request.match_info["id"]
    confirmed = await _confirmed(request)
    await console.run(lambda s: deliveries.redirect(s, confirmed, outbox_id))
    return redirect("/console/admin/deliveries?done=redirect")


def setup(router: web.UrlDispatcher) -> None:
    router.add_get("/console/admin/users", users_page)
    router.add_post("/console/admin/users", add_user)
    router.add_post("/console/admin/users/{login}/roles", set_roles)
    router.add_post("/console/admin/users/{login}/{action:deactivate|unlock|revoke|recovery-codes}", user_action)
    router.add_get("/console/admin/departments", departments_page)
    router.add_post("/console/admin/departments", add_department)
    router.add_get("/console/admin/substitutes", substitutes_page)
    router.add_post("/console/admin/substitutes", add_substitute)
    router.add_post("/console/admin/substitutes/{id}/remove", remove_substitute)
    router.add_get("/console/admin/sources", sources_page)
    router.add_post("/console/admin/quarantine/{id}/retry", retry_quarantined)
    router.add_get("/console/admin/deliveries", deliveries_page)
    router.add_post("/console/admin/deliveries/{id}/retry", retry_delivery)
    router.add_post("/console/admin/deliveries/{id}/redirect", redirect_delivery)
    nav.add("Доставки", "/console/admin/deliveries", {"curator"})
    nav.add("Источники", "/console/admin/sources", {"curator", "admin"})
    nav.add("Пользователи", "/console/admin/users", {"admin"})
    nav.add("Подразделения", "/console/admin/departments", {"admin"})
    nav.add("Замещения", "/console/admin/substitutes", {"admin"})
