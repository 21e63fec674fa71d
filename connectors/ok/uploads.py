"""An answer's photos as OK takes them: uploaded first, then named by their upload tokens in the post.

Comments (REST, signed like every `/fb.do` call): `photosV2.getUploadUrl` with the group's `gid` (and
`aid`, the group album, when the option `album_id` is set) and `count` reserves photo ids and gives an
upload URL; the photos go there in one multipart POST (`pic1`, `pic2`, …; the URL carries its own
signature, so it is not signed again); OK answers `{"photos": {<photo id>: {"token": …}}}`. The
documentation of `mediatopic.post` names that token as the photo's `id` (it is the token
`photosV2.commit` would take), so the token is used directly, without a commit:
`attachments=[{"type": "photo", "list": [{"id": <token>}, …]}]` on `discussions.addDiscussionComment`
— the documented media shape of mediatopics; the comment method's own `attachments` parameter is
listed without a published format (README: assumptions).

Chats (Bot API): `GET /graph/me/fileUploadUrl?type=IMAGE` gives an upload URL; the image is POSTed
there the same way and the answer's token goes in the message:
`"attachments": [{"type": "IMAGE", "payload": {"token": …}}]`. A document: `type=FILE` gives the URL
and the token at once; the file is POSTed there (multipart `file`) and named
`{"type": "FILE", "payload": {"token": …}}` (graph.user.fileUploadUrl).

Uploading is not posting: a retried delivery uploads again and leaves an unused photo at worst; the
comment itself is recognised by the read-back (OkConnector.find_posted) before a resumed attempt.
Comments take photos only, chats photos and documents: OK's video upload is a separate flow
(video.getUploadUrl, then processing), so an answer with a video — or a document for a comment —
fails with a clear error before anything is uploaded.
"""

from __future__ import annotations

import json
from typing import Any

from connectors import media
from connectors.errors import Fatal, Malformed
from connectors.ok.client import OkClient
from connectors.parsing import reading
from otklik.models import Reply

MAX_PHOTOS = 10  # what one OK comment or message shows; more is refused before anything is uploaded
PLATFORM = "ok"
COMMENT_KINDS = frozenset({"photo"})
CHAT_KINDS = frozenset({"photo", "doc"})


async def files(reply: Reply, client: OkClient, kinds: frozenset[str]) -> list[media.Blob]:
    """The reply's files, each of a kind OK takes here, loaded before anything goes to OK."""
    if len(reply.attachments) > MAX_PHOTOS:
        raise Fatal(f"OK takes at most {MAX_PHOTOS} files in one comment or message", platform=PLATFORM)
    blobs = []
    for i, att in enumerate(reply.attachments, 1):
        blob = await media.load(att, client.http, platform=PLATFORM, index=i)
        if blob.kind not in kinds:
            what = "photos only" if kinds == COMMENT_KINDS else "photos and documents"
            raise Fatal(f"OK takes {what} here; a {blob.kind} must be posted by hand", platform=PLATFORM)
        blobs.append(blob)
    return blobs


async def comment_attachments(reply: Reply, client: OkClient, *, group_id: str,
                              album_id: str | None = None) -> str | None:
    """The `attachments` parameter of discussions.addDiscussionComment (None without files)."""
    if not reply.attachments:
        return None
    blobs = await files(reply, client, COMMENT_KINDS)
    slot = await client.call("photosV2.getUploadUrl", gid=group_id, aid=album_id or None, count=len(blobs),
                             sizes=",".join(str(len(b.data)) for b in blobs))
    with reading(PLATFORM, "photosV2.getUploadUrl answer"):
        url, ids = slot["upload_url"], [str(p) for p in slot["photo_ids"]]
    if len(ids) != len(blobs):
        raise Malformed(f"OK reserved {len(ids)} photo ids for {len(blobs)} photos", platform=PLATFORM)
    uploaded = await client.upload(_checked(url), [(f"pic{i}", b) for i, b in enumerate(blobs, 1)])
    return comment_param(tokens_of(uploaded, ids))


async def chat_attachments(reply: Reply, client: OkClient) -> list[dict[str, Any]]:
    """The `attachments` of a Bot API message: an IMAGE per photo, a FILE per document, each
    uploaded on its own URL."""
    out = []
    for blob in await files(reply, client, CHAT_KINDS) if reply.attachments else []:
        kind = "IMAGE" if blob.kind == "photo" else "FILE"
        slot = await client.graph("GET", "fileUploadUrl", type=kind)
        with reading(PLATFORM, "fileUploadUrl answer"):
            url = slot["url"]
            token = str(slot["token"]) if kind == "FILE" else None  # a FILE's token comes with its URL
        uploaded = await client.upload(_checked(url), [("pic1" if kind == "IMAGE" else "file", blob)])
        if kind == "IMAGE":  # an image's token comes with the upload's answer
            (token,) = tokens_of(uploaded, None)
        out.append({"type": kind, "payload": {"token": token}})
    return out


def comment_param(tokens: list[str]) -> str:
    """Pure: the comment's `attachments` value for these upload tokens, in their order."""
    return json.dumps([{"type": "photo", "list": [{"id": t} for t in tokens]}], separators=(",", ":"))


def tokens_of(uploaded: Any, ids: list[str] | None) -> list[str]:
    """Pure: the upload tokens from the upload server's answer, in the order of the reserved photo
    ids (or the answer's own order where no ids were reserved: the Bot API)."""
    with reading(PLATFORM, "photo upload answer"):
        found = uploaded["photos"]
        order = ids if ids is not None else list(found)
        tokens = [str(found[pid]["token"]) for pid in order]
    if not tokens or not all(tokens):
        raise Fatal("OK's upload server took no photo", platform=PLATFORM)
    return tokens


def is_upload_answer(payload: dict[str, Any]) -> bool:
    """Pure: an answer of the upload flow (no citizen message in it): photosV2.getUploadUrl's
    `{upload_url, photo_ids}`, fileUploadUrl's `{url, token | file_id}`, an upload server's
    `{photos: {<id>: {token}}}`."""
    keys = payload.keys()
    return ({"upload_url", "photo_ids"} <= keys or ("url" in keys and bool({"token", "file_id"} & keys))
            or (keys == {"photos"} and isinstance(payload["photos"], dict)))


def _checked(url: Any) -> str:
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise Malformed("OK gave no upload URL", platform=PLATFORM)
    return url
