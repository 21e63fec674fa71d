"""The inbox: cases in the actor's scope, nearest deadline first, with SLA timers and filters; new
cases arrive over Server-Sent Events (static/inbox.js inserts the rows the server renders)."""

from __future__ import annotations

import asyncio
import functools
import json
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web

from otklik.api import auth
from otklik.console import app as console_app
from otklik.console import labels, session
from otklik.services import inbox

FEED_INTERVAL = 0.5  # seconds between looks for new cases: a new message shows within about a second
RECHECK_SESSION = 30.0  # a logged-out or expired session ends its stream within this many seconds
MAX_PAGE = 1000  # deeper pages are reached by narrowing the filters (an offset this far is slow)
FILTER_KEYS = ("state", "importance", "topic_group", "department", "source")


def filters_of(request: web.Request) -> inbox.Filters:
    return inbox.Filters(**{k: (request.query.get(k) or None) for k in FILTER_KEYS})


async def page(request: web.Request) -> web.Response:
    console, actor = console_app.of(request), request[session.ACTOR]
    f = filters_of(request)
    page_no = page_of(request)
    # One row more than a page: whether there is a next page, without counting every case in scope.
    rows, options, newest = await console.run(lambda s: (
        inbox.listing(s, actor, f, limit=inbox.PAGE + 1, offset=(page_no - 1) * inbox.PAGE),
        inbox.choices(s, actor), inbox.newest_id(s, actor)))
    has_next = len(rows) > inbox.PAGE
    query = {k: v for k, v in request.query.items() if k in FILTER_KEYS and v}
    return console.render(request, "inbox.html", {
        "rows": rows[:inbox.PAGE], "options": options, "filters": f, "newest": newest, "labels": labels,
        "query": urlencode(query), "page": page_no,
        "prev_url": f"/console/inbox?{urlencode({**query, 'page': page_no - 1})}" if page_no > 1 else None,
        "next_url": f"/console/inbox?{urlencode({**query, 'page': page_no + 1})}" if has_next else None})


def page_of(request: web.Request) -> int:
    """The page number asked for (1 for anything that is not a number from 1 to MAX_PAGE)."""
    try:
        n = int(request.query.get("page", "1"))
    except ValueError:
        return 1
    return n if 1 <= n <= MAX_PAGE else 1


async def events(request: web.Request) -> web.StreamResponse:
    """text/event-stream: one `case` event per new case in scope matching the filters, its data the
    rendered table row. `after` is the newest id the page showed."""
    console, actor = console_app.of(request), request[session.ACTOR]
    f = filters_of(request)
    try:
        last = max(0, int(request.query.get("after", "0")))
    except ValueError:
        last = 0
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                           "X-Accel-Buffering": "no"})
    await response.prepare(request)
    try:
        await _feed(request, response, console, actor, f, last)
    except ConnectionResetError:
        pass  # the tab was closed or navigated away: the stream simply ends
    return response


async def _feed(request: web.Request, response: web.StreamResponse, console, actor, f, last: int) -> None:
    token = session.session_token(request)
    await response.write(b"retry: 2000\n\n")
    env = aiohttp_jinja2.get_env(request.app)
    row_template = env.get_template("_inbox_row.html")
    since_check = 0.0
    while True:
        if since_check >= RECHECK_SESSION:
            since_check = 0.0
            if await console.run(lambda s: auth.resolve(s, token, via="console")) is None:
                await response.write(b"event: ended\ndata: {}\n\n")
                break
        rows = await console.run(functools.partial(inbox.listing, actor=actor, filters=f, after_id=last,
                                                   limit=inbox.FEED_LIMIT))
        for row in sorted(rows, key=lambda r: r["id"]):
            html = row_template.render(row=row, labels=labels, fresh=True)
            data = json.dumps({"id": row["id"], "seconds_left": row["seconds_left"], "html": html},
                              ensure_ascii=False)
            await response.write(f"event: case\ndata: {data}\n\n".encode())
            last = max(last, row["id"])
        if not rows and since_check % 10 < FEED_INTERVAL:
            await response.write(b": ping\n\n")  # a closed tab shows up as a failed write, and the loop ends
        await asyncio.sleep(FEED_INTERVAL)
        since_check += FEED_INTERVAL


def setup(router: web.UrlDispatcher) -> None:
    router.add_get("/console/inbox", page)
    router.add_get("/console/inbox/events", events)
