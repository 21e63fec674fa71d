"""`otklik run` with `[staff_bot]` on: the daemon polls both staff bots (Telegram and MAX emulators)
under leases of their own, links the people who send `/start CODE`, answers them, and keeps the
tokens, chat ids and codes out of its logs; SIGTERM still exits cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx

from otklik import services
from otklik.api import auth
from otklik.demo.run import free_port
from otklik.services import access, staff_links
from otklik.staffbot import commands
from sandbox.max.emulator import MaxEmulator
from sandbox.max.staff import STAFF_TOKEN as MAX_STAFF_TOKEN
from sandbox.runner import serving
from sandbox.telegram.emulator import TelegramEmulator
from sandbox.telegram.staff import STAFF_TOKEN as TG_STAFF_TOKEN
from tests.otklik.test_daemon import wait_for


def test_the_daemon_links_staff_chats_on_both_platforms(tmp_path, db, database_url, redis_url):
    with db.session() as s:
        user, _, _ = auth.create_user(s, "ivanova", "executor", by="test")
        actor = access.actor_of(user)
    tg_code = services.run(db, lambda s: staff_links.request_code(s, actor, "telegram"))["code"]
    max_code = services.run(db, lambda s: staff_links.request_code(s, actor, "max"))["code"]
    tg, mx = TelegramEmulator(long_poll_cap=0.5), MaxEmulator(long_poll_cap=0.5)
    with serving(tg) as tg_server, serving(mx) as mx_server:
        port = free_port()
        config = tmp_path / "otklik.toml"
        config.write_text(f'http_port = {port}\n[staff_bot]\npoll_timeout = 1\n'
                          f'telegram = true\ntelegram_token = "env:STAFF_TG"\ntelegram_base_url = "{tg_server.url}"\n'
                          f'max = true\nmax_token = "env:STAFF_MAX"\nmax_base_url = "{mx_server.url}"\n',
                          encoding="utf-8")
        env = {**os.environ, "OTKLIK_CONFIG": str(config), "OTKLIK_VAR_DIR": str(tmp_path),
               "DATABASE_URL": database_url, "REDIS_URL": redis_url,
               "STAFF_TG": TG_STAFF_TOKEN, "STAFF_MAX": MAX_STAFF_TOKEN}
        proc = subprocess.Popen([sys.executable, "-m", "otklik", "run"], env=env, stderr=subprocess.PIPE, text=True)
        try:
            api = f"http://127.0.0.1:{port}"
            runs = wait_for(lambda: {"staffbot:telegram", "staffbot:max"}
                            <= set(httpx.get(f"{api}/healthz").json().get("ha", {}).get("runs", [])))
            assert runs
            tg_server.call(tg.staff.write, 4242, f"/start {tg_code}")
            mx_server.call(mx.staff.write, 31, f"/start {max_code}")
            wait_for(lambda: tg_server.call(tg.staff.sent_to, 4242) and mx_server.call(mx.staff.sent_to, 31))
            with db.session() as s:
                assert staff_links.chat_of(s, actor.user_id, "telegram") == "4242"
                assert staff_links.chat_of(s, actor.user_id, "max") == "31"
            assert [m["plain"] for m in tg_server.call(tg.staff.sent_to, 4242)] == [commands.LINKED]
            assert [m["plain"] for m in mx_server.call(mx.staff.sent_to, 31)] == [commands.LINKED]
            assert tg.replies == [] and mx.replies == []  # the citizens' bots were not touched
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
        logs = proc.stderr.read()
    assert "Traceback" not in logs
    for private in (TG_STAFF_TOKEN, MAX_STAFF_TOKEN, "4242", tg_code, max_code):
        assert private not in logs
