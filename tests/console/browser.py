"""Helpers for the console's browser tests: the console served from a thread (the daemon's app on
a seeded database), seeded people, and a page wrapper that saves a screenshot of every page visited.

Screenshots go to var/screenshots/<test name>/NN-<what>.png (git-ignored: test artifacts)."""

from __future__ import annotations

import asyncio
import os
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
from aiohttp import web

from otklik.api import auth
from otklik.demo.run import free_port
from otklik.services import cases
from router.classifier import Routing
from storage.tables import MessageRow

CHROMIUM = Path("/usr/bin/chromium")
# CI runs its two passes at once in one checkout: each names its own folder.
SHOTS = Path(os.environ.get("OTKLIK_TEST_SCREENSHOTS") or Path(__file__).resolve().parents[2] / "var" / "screenshots")
PASSWORD = "Kommunalnaya-zhaloba-17"
# login -> (role, department): two executors of different departments to test the scope.
PEOPLE = {"cur": ("curator", None), "exe": ("executor", "dorogi"), "exe2": ("executor", "zhkh"),
          "appr": ("approver", None)}


@dataclass
class Person:
    login: str
    role: str
    password: str
    totp_secret: str | None

    def code(self) -> str:
        return pyotp.TOTP(self.totp_secret).now() if self.totp_secret else ""


def seed_people(db) -> dict[str, Person]:
    out = {}
    with db.session() as s:
        for login, (role, dept) in PEOPLE.items():
            secret = auth.create_user(s, login, role, password=PASSWORD, department=dept)[2]
            out[login] = Person(login, role, PASSWORD, secret)
    return out


def open_case(db, text: str, *, external_id: str, executors: list[str] | None = None,
              topic_group: str = "Дороги", topic: str = "Ремонт дорог", importance: str = "normal",
              author: str = "Анна", days_ago: float = 0) -> int:
    """A citizen's message and its case, as the pipeline leaves them (routed when `executors`)."""
    at = datetime.now(UTC) - timedelta(days=days_ago)
    with db.session() as s:
        msg = MessageRow(source="tg", platform="telegram", external_id=external_id, author_id="9",
                         author_name=author, thread={"kind": "chat", "ids": {"chat_id": 1, "message_id": 1}},
                         text=text, created_at=at, stored_at=at, attachments=[], raw={}, processed=True)
        s.add(msg)
        s.flush()
        routing = Routing(topic_group=topic_group, topic=topic, confidence=0.9, importance=importance,
                          executors=executors or [], needs_manual=not executors)
        return cases.open_or_update(s, msg, routing, channel="social", profile_name="severny").id


# Every visible form control has a label (a <label for>, aria-label, or a button's own text).
UNLABELLED_JS = """() => Array.from(document.querySelectorAll('input, select, textarea, button'))
  .filter(el => el.type !== 'hidden')
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !(el.tagName === 'BUTTON' && el.textContent.trim()))
  .map(el => el.outerHTML.slice(0, 80))"""


class ServedApp:
    """An aiohttp app on 127.0.0.1:<free port>, its event loop in a background thread, so that
    synchronous Playwright can drive it from the test's thread."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.runner: web.AppRunner | None = None

    async def _start(self) -> None:
        self.runner = web.AppRunner(self.app, shutdown_timeout=1.0)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    def __enter__(self) -> ServedApp:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(30)
        return self

    async def _stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
        # Open event streams (the inbox's feed) end here, not with "Task was destroyed" at exit.
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    def __exit__(self, *exc) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@dataclass
class Ui:
    """A Playwright page on the console: `goto` and `shot` save a screenshot of each page."""

    page: object
    base: str
    shots_dir: Path
    taken: list[Path] = field(default_factory=list)

    def goto(self, path: str, what: str | None = None):
        response = self.page.goto(self.base + path)
        self.shot(what or path)
        return response

    def shot(self, what: str) -> Path:
        self.shots_dir.mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^a-z0-9]+", "-", what.lower()).strip("-") or "page"
        path = self.shots_dir / f"{len(self.taken) + 1:02d}-{slug}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        unlabelled = self.page.evaluate(UNLABELLED_JS)
        assert not unlabelled, f"controls without a label on {self.page.url}: {unlabelled}"
        return path

    def login(self, person: Person, *, code: str | None = None) -> None:
        self.goto("/console/login", "login")
        self.page.get_by_label("Логин").fill(person.login)
        self.page.get_by_label("Пароль").fill(person.password)
        self.page.get_by_label("Одноразовый код").fill(person.code() if code is None else code)
        self.page.get_by_role("button", name="Войти").click()
        self.page.wait_for_load_state()
        self.shot(f"after-login-{person.login}")

    def logout(self) -> None:
        self.page.get_by_role("button", name="Выйти").click()
        self.page.wait_for_load_state()
