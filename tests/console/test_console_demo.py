"""`otklik demo` serves the console: it prints the address and the people's logins when it starts,
a person logs in (second factor) and sees the cases the simulated traffic brings, and
--summary-json carries the same under "console"."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pyotp
from playwright.sync_api import expect

from tests.console.browser import SHOTS, Person, Ui


def test_demo_prints_the_console_and_a_person_works_in_it(browser, request):
    var = Path(tempfile.mkdtemp(prefix="otk-c")) / "var"  # short: the embedded Redis socket lives here
    summary_path = var.parent / "summary.json"
    demo = subprocess.Popen([sys.executable, "-m", "otklik", "demo", "--duration", "15", "--rate", "2", "--quiet",
                             "--var-dir", str(var), "--summary-json", str(summary_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(demo.stderr), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while not any("console_approver" in line for line in lines) and time.monotonic() < deadline:
            assert demo.poll() is None, "".join(lines)[-2000:]
            time.sleep(0.2)
        text = "".join(lines)
        url = re.search(r"Консоль: (\S+)", text).group(1)
        secret = re.search(r"console_curator, секрет TOTP (\w+)", text).group(1)
        password = re.search(r"пароль у всех: (\S+)\)", text).group(1)
        context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="ru-RU")
        page = context.new_page()
        page.set_default_timeout(30_000)
        ui = Ui(page=page, base=url.rstrip("/").removesuffix("/console"), shots_dir=SHOTS / request.node.name)
        ui.login(Person("console_curator", "curator", password, secret))
        expect(page.get_by_role("heading", name="Входящие")).to_be_visible()
        expect(page.locator("#inbox tbody tr").first).to_be_visible(timeout=60_000)  # the traffic's cases
        ui.shot("demo-inbox")
        context.close()
        assert demo.wait(240) == 0, "".join(lines)[-2000:]
    finally:
        if demo.poll() is None:
            demo.terminate()
            demo.wait(60)
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    console = summary["console"]
    assert console["url"] == url
    assert {u["role"] for u in console["users"]} == {"curator", "executor", "approver"}
    for user in console["users"]:
        assert set(user) >= {"login", "password", "totp_secret", "role"}
        if user["role"] != "executor":
            assert pyotp.TOTP(user["totp_secret"]).now().isdigit()
