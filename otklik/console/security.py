"""The console's one middleware: who is logged in, the CSRF check on every POST, the security
headers on every page, and errors as Russian pages with a 4xx status.

- Pages under /console need a live console session, except the login page and static files;
  without one a GET is redirected to the login page (and back after logging in).
- Every POST carries the CSRF token (form field `csrf` or header X-CSRF-Token) equal to the
  browser's CSRF cookie; otherwise 403 before the handler runs.
- Content-Security-Policy allows scripts, styles, images and connections from our own origin
  only: no inline script or style anywhere in the templates.
- The service layer's refusals keep their meaning: NotFound (also a case outside the actor's
  scope) 404, PermissionDenied 403, InvalidTransition 409, bad input 400.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from aiohttp import web

from otklik.api import auth
from otklik.console import app as console_app
from otklik.console import session
from otklik.exceptions import InvalidTransition, NotFound, OtklikError, PermissionDenied
from otklik.services import access

log = logging.getLogger("otklik.console")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PUBLIC = ("/console/login", console_app.STATIC_PREFIX + "/")
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "same-origin"}
TITLES = {400: "Неверный запрос", 401: "Нужно войти", 403: "Нет доступа", 404: "Не найдено",
          405: "Так нельзя", 409: "Сейчас это сделать нельзя", 413: "Слишком большой запрос",
          429: "Слишком много попыток", 500: "Ошибка на сервере"}
EXPLAIN = {
    400: "В форме что-то заполнено неверно. Вернитесь назад и проверьте поля.",
    403: "У вашей роли нет права на это действие.",
    404: "Такой страницы или обращения нет, либо оно вне вашей области доступа.",
    405: "Этот адрес не принимает такой запрос.",
    409: "Обращение сейчас в состоянии, в котором этот шаг невозможен.",
    413: "Запрос больше допустимого размера.",
    429: "Подождите немного и попробуйте снова.",
    500: "Страница не открылась из-за ошибки в программе. Она записана в журнал; сообщите администратору.",
}
STEP_UP_TEXT = "Это действие требует подтверждения одноразовым кодом из приложения-аутентификатора."


def is_console(path: str) -> bool:
    return path == "/" or path == "/console" or path.startswith("/console/")


async def to_inbox(request: web.Request) -> web.Response:
    raise web.HTTPFound("/console/inbox")


def error_page(request: web.Request, status: int, detail: str | None = None) -> web.Response:
    console = console_app.of(request)
    return console.render(request, "error.html", {
        "status": status, "title": TITLES.get(status, "Ошибка"),
        "explain": EXPLAIN.get(status, "Запрос не выполнен."), "detail": detail}, status=status)


async def _csrf_ok(request: web.Request) -> bool:
    sent = request.headers.get(session.CSRF_HEADER)
    if sent is None and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        sent = (await request.post()).get(session.CSRF_FIELD)
    return session.csrf_matches(request, sent if isinstance(sent, str) else None)


async def _actor(request: web.Request):
    token = session.session_token(request)
    if not token or not token.isascii():
        return None
    return await console_app.of(request).run(lambda s: auth.resolve(s, token, via="console"))


async def _handle(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method == "POST" and not await _csrf_ok(request):
        return error_page(request, 403, "Форма устарела или отправлена не с этой страницы: обновите страницу.")
    if request.path.startswith(console_app.STATIC_PREFIX + "/"):
        return await handler(request)  # files from the package: no session to look up
    request[session.ACTOR] = await _actor(request)
    public = request.path.startswith(PUBLIC) or request.path in ("/", "/console", "/console/")
    if request[session.ACTOR] is None and not public:
        if request.method == "GET":
            raise web.HTTPSeeOther(f"/console/login?next={quote(request.path_qs, safe='')}")
        return error_page(request, 401, "Сеанс закончился: войдите снова.")
    return await handler(request)


@web.middleware
async def console_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not is_console(request.path):
        return await handler(request)
    try:
        response = await _handle(request, handler)
    except web.HTTPException as exc:
        if exc.status < 400:  # a redirect: made a plain response, so cookies and headers below stick
            response = web.Response(status=exc.status, headers=exc.headers)
        else:
            response = error_page(request, exc.status, exc.text if exc.content_type == "text/x-russian" else None)
    except access.StepUpRequired:
        response = error_page(request, 403, STEP_UP_TEXT)
    except NotFound:
        response = error_page(request, 404)
    except PermissionDenied as exc:
        response = error_page(request, 403, str(exc))
    except InvalidTransition as exc:
        response = error_page(request, 409, str(exc))
    except (OtklikError, ValueError) as exc:
        log.info("console request refused", extra={"path": request.path, "error": type(exc).__name__})
        response = error_page(request, 400)
    except (ConnectionResetError, TimeoutError, KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # noqa: BLE001 - a bug: logged (type only: no message text), a Russian page
        log.error("console page failed", extra={"path": request.path, "error": type(exc).__name__},
                  exc_info=True)
        response = error_page(request, 500)
    for key, value in HEADERS.items():
        response.headers.setdefault(key, value)
    if not request.path.startswith(console_app.STATIC_PREFIX):
        response.headers.setdefault("Cache-Control", "no-store")  # pages hold personal data
    session.remember_csrf(request, response)
    return response


def redirect(location: str) -> web.Response:
    """303 See Other: after a POST the browser GETs the next page (no resubmission on reload)."""
    return web.Response(status=303, headers={"Location": location})


def bad_input(message: str) -> web.HTTPBadRequest:
    """A 400 whose Russian message is shown on the error page."""
    return web.HTTPBadRequest(text=message, content_type="text/x-russian")
