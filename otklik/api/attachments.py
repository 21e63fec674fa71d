"""Attachments in the API: `POST /api/cases/{id}/attachments` (multipart: `file`, optional
`keep_location`), `GET /api/cases/{id}/attachments`, `GET /api/cases/{id}/message/attachments`,
`GET /api/attachments/{id}` (the bytes), `DELETE /api/attachments/{id}`.

The handler only reads the upload, streaming and stopping at the size limit (413); what the file
is, whether it is taken (415/422) and who may add it is decided in otklik/services/attachments.py.
"""

from __future__ import annotations

import json
from urllib.parse import quote

from aiohttp import web

from otklik.api.routes import Api, _fail, store_unavailable
from otklik.attachments import checks
from otklik.services import attachments as files

MAX_ID = 2**63 - 1
CHUNK = 256 * 1024


def _too_large(message: str, size: int) -> web.HTTPException:
    return web.HTTPRequestEntityTooLarge(max_size=checks.MAX_UPLOAD, actual_size=size,
                                         text=json.dumps({"error": message}, ensure_ascii=False),
                                         content_type="application/json")


def _id(request: web.Request) -> int:
    value = int(request.match_info["id"])
    if value > MAX_ID:
        raise _fail(web.HTTPNotFound, f"no {request.match_info['id']}")
    return value


async def read_upload(request: web.Request) -> tuple[bytes, str | None, bool]:
    """(the file's bytes, its name as sent, keep_location) from a multipart/form-data body."""
    if request.content_length is not None and request.content_length > checks.MAX_UPLOAD + 64 * 1024:
        raise _too_large(f"the upload is larger than {checks.MAX_UPLOAD // checks.MB} MB", request.content_length)
    if not request.content_type.startswith("multipart/form-data"):
        raise _fail(web.HTTPUnsupportedMediaType, "send the file as multipart/form-data in the field 'file'")
    data: bytes | None = None
    name: str | None = None
    keep_location = False
    try:
        reader = await request.multipart()
        async for part in reader:
            if part.name == "keep_location":
                keep_location = (await part.text()).strip().lower() in ("1", "true", "yes", "on")
            elif part.name == "file" and data is None:
                name = part.filename
                buf = bytearray()
                while chunk := await part.read_chunk(CHUNK):
                    buf += chunk
                    if len(buf) > checks.MAX_UPLOAD:
                        raise _too_large(f"the file is larger than {checks.MAX_UPLOAD // checks.MB} MB", len(buf))
                data = bytes(buf)
            else:
                await part.release()
    except (ValueError, AssertionError, KeyError, UnicodeDecodeError):
        raise _fail(web.HTTPBadRequest, "the multipart body is malformed") from None
    if data is None:
        raise _fail(web.HTTPBadRequest, "no field 'file' in the form")
    return data, name, keep_location


class AttachmentsApi:
    def __init__(self, api: Api) -> None:
        self.api = api

    async def upload(self, request: web.Request) -> web.Response:
        actor = await self.api.user(request)
        case_id = _id(request)
        data, name, keep_location = await read_upload(request)
        try:
            row = await self.api._db(lambda s: files.add(s, actor, case_id, data, name, keep_location=keep_location))
        except checks.Rejected as exc:
            if exc.status == 413:
                raise _too_large(str(exc), len(data)) from None
            status = web.HTTPUnsupportedMediaType if exc.status == 415 else web.HTTPUnprocessableEntity
            raise _fail(status, str(exc)) from None
        return web.json_response(row, status=201)

    async def listing(self, request: web.Request) -> web.Response:
        actor = await self.api.user(request)
        case_id = _id(request)
        return web.json_response(await self.api._db(lambda s: files.listing(s, actor, case_id)))

    async def message_files(self, request: web.Request) -> web.Response:
        actor = await self.api.user(request)
        case_id = _id(request)
        return web.json_response({"attachments": await self.api._db(lambda s: files.message_files(s, actor, case_id))})

    async def download(self, request: web.Request) -> web.Response:
        actor = await self.api.user(request)
        attachment_id = _id(request)
        meta, data = await self.api._db(lambda s: files.download(s, actor, attachment_id))
        # Served as a download with its sniffed type, never rendered inline: a file from outside
        # must not run as a page of ours.
        headers = {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(meta['filename'])}",
                   "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"}
        return web.Response(body=data, content_type=meta["mime"], headers=headers)

    async def remove(self, request: web.Request) -> web.Response:
        actor = await self.api.user(request)
        attachment_id = _id(request)
        await self.api._db(lambda s: files.remove(s, actor, attachment_id))
        return web.json_response({"ok": True})


async def public_file(request: web.Request) -> web.Response:
    """A stored file by its signed link (otklik.attachments.links), for the platforms that fetch an
    answer's photos by URL. No session: the signature is the permission; a wrong or expired one is
    404, as for no file."""
    import asyncio

    from otklik.attachments import links
    from otklik.attachments.store import StoreUnavailable, default_store

    key, expires, sig = request.match_info["key"], request.match_info["expires"], request.match_info["sig"]
    secret = await asyncio.to_thread(links.installation_secret)
    if not links.valid(secret, key, expires, sig):
        raise _fail(web.HTTPNotFound, "no such file")
    try:
        data = await asyncio.to_thread(default_store().get, key)
    except FileNotFoundError:
        raise _fail(web.HTTPNotFound, "no such file") from None
    except StoreUnavailable as exc:
        raise store_unavailable(exc) from None
    mime = checks.sniff(data)
    return web.Response(body=data, content_type=mime[0] if mime else "application/octet-stream",
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "public, max-age=86400"})


def setup(app: web.Application, api: Api) -> None:
    h = AttachmentsApi(api)
    r = app.router
    r.add_post("/api/cases/{id:\\d+}/attachments", h.upload)
    r.add_get("/api/cases/{id:\\d+}/attachments", h.listing)
    r.add_get("/api/cases/{id:\\d+}/message/attachments", h.message_files)
    r.add_get("/api/attachments/{id:\\d+}", h.download)
    r.add_delete("/api/attachments/{id:\\d+}", h.remove)
    r.add_get("/files/{key:[0-9a-f]{64}}/{expires:\\d+}/{sig:[0-9a-f]{32}}/{name}", public_file)
