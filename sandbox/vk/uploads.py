"""Photo and document uploads as VK does them (API 5.199): ask a method for an upload server
(`photos.getWallUploadServer` — user tokens —, `photos.getMessagesUploadServer`,
`docs.getMessagesUploadServer`), POST the file there as multipart (`photo` or `file`), then save
what the server answered (`photos.saveWallPhoto`, `photos.saveMessagesPhoto`, `docs.save`) to get
the object that `attachments` of `wall.createComment` / `messages.send` names: `photo<owner>_<id>`,
`doc<owner>_<id>`. The upload server is this emulator (`/_vk_upload/<id>`); uploaded bytes are kept
by SHA-256 in `files`, so a test can compare what arrived with what was sent."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from aiohttp import web

from sandbox.vk.world import GROUP_ID, VkApiError


def _invalid(what: str) -> VkApiError:
    return VkApiError(100, f"One of the parameters specified was missing or invalid: {what}")


class Uploads:
    def __init__(self, hex_id) -> None:
        self.hex_id = hex_id
        self.servers: dict[str, dict] = {}  # upload id -> {"kind": photo|doc, "target": wall|messages}
        self.pending: dict[str, dict] = {}  # the server's answer token -> the uploaded file
        self.saved: dict[str, dict] = {}  # "photo-1_5" -> the file
        self.files: dict[str, bytes] = {}
        self.seq = 456_239_000

    def server(self, base: str, kind: str, target: str, owner: int) -> dict:
        upload_id = self.hex_id()
        self.servers[upload_id] = {"kind": kind, "target": target, "owner": owner}
        answer = {"upload_url": f"{base}/_vk_upload/{upload_id}"}
        if kind == "photo":
            answer.update(album_id=-14 if target == "wall" else -3, user_id=0, group_id=GROUP_ID)
        return answer

    async def receive(self, request: web.Request) -> web.Response:
        slot = self.servers.get(request.match_info["id"])
        if slot is None:
            return web.json_response({"error": "upload server not found"})
        form = await request.post()
        field = form.get("photo" if slot["kind"] == "photo" else "file")
        if not isinstance(field, web.FileField):
            return web.json_response({"error": "no file"} if slot["kind"] == "doc" else
                                     {"server": 1, "photo": "[]", "hash": ""})
        data = field.file.read()
        digest = hashlib.sha256(data).hexdigest()
        self.files[digest] = data
        token = self.hex_id()
        self.pending[token] = {"kind": slot["kind"], "target": slot["target"], "owner": slot["owner"],
                               "name": field.filename, "size": len(data), "sha256": digest}
        if slot["kind"] == "photo":
            return web.json_response({"server": 1, "photo": json.dumps([{"photo": token}]), "hash": token[:8]})
        return web.json_response({"file": token})

    def save(self, kind: str, target: str, token: str | None) -> dict:
        upload = self.pending.pop(token or "", None)
        if upload is None or upload["kind"] != kind or upload["target"] != target:
            raise _invalid("photo" if kind == "photo" else "file")
        self.seq += 1
        owner = upload["owner"]
        obj = {"id": self.seq, "owner_id": owner}
        self.saved[f"{kind}{owner}_{self.seq}"] = upload
        if kind == "photo":
            return {**obj, "sizes": [{"type": "x", "width": 1, "height": 1}]}
        return {"type": "doc", "doc": {**obj, "title": upload["name"], "size": upload["size"]}}

    def photo_token(self, params: dict) -> str | None:
        try:
            return json.loads(params.get("photo") or "[]")[0]["photo"]
        except (ValueError, KeyError, IndexError, TypeError):
            return None

    def resolve(self, params: dict) -> list[dict[str, Any]]:
        """The saved objects `attachments` (or `attachment`) names, as the reply record lists them."""
        raw = params.get("attachments") or params.get("attachment") or ""
        out = []
        for name in filter(None, (n.strip() for n in raw.split(","))):
            found = self.saved.get(name)
            if found is None:
                raise _invalid(f"attachments: {name} not found")
            out.append({"id": name, "type": found["kind"], "name": found["name"], "size": found["size"],
                        "sha256": found["sha256"]})
        if len(out) > 10:
            raise _invalid("attachments: too many")
        return out
