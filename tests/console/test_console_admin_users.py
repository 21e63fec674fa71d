"""The admin manages users from the console, in a real browser: adds an executor (the password
shown once, on a page that is not cached), the executor logs in with it and sees the inbox; the
admin deactivates them and their open session ends; issuing recovery codes for a two-factor user;
a non-admin gets 403 on every one of these pages."""

from __future__ import annotations

import pyotp
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from otklik.api import auth
from storage.tables import AuditRow, UserRow

from .browser import PASSWORD, SHOTS, Person, Ui


@pytest.fixture
def admin(console_site) -> Person:
    with console_site.db.session() as s:
        secret = auth.create_user(s, "adm", "admin", password=PASSWORD)[2]
    return Person("adm", "admin", PASSWORD, secret)


def test_admin_adds_and_deactivates_an_executor(ui, browser, console_site, admin):
    ui.login(admin)
    ui.goto("/console/admin/users", "users")
    ui.page.get_by_label("Логин нового пользователя").fill("novikov")
    ui.page.get_by_label("Роль").select_option("executor")
    ui.page.get_by_label("Подразделение").select_option("dorogi")
    ui.page.get_by_label("Электронная почта (необязательно)").fill("novikov@example.org")
    with ui.page.expect_response(lambda r: r.url.endswith("/console/admin/users")
                                 and r.request.method == "POST") as created:
        ui.page.get_by_role("button", name="Создать пользователя").click()
    assert created.value.status == 200
    assert "no-store" in created.value.headers["cache-control"]
    ui.shot("created")
    password = ui.page.locator("#password").inner_text().strip()
    assert len(password) >= 12
    expect(ui.page.locator("#totp-secret")).to_have_count(0)  # an executor has no second factor
    with console_site.db.session() as s:
        row = s.execute(select(UserRow).where(UserRow.login == "novikov")).scalar_one()
        assert (row.role, row.department, row.email, row.active) == ("executor", "dorogi", "novikov@example.org", True)
        assert password not in row.password_hash
        audited = [a.action for a in s.execute(select(AuditRow).where(AuditRow.actor == "adm")).scalars()]
        assert "user_created" in audited

    # The new executor logs in, in a browser of their own, with the password shown.
    context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="ru-RU")
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        exe = Ui(page=page, base=console_site.url, shots_dir=SHOTS / "novikov")
        exe.login(Person("novikov", "executor", password, None))
        expect(page.locator("#inbox")).to_be_visible()

        # The admin deactivates them: the executor's next request lands on the login page.
        ui.goto("/console/admin/users", "users-again")
        expect(ui.page.locator("#u-novikov")).to_contain_text("dorogi")
        ui.page.get_by_role("button", name="Отключить: novikov").click()
        ui.page.wait_for_load_state()
        expect(ui.page.locator("#done-note")).to_contain_text("отключён")
        expect(ui.page.locator("#u-novikov")).to_contain_text("нет")
        exe.goto("/console/inbox", "after-deactivation")
        assert "/console/login" in page.url
        expect(page.get_by_label("Пароль")).to_be_visible()
    finally:
        context.close()
    assert not auth.login(console_site.db, "novikov", password, address="10.0.0.9").ok


def test_admin_issues_recovery_codes_and_a_taken_login_is_refused(ui, console_site, admin):
    ui.login(admin)
    ui.goto("/console/admin/users", "users")
    ui.page.get_by_role("button", name="Новые коды восстановления: appr").click()
    ui.page.wait_for_load_state()
    ui.shot("codes")
    codes = [c.strip() for c in ui.page.locator("#recovery-codes li").all_inner_texts()]
    assert len(codes) == 10
    appr = console_site.people["appr"]
    assert auth.login(console_site.db, "appr", appr.password, codes[0], address="10.0.0.8").ok
    # An approver needs two factors: the new user's page shows the secret, its URI and the codes.
    ui.goto("/console/admin/users", "users-again")
    ui.page.get_by_label("Логин нового пользователя").fill("soglas2")
    ui.page.get_by_label("Роль").select_option("approver")
    ui.page.get_by_role("button", name="Создать пользователя").click()
    ui.page.wait_for_load_state()
    ui.shot("approver-created")
    secret = ui.page.locator("#totp-secret").inner_text().strip()
    assert pyotp.parse_uri(ui.page.locator("#totp-uri").inner_text().strip()).secret == secret
    expect(ui.page.locator("#recovery-codes li")).to_have_count(10)
    # The same login again: a clear refusal, nothing changed.
    ui.goto("/console/admin/users", "users-third")
    ui.page.get_by_label("Логин нового пользователя").fill("exe")
    with ui.page.expect_response(lambda r: r.request.method == "POST") as refused:
        ui.page.get_by_role("button", name="Создать пользователя").click()
    assert refused.value.status == 409


def test_a_non_admin_is_refused(ui, console_site):
    ui.login(console_site.people["cur"])
    response = ui.goto("/console/admin/users", "users")
    assert response.status == 403
    csrf = ui.page.context.cookies()
    token = next(c["value"] for c in csrf if "csrf" in c["name"])
    for path in ("/console/admin/users", "/console/admin/users/exe/deactivate",
                 "/console/admin/users/exe/revoke", "/console/admin/users/appr/recovery-codes"):
        r = ui.page.request.post(console_site.url + path, form={"csrf": token, "login": "x2", "role": "admin"})
        assert r.status == 403, path
        assert "Форма устарела" not in r.text()  # refused by the service, not by the CSRF check
    with console_site.db.session() as s:
        refusals = [a.data["action"] for a in s.execute(select(AuditRow).where(AuditRow.actor == "cur",
                                                                                AuditRow.action == "refused")).scalars()]
        assert refusals.count("manage_directory") == 5  # the page and the four POSTs
        assert s.execute(select(UserRow).where(UserRow.login == "exe")).scalar_one().active
        assert s.execute(select(UserRow).where(UserRow.login == "x2")).scalar_one_or_none() is None
