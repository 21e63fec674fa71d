"""The console's foundation in a real browser: logging in with the second factor, the session
cookie's flags, CSRF refusal, security headers, Russian error pages, the inbox's scope, filters
and its live feed (a new case appears without reloading)."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect

from tests.console.browser import SHOTS, Ui, open_case


def test_login_needs_the_second_factor_and_sets_a_strict_cookie(ui, console_site):
    cur = console_site.people["cur"]
    ui.login(cur, code="000000")
    expect(ui.page.get_by_role("alert")).to_contain_text("Неверный логин, пароль или одноразовый код")
    ui.login(cur)
    expect(ui.page.get_by_role("heading", name="Входящие")).to_be_visible()
    cookie = next(c for c in ui.page.context.cookies() if c["name"] == "otklik_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and not cookie["secure"]  # plain HTTP here
    ui.logout()
    expect(ui.page.get_by_role("heading", name="Вход в консоль")).to_be_visible()
    ui.goto("/console/inbox", "inbox-after-logout")  # the session is gone: back to the login page
    expect(ui.page.get_by_role("heading", name="Вход в консоль")).to_be_visible()


def test_headers_csrf_and_error_pages(console_site):
    with httpx.Client(base_url=console_site.url, follow_redirects=False) as c:
        page = c.get("/console/login")
        assert page.status_code == 200 and "Вход в консоль" in page.text
        csp = page.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "unsafe-inline" not in csp
        assert page.headers["X-Frame-Options"] == "DENY"
        assert "<script>" not in page.text and "style=" not in page.text  # nothing inline
        # A POST without the CSRF token is refused before the login is even tried.
        r = c.post("/console/login", data={"login": "cur", "password": "x"})
        assert r.status_code == 403 and "Форма устарела" in r.text
        assert c.get("/console/inbox").status_code == 303  # not logged in: to the login page
        assert c.get("/console/nope").status_code == 303
        token = c.cookies["otklik_csrf"]
        r = c.post("/console/login", data={"login": "exe", "password": console_site.people["exe"].password,
                                           "csrf": token})
        assert r.status_code == 303 and r.headers["Location"] == "/console/inbox"
        missing = c.get("/console/nope")
        assert missing.status_code == 404 and "Не найдено" in missing.text


def test_inbox_scope_order_and_live_feed(ui, console_site):
    db = console_site.db
    far = open_case(db, "Яма во дворе дома 3", external_id="1:1", executors=["dorogi"])
    other = open_case(db, "Нет горячей воды в доме 5", external_id="1:2", executors=["zhkh"],
                      topic_group="ЖКХ", topic="Водоснабжение", days_ago=20)  # long overdue
    ui.login(console_site.people["exe"])
    rows = ui.page.locator("#inbox tbody tr")
    expect(rows).to_have_count(1)  # the roads executor sees the roads case only
    expect(rows.first).to_contain_text(f"№ {far}")
    # A new case of the department appears without a reload.
    ui.page.evaluate("window.__marker = 1")
    new = open_case(db, "Провал асфальта на улице Мира, опасно", external_id="1:3", executors=["dorogi"],
                    importance="high")
    expect(ui.page.locator(f"#case-{new}")).to_be_visible(timeout=10_000)
    assert ui.page.evaluate("window.__marker") == 1  # the same page: no reload happened
    ui.shot("inbox-live-row")
    ui.logout()
    ui.login(console_site.people["cur"])
    expect(ui.page.locator("#inbox tbody tr")).to_have_count(3)
    # The nearest deadline first: the overdue case, marked late.
    first = ui.page.locator("#inbox tbody tr").first
    expect(first).to_contain_text(f"№ {other}")
    expect(first.locator(".timer")).to_have_class("timer late")
    expect(first.locator(".timer")).to_contain_text("просрочено на")
    ui.page.get_by_label("Группа тем").select_option("ЖКХ")
    ui.page.get_by_role("button", name="Показать").click()
    expect(ui.page.locator("#inbox tbody tr")).to_have_count(1)
    expect(ui.page.locator("#inbox tbody tr").first).to_contain_text(f"№ {other}")
    ui.shot("inbox-filtered")


def test_keyboard_login_and_phone_width(browser, console_site, request):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="ru-RU", is_mobile=True)
    page = context.new_page()
    ui = Ui(page=page, base=console_site.url, shots_dir=SHOTS / request.node.name)
    cur = console_site.people["cur"]
    ui.goto("/console/login", "phone-login")
    assert page.evaluate("document.activeElement.id") == "f-login"  # focused on arrival
    page.keyboard.type(cur.login)
    page.keyboard.press("Tab")
    page.keyboard.type(cur.password)
    page.keyboard.press("Tab")
    page.keyboard.type(cur.code())
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    expect(page.get_by_role("heading", name="Входящие")).to_be_visible()
    for path in ("/console/inbox", "/console/search?q=фонарь"):
        ui.goto(path, "phone-" + path)
        overflow = page.evaluate("document.documentElement.scrollWidth") - 390
        assert overflow <= 0, f"{path} scrolls sideways at phone width by {overflow}px"
    context.close()


def test_bad_input_is_a_russian_4xx_never_a_5xx(console_site):
    case_id = open_case(console_site.db, "Не убран снег у подъезда", external_id="9:1", executors=["dorogi"])
    cur = console_site.people["cur"]
    with httpx.Client(base_url=console_site.url, follow_redirects=False) as c:
        c.get("/console/login")
        csrf = c.cookies["otklik_csrf"]
        r = c.post("/console/login", data={"login": cur.login, "password": cur.password, "otp": cur.code(),
                                           "csrf": csrf})
        assert r.status_code == 303
        checks = [
            (c.get("/console/cases/99999999999999999999"), 404),
            (c.get("/console/cases/abc"), 404),
            (c.get(f"/console/cases/{case_id + 1000}"), 404),
            (c.post(f"/console/cases/{case_id}/route", data={"csrf": csrf}), 400),  # no executor chosen
            (c.post(f"/console/cases/{case_id}/route", data={"csrf": csrf, "executors": "nobody"}), 409),
            (c.post(f"/console/cases/{case_id}/draft", data={"csrf": csrf, "text": "x" * 20_001}), 400),
            (c.post(f"/console/cases/{case_id}/approve", data={"csrf": csrf, "otp": "123"}), 403),
            (c.post(f"/console/cases/{case_id}/quality", content=b"{", headers={"X-CSRF-Token": csrf,
                                                                             "Content-Type": "application/json"}), 400),
            (c.get("/console/search?from=31.12.2026"), 400),
        ]
        for response, status in checks:
            assert response.status_code == status, (response.request.url, response.status_code)
            assert "<html lang=\"ru\">" in response.text
