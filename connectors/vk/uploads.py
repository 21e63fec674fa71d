"""An answer's files as VK takes them: ask for an upload server, upload, save, and name the saved
objects in the reply's `attachments` (`photo<owner>_<id>`, `doc<owner>_<id>`).

Wall comments: photos through `photos.getWallUploadServer` / `photos.saveWallPhoto`, which VK
opens to user tokens only (the admin's `user_token`), documents through `docs.getWallUploadServer`;
private messages: `photos.getMessagesUploadServer` / `photos.saveMessagesPhoto` and
`docs.getMessagesUploadServer` with the community token. Videos are not uploaded (VK's video.save
needs a user token and a processing wait): an answer with a video fails with a clear error.

Uploading is not posting: a retried delivery uploads again and leaves an unused photo in the
community's album at worst; the comment itself still dedupes by guid and the message by random_id.
"""

from __future__ import annotations

from connectors import media
from connectors.errors import AuthFailed, Fatal, Malformed
from connectors.parsing import reading
from connectors.vk.client import VkClient
from otklik.models import Reply


async def attachments(reply: Reply, *, target: str, group_id: int, community: VkClient,
                      user: VkClient | None, peer_id: int | None = None) -> str | None:
    """`attachments` for wall.createComment (target "wall") or messages.send ("messages")."""
    if not reply.attachments:
        return None
    if len(reply.attachments) > 10:
        raise Fatal("VK takes at most 10 attachments in one comment or message", platform="vk")
    names = []
    for i, att in enumerate(reply.attachments, 1):
        blob = await media.load(att, community.http, platform="vk", index=i)
        if blob.kind == "video":
            raise Fatal("VK answers take photos and documents; a video must be posted by hand", platform="vk")
        if blob.kind == "photo":
            names.append(await _photo(blob, target=target, group_id=group_id, community=community, user=user,
                                      peer_id=peer_id))
        else:
            names.append(await _doc(blob, target=target, group_id=group_id, community=community, peer_id=peer_id))
    return ",".join(names)


async def _photo(blob: media.Blob, *, target: str, group_id: int, community: VkClient, user: VkClient | None,
                 peer_id: int | None) -> str:
    if target == "wall":
        if user is None:
            raise AuthFailed("photos in wall comments need a user_token of a community admin (VK opens "
                             "photos.getWallUploadServer to user tokens only)", platform="vk", code=27, alert=True)
        server = await user.read("photos.getWallUploadServer", group_id=group_id)
        uploaded = await user.upload(_url(server), "photo", blob.name, blob.data, blob.mime)
        saved = await user.call("photos.saveWallPhoto", group_id=group_id, **_photo_fields(uploaded))
    else:
        server = await community.read("photos.getMessagesUploadServer", peer_id=peer_id)
        uploaded = await community.upload(_url(server), "photo", blob.name, blob.data, blob.mime)
        saved = await community.call("photos.saveMessagesPhoto", **_photo_fields(uploaded))
    with reading("vk", "photos.save* answer"):
        photo = saved[0]
        return f"photo{int(photo['owner_id'])}_{int(photo['id'])}"


async def _doc(blob: media.Blob, *, target: str, group_id: int, community: VkClient, peer_id: int | None) -> str:
    if target == "wall":
        server = await community.read("docs.getWallUploadServer", group_id=group_id)
    else:
        server = await community.read("docs.getMessagesUploadServer", peer_id=peer_id, type="doc")
    uploaded = await community.upload(_url(server), "file", blob.name, blob.data, blob.mime)
    with reading("vk", "doc upload answer"):
        token = uploaded["file"]
    saved = await community.call("docs.save", file=token, title=blob.name)
    with reading("vk", "docs.save answer"):
        doc = saved["doc"]
        return f"doc{int(doc['owner_id'])}_{int(doc['id'])}"


def _url(server: dict) -> str:
    with reading("vk", "upload server answer"):
        url = server["upload_url"]
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise Malformed("VK gave no upload URL", platform="vk")
    return url


def _photo_fields(uploaded: dict) -> dict:
    with reading("vk", "photo upload answer"):
        if not uploaded.get("photo") or uploaded.get("photo") == "[]":
            raise Fatal("VK's upload server took no photo", platform="vk")
        return {"server": uploaded["server"], "photo": uploaded["photo"], "hash": uploaded["hash"]}
