"""Files on the case page in a real browser: the executor attaches a photo to the draft (the same
checks as the API's upload; a file that is not a photo is refused with a Russian 415 page and leaves
no draft), the page lists the answer's files with a thumbnail served by the access-checked console
route, and an executor of another department gets 404 for the file as for the case."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from storage.tables import AttachmentRow, DraftRow
from tests.console.browser import open_case

ANSWER = "Здравствуйте, Анна! Яму засыпали щебнем и заасфальтировали, фотография после ремонта приложена."


def photo(path: Path) -> Path:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(buf, "JPEG")
    path.write_bytes(buf.getvalue())
    return path


def test_draft_with_photo_listed_and_scoped(ui, console_site, tmp_path):
    db, people = console_site.db, console_site.people
    case_id = open_case(db, "Во дворе дома 5 яма", external_id="6:1", executors=["dorogi"])

    ui.login(people["exe"])
    ui.goto(f"/console/cases/{case_id}", "case-executor")
    not_photo = tmp_path / "script.html"
    not_photo.write_text("<script>alert(1)</script>", encoding="utf-8")
    ui.page.get_by_label("Текст").fill(ANSWER)
    ui.page.get_by_label("Фотографии к ответу", exact=False).set_input_files(str(not_photo))
    with ui.page.expect_navigation() as nav:
        ui.page.get_by_role("button", name="Отправить на согласование").click()
    assert nav.value.status == 415
    expect(ui.page.locator("main")).to_contain_text("Можно приложить фотографию")
    ui.shot("refused-file")
    with db.session() as s:
        assert s.execute(select(DraftRow).where(DraftRow.case_id == case_id)).first() is None
        assert s.execute(select(AttachmentRow).where(AttachmentRow.case_id == case_id)).first() is None

    ui.goto(f"/console/cases/{case_id}", "case-again")
    ui.page.get_by_label("Текст").fill(ANSWER)
    ui.page.get_by_label("Фотографии к ответу", exact=False).set_input_files(str(photo(tmp_path / "after.jpg")))
    ui.page.get_by_role("button", name="Отправить на согласование").click()
    ui.page.wait_for_load_state()
    ui.shot("draft-with-photo")
    thumb = ui.page.locator("#answer-files img")
    expect(thumb).to_have_count(1)
    assert ui.page.evaluate("(img) => img.naturalWidth", thumb.element_handle()) == 64  # served and decoded
    with db.session() as s:
        row = s.execute(select(AttachmentRow).where(AttachmentRow.case_id == case_id)).scalar_one()
        assert row.kind == "photo" and row.draft_id is not None
    ui.logout()

    ui.login(people["exe2"])
    response = ui.goto(f"/console/files/{row.id}", "file-out-of-scope")
    assert response.status == 404
