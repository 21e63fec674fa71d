"""The community's photos, videos and market items and the comments under them (VK API 5.199).

Each kind has its own comment numbering, and its own events: `photo_comment_new/edit/delete/restore`
(object: the comment plus `photo_id`, `photo_owner_id`), `video_comment_*` (`video_id`,
`video_owner_id`), `market_comment_*` (`item_id`, `market_owner_id`); a delete event carries only
`owner_id`, `id`, `user_id`, `deleter_id` and the object's id. Replies come through
`photos.createComment`, `video.createComment`, `market.createComment` (emulator.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.vk.world import GROUP_ID, VkApiError

Event = tuple[str, dict] | None

# kind -> (the object's id key, the owner key of new/edit/restore events)
KEYS = {"photo": ("photo_id", "photo_owner_id"), "video": ("video_id", "video_owner_id"),
        "market": ("item_id", "market_owner_id")}
SEED_OBJECT_ID = {"photo": 457_239_017, "video": 456_239_018, "market": 3_100_001}


def _invalid(what: str) -> VkApiError:
    return VkApiError(100, f"One of the parameters specified was missing or invalid: {what} is invalid")


class Media:
    def __init__(self, now: Callable[[], int]) -> None:
        self.now = now
        self.objects: dict[str, dict[int, dict]] = {k: {} for k in KEYS}
        self.comments: dict[str, dict[int, dict]] = {k: {} for k in KEYS}
        self.seq = dict.fromkeys(KEYS, 0)
        for kind, obj in SEED_OBJECT_ID.items():
            self.objects[kind][obj] = {"id": obj, "owner_id": -GROUP_ID, "can_comment": 1}

    def _object(self, kind: str, obj: int) -> dict:
        if kind not in KEYS:
            raise _invalid("kind")
        found = self.objects[kind].get(obj)
        if found is None:
            raise _invalid(KEYS[kind][0])
        if not found["can_comment"]:
            raise VkApiError(15, "Access denied: comments are closed")
        return found

    def _event(self, kind: str, comment: dict, what: str) -> Event:
        id_key, owner_key = KEYS[kind]
        # The comment object as VK documents it (no owner_id), plus the object's id and owner.
        obj = {k: v for k, v in comment.items() if k not in ("deleted", "object_id", "owner_id")}
        return f"{kind}_comment_{what}", {**obj, id_key: comment["object_id"], owner_key: comment["owner_id"]}

    def add(self, kind: str, obj: int | None, from_id: int, text: str, *, reply_to: int | None = None,
            attachments: list | None = None) -> tuple[dict, Event]:
        target = self._object(kind, obj if obj is not None else SEED_OBJECT_ID[kind])
        parent = None
        if reply_to is not None:
            parent = self.comments[kind].get(reply_to)
            if parent is None or parent["object_id"] != target["id"] or parent.get("deleted"):
                raise _invalid("reply_to_comment")
        self.seq[kind] += 1
        comment: dict[str, Any] = {"id": self.seq[kind], "from_id": from_id, "date": self.now(), "text": text,
                                   "owner_id": target["owner_id"], "object_id": target["id"]}
        if parent is not None:
            comment["reply_to_user"] = parent["from_id"]
            comment["reply_to_comment"] = parent["id"]
        if attachments:
            comment["attachments"] = attachments
        self.comments[kind][comment["id"]] = comment
        return comment, self._event(kind, comment, "new")

    def _comment(self, kind: str, cid: int, *, deleted: bool) -> dict:
        comment = self.comments.get(kind, {}).get(cid)
        if comment is None or bool(comment.get("deleted")) != deleted:
            raise _invalid("comment_id")
        return comment

    def edit(self, kind: str, cid: int, text: str) -> Event:
        comment = self._comment(kind, cid, deleted=False)
        comment["text"] = text
        return self._event(kind, comment, "edit")

    def delete(self, kind: str, cid: int, deleter_id: int) -> Event:
        comment = self._comment(kind, cid, deleted=False)
        comment["deleted"] = True
        return f"{kind}_comment_delete", {"owner_id": comment["owner_id"], "id": cid, "user_id": comment["from_id"],
                                          "deleter_id": deleter_id, KEYS[kind][0]: comment["object_id"]}

    def restore(self, kind: str, cid: int) -> Event:
        comment = self._comment(kind, cid, deleted=True)
        comment.pop("deleted")
        return self._event(kind, comment, "restore")
