"""`otklik cases attach ID FILE`: the executor adds a photo from a terminal (location removed unless
--keep-location), a file that is not one of ours is refused with a sentence in Russian and exit 2,
and an executor of another department is told the case does not exist."""

from __future__ import annotations

import json

from otklik.actor import Actor
from otklik.api import auth
from otklik.attachments.store import DiskStore
from otklik.services import cases
from storage.tables import AttachmentRow
from tests.otklik.files import gps_of, jpeg
from tests.otklik.test_cases_cli import PASSWORD, cli, login, open_case

CUR = Actor(login="cur", role="curator", via="cli")


def test_attach_from_the_terminal(db, database_url, tmp_path, monkeypatch):
    var = tmp_path / "var"
    monkeypatch.setenv("OTKLIK_VAR_DIR", str(var))  # inherited by the CLI processes
    with db.session() as s:
        case_id = open_case(s)
        auth.create_user(s, "exe", "executor", password=PASSWORD, department="dorogi")
        auth.create_user(s, "chuzhoy", "executor", password=PASSWORD, department="zhkh")
    with db.session() as s:
        cases.route(s, CUR, case_id, executors=["dorogi"])
    exe = login(database_url, tmp_path, "exe")
    other = login(database_url, tmp_path, "chuzhoy")
    photo = tmp_path / "яма.jpg"
    photo.write_bytes(jpeg(gps=True))
    r = cli(database_url, "attach", str(case_id), str(photo), session_file=exe)
    assert r.returncode == 0, r.stderr
    row = json.loads(r.stdout)
    assert row["filename"] == "яма.jpg" and row["kind"] == "photo" and "добавлен" in r.stderr
    with db.session() as s:
        key = s.get(AttachmentRow, row["id"]).sha256
    assert gps_of(DiskStore(var / "attachments").get(key)) == {}
    script = tmp_path / "photo.jpg"
    script.write_bytes(b"#!/bin/sh\necho pwned\n")
    r = cli(database_url, "attach", str(case_id), str(script), session_file=exe)
    assert r.returncode == 2 and "файл не принят (415)" in r.stderr and "Traceback" not in r.stderr
    r = cli(database_url, "attach", str(case_id), str(tmp_path / "нет.jpg"), session_file=exe)
    assert r.returncode == 2 and "не удалось прочитать файл" in r.stderr
    r = cli(database_url, "attach", str(case_id), str(photo), session_file=other)
    assert r.returncode != 0 and "Traceback" not in r.stderr
