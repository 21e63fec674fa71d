"""Photo uploads as OK does them: `photosV2.getUploadUrl` (REST, signed) reserves photo ids and
gives an upload URL; the Bot API's `GET /graph/me/fileUploadUrl?type=IMAGE` gives one for a chat.
The photos are POSTed there as multipart (`pic1`, `pic2`, …) and the answer is
`{"photos": {<photo id>: {"token": …}}}`; the token then names the photo in a comment's
`attachments` (`[{"type": "photo", "list": [{"id": token}]}]`, the media shape of mediatopics) or a
chat message's (`{"type": "IMAGE", "payload": {"token": …}}`). The upload server is this emulator
(`/_ok_upload/<id>`); the bytes are kept by SHA-256 in `files`, and every used token resolves to the
photo it names, so a test can compare what arrived with what was sent.
A document for a chat: `fileUploadUrl?type=FILE` answers the URL and the token at once; the file is
POSTed there (multipart `file`) and named `{"type": "FILE", "payload": {"token": …}}`.
Assumptions (no published capture): the error answer of the upload server, its answer to a FILE
upload (`{"success": true}`), and that a token names one file once (a second post with the same
token is refused).
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from aiohttp import web

from sandbox.ok.rest import OkError
from sandbox.ok.world import GROUP_ID, PIC

MAX_PHOTOS = 10
TTL_MS = 24 * 3600 * 1000


class Uploads:
    def __init__(self, new_id) -> None:
        self.new_id = new_id
        self.slots: dict[str, list[str]] = {}  # upload id -> the photo ids reserved for it
        self.file_slots: dict[str, str] = {}  # upload id -> the token a FILE upload will be named by
        self.tokens: dict[str, dict[str, Any]] = {}  # token -> the uploaded photo (not yet used)
        self.used: dict[str, dict[str, Any]] = {}  # token -> the photo, once a post named it
        self.files: dict[str, bytes] = {}  # sha256 -> bytes
        self.uploads = 0  # upload requests that stored at least one photo

    def slot(self, base: str, count: int) -> dict[str, Any]:
        upload_id = self.new_id()
        ids = [base64.b64encode(f"{upload_id}:{n}".encode()).decode() for n in range(count)]
        self.slots[upload_id] = ids
        return {"upload_url": f"{base}/_ok_upload/{upload_id}", "photo_ids": ids, "expires_ms": TTL_MS,
                "ttl_ms": TTL_MS}

    def file_slot(self, base: str) -> dict[str, Any]:
        upload_id, token = self.new_id(), self.new_id() + self.new_id()
        self.file_slots[upload_id] = token
        return {"url": f"{base}/_ok_upload/{upload_id}", "token": token}

    async def _receive_file(self, request: web.Request, token: str) -> web.Response:
        field = (await request.post()).get("file")
        if not isinstance(field, web.FileField):
            return web.json_response(OkError(100, "Expected a file").body())
        data = field.file.read()
        digest = hashlib.sha256(data).hexdigest()
        self.files[digest] = data
        self.tokens[token] = {"photo_id": token[:12], "name": field.filename, "size": len(data), "sha256": digest,
                              "kind": "FILE"}
        self.file_slots.pop(request.match_info["id"], None)
        self.uploads += 1
        return web.json_response({"success": True})

    async def receive(self, request: web.Request) -> web.Response:
        if (token := self.file_slots.get(request.match_info["id"])) is not None:
            return await self._receive_file(request, token)
        ids = self.slots.get(request.match_info["id"])
        if ids is None:
            return web.json_response(OkError(300, "Upload URL not found or expired").body())
        form = await request.post()
        files = [v for _, v in sorted(form.items(), key=lambda kv: (len(kv[0]), kv[0])) if isinstance(v, web.FileField)]
        if not files or len(files) > len(ids):
            return web.json_response(OkError(100, f"Expected 1 to {len(ids)} files").body())
        photos = {}
        for photo_id, field in zip(ids, files, strict=False):
            data = field.file.read()
            digest = hashlib.sha256(data).hexdigest()
            self.files[digest] = data
            token = self.new_id() + self.new_id()
            self.tokens[token] = {"photo_id": photo_id, "name": field.filename, "size": len(data),
                                  "sha256": digest, "kind": "IMAGE"}
            photos[photo_id] = {"token": token}
        self.uploads += 1
        return web.json_response({"photos": photos})

    def _take(self, token: str, kind: str = "IMAGE") -> dict[str, Any]:
        photo = self.tokens.get(token)
        if photo is None or photo["kind"] != kind:
            raise OkError(100, f"Invalid {kind.lower()} token {token[:20]}")
        self.used[token] = self.tokens.pop(token)
        return photo

    def comment_photos(self, raw: str | None) -> list[dict[str, Any]]:
        """The photos a comment's `attachments` names (media shape of mediatopics)."""
        if not raw:
            return []
        try:
            media = json.loads(raw)
            tokens = [str(item["id"]) for m in media if m.get("type") == "photo" for item in m["list"]]
        except (ValueError, TypeError, KeyError, AttributeError):
            raise OkError(100, "Invalid parameter attachments") from None
        if not tokens or len(tokens) > MAX_PHOTOS:
            raise OkError(100, f"attachments: 1 to {MAX_PHOTOS} photos")
        return [self._take(t) for t in tokens]

    def chat_photos(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        """The photos and files of a Bot API message (`attachments`, or the single `attachment`)."""
        items = message.get("attachments") or ([message["attachment"]] if message.get("attachment") else [])
        out = []
        for item in items if isinstance(items, list) else [items]:
            if not isinstance(item, dict) or item.get("type") not in ("IMAGE", "FILE"):
                raise OkError(100, "Only IMAGE and FILE attachments are supported")
            token = (item.get("payload") or {}).get("token") if isinstance(item.get("payload"), dict) else None
            if not token:
                raise OkError(100, f"{item['type']} attachment without payload.token")
            out.append(self._take(str(token), item["type"]))
        if len(out) > MAX_PHOTOS:
            raise OkError(100, f"attachments: at most {MAX_PHOTOS}")
        return out


def shown(photo: dict[str, Any]) -> dict[str, Any]:
    """How a posted photo or file appears on its comment or message (the record keeps its SHA-256)."""
    ref = photo["sha256"][:16]
    return {"type": "PHOTO" if photo["kind"] == "IMAGE" else "FILE", "id": ref,
            "url": PIC.format(id=ref, kind=3), "name": photo["name"], "size": photo["size"],
            "sha256": photo["sha256"]}


def check_group(params: dict[str, str]) -> None:
    if params.get("gid") and params["gid"] != GROUP_ID:
        raise OkError(100, "Invalid gid")
