"""Fixtures for the console's browser tests (real headless Chromium through Playwright).

- `console_site`: the daemon's HTTP app (API and console) on a fresh migrated database with the
  people of browser.PEOPLE, served from a thread; `.url`, `.db`, `.people`.
- `browser`: one Chromium for the session, Debian's /usr/bin/chromium (.ci/run installs it).
- `ui`: a new browser context at 1280x720 on the console, screenshots under var/screenshots/<test>.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from cryptography.fernet import Fernet

from otklik import http
from tests.console.browser import CHROMIUM, SHOTS, Person, ServedApp, Ui, seed_people
from tests.otklik.doubles import AppDaemon


@pytest.fixture(autouse=True)
def _secret_key(monkeypatch):
    monkeypatch.setenv("OTKLIK_SECRET_KEY", Fernet.generate_key().decode())


@dataclass
class Site:
    url: str
    db: object
    people: dict[str, Person]
    var_dir: object


@pytest.fixture
def console_site(db, tmp_path, monkeypatch):
    from otklik.settings import get_settings

    monkeypatch.setenv("OTKLIK_VAR_DIR", str(tmp_path))  # the router's corrections file, key files
    get_settings.cache_clear()
    people = seed_people(db)
    with ServedApp(http.build_app(AppDaemon(db))) as served:
        yield Site(url=served.url, db=db, people=people, var_dir=tmp_path)
    get_settings.cache_clear()


# Module scope, not session: while sync Playwright runs, its event loop is the thread's running
# loop, and every async test after it (pytest-asyncio) would fail with "Runner.run() cannot be
# called from a running event loop". Closing it after each module lets the rest of the suite run.
@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium chromium-driver (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def ui(browser, console_site, request):
    context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="ru-RU")
    page = context.new_page()
    page.set_default_timeout(15_000)
    name = re.sub(r"[^A-Za-z0-9_]+", "-", request.node.name)
    yield Ui(page=page, base=console_site.url, shots_dir=SHOTS / name)
    context.close()
