"""Citizens' own photos: fetched from their platform's URLs through the source's client, checked like
our uploads (the EXIF location removed), stored and listed with the case for the executor; a refused
file is remembered and not fetched again, a server error is retried on the next pass."""

from __future__ import annotations

import http.server
import threading
from datetime import UTC, datetime
from types import SimpleNamespace

import httpx
import pytest

from otklik import services
from otklik.actor import Actor
from otklik.attachments.citizen import CitizenFiles
from otklik.attachments.store import default_store
from otklik.services import attachments as files
from otklik.services import cases
from otklik.settings import get_settings
from router.classifier import Router
from storage.tables import AttachmentRow, MessageRow
from tests.otklik.files import gps_of, jpeg

CUR = Actor(login="cur", role="curator", via="cli")
EXE = Actor(login="exe", role="executor", department="dorogi", via="cli")
OTHER = Actor(login="other", role="executor", department="zhkh", via="cli")
PHOTO = jpeg(gps=True)
SERVED = {"/p/yama.jpg": (200, PHOTO, "image/jpeg"), "/p/virus.jpg": (200, b"MZ\x90\x00evil", "image/jpeg"),
          "/p/gone.jpg": (404, b"", "text/plain"), "/p/busy.jpg": (503, b"", "text/plain")}
hits: list[str] = []


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the stdlib's name
        hits.append(self.path)
        status, body, ctype = SERVED.get(self.path, (404, b"", "text/plain"))
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def site(tmp_path, monkeypatch):
    (tmp_path / "otklik.toml").write_text('profile = "severny"\n', encoding="utf-8")
    monkeypatch.setenv("OTKLIK_CONFIG", str(tmp_path / "otklik.toml"))
    monkeypatch.setenv("OTKLIK_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hits.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    get_settings.cache_clear()


async def test_a_citizens_photos_are_fetched_stored_without_location_and_shown_to_the_executor(db, site):
    urls = [f"{site}{p}" for p in SERVED]
    with db.session() as s:
        msg = MessageRow(source="vk_main", platform="vk", external_id="c1", author_id="9", author_name="Анна",
                         thread={"kind": "wall", "ids": {}}, text="Яма у дома 5, фото прилагаю",
                         created_at=datetime.now(UTC), raw={}, processed=True,
                         attachments=[{"type": "photo", "url": u} for u in urls] + [{"type": "sticker", "id": "1"}])
        s.add(msg)
        s.flush()
        routing = Router.load().route(msg.text).model_copy(update={"needs_manual": True})
        case_id = cases.open_or_update(s, msg, routing, channel="social", profile_name="severny").id
        cases.route(s, CUR, case_id, executors=["dorogi"])
    async with httpx.AsyncClient(timeout=10) as client:
        conn = SimpleNamespace(http=client, config=SimpleNamespace(platform="vk"), file_url=None)
        fetcher = CitizenFiles(db, {"vk_main": conn})
        await fetcher.step()
        first = sorted(hits)
        await fetcher.step()  # the refused ones are not fetched again; the busy one is
    assert first == sorted(SERVED)
    assert sorted(hits[len(first):]) == ["/p/busy.jpg"]
    shown = services.run(db, lambda s: files.message_files(s, EXE, case_id))
    assert [a["filename"] for a in shown] == ["yama.jpg"] and shown[0]["origin"] == "citizen"
    meta, data = services.run(db, lambda s: files.download(s, EXE, shown[0]["id"]))
    assert gps_of(data) == {} and gps_of(PHOTO)  # the citizen's location is not kept
    assert default_store().get(_sha(db, shown[0]["id"])) == data
    with pytest.raises(Exception, match="no case"):
        services.run(db, lambda s: files.message_files(s, OTHER, case_id))
    with db.session() as s:
        refused = {r.source_url.rsplit("/", 1)[-1]: r.removed_by for r in s.query(AttachmentRow)
                   if r.removed_at is not None}
    assert refused.keys() == {"virus.jpg", "gone.jpg"}
    assert refused["virus.jpg"].startswith("refused: 415") and "404" in refused["gone.jpg"]


def _sha(db, attachment_id: int) -> str:
    with db.session() as s:
        return s.get(AttachmentRow, attachment_id).sha256


async def test_a_telegram_photo_is_fetched_through_get_file_and_the_token_is_never_stored(db, site):
    from connectors.base import SourceConfig
    from connectors.telegram.connector import TelegramConnector
    from sandbox.registry import emulator_class
    from sandbox.runner import serving

    emulator = emulator_class("telegram")()
    with serving(emulator) as tg:
        async with httpx.AsyncClient(timeout=10) as client:
            conn = TelegramConnector(SourceConfig(name="tg", platform="telegram", base_url=tg.url,
                                                  secrets=emulator.demo_secrets(), options={"poll_timeout": 0}),
                                     client=client)
            tg.call(emulator.inject, {"text": "Яма, фото прилагаю", "author_id": 701, "photo": True})
            [msg] = (await conn.fetch(None)).messages
            file_id = msg.attachments[0].id
            emulator.citizen_files[file_id] = PHOTO
            with db.session() as s:
                row = MessageRow(source="tg", platform="telegram", external_id=msg.external_id,
                                 author_id=msg.author.id, thread=msg.thread.model_dump(), text=msg.text,
                                 created_at=msg.created_at, raw={}, processed=True,
                                 attachments=[a.model_dump() for a in msg.attachments])
                s.add(row)
                s.flush()
                routing = Router.load().route(row.text).model_copy(update={"needs_manual": True})
                case_id = cases.open_or_update(s, row, routing, channel="social", profile_name="severny").id
            await CitizenFiles(db, {"tg": conn}).step()
    shown = services.run(db, lambda s: files.message_files(s, CUR, case_id))
    assert len(shown) == 1 and shown[0]["kind"] == "photo"
    _, data = services.run(db, lambda s: files.download(s, CUR, shown[0]["id"]))
    assert gps_of(data) == {}
    with db.session() as s:
        stored = s.get(AttachmentRow, shown[0]["id"]).source_url
    token = emulator.demo_secrets()["token"]
    assert stored == f"file-id:{file_id}" and token not in stored
