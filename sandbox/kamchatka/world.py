"""The state behind the «Камчатка в порядке» mock (000 app. 2), without any HTTP.

Messages come from ESIA-authenticated users and are assigned to the executor on the day they are
posted (§2.2). The executor answers within 10 calendar days of posting, with confirming photos
unless the results allow none (§2.5), and may ask the coordinator for up to 8 more days with a
comment (§2.5). A fast-track ("important") message is answered 1–3 calendar days after assignment
(§2.6). After the answer the user confirms, rates (with a comment), or sends it back for rework,
which re-assigns it the same day (§2.7–2.8); a repeat message names the one it repeats (§2.9).

Every change gets the next global `seq`; a message's `events` list them all.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta, timezone
from typing import Any

from sandbox.base import ApiError

TZ = timezone(timedelta(hours=12), "PETT")  # Kamchatka time: calendar days end at local midnight
ANSWER_DAYS = 10  # §2.5
EXTENSION_MAX = 8  # §2.5
FAST_TRACK_DAYS = (1, 3)  # §2.6
KINDS = ("answer", "clarification")
EXECUTOR = "Администрация Соболевского муниципального района"


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).astimezone(TZ).isoformat(timespec="milliseconds")


def end_of_day(ts: float, days: int) -> float:
    """The end of the local calendar day `days` after the day of `ts`."""
    day = datetime.fromtimestamp(ts, TZ).date() + timedelta(days=days)
    return datetime.combine(day, time(23, 59, 59), TZ).timestamp()


class World:
    def __init__(self, now: Callable[[], float]) -> None:
        self.now = now
        self.messages: dict[int, dict[str, Any]] = {}
        self.seq = 0
        self._next_id = 70_000
        self._next_answer = 300
        self._last = 0.0
        self.idempotency: dict[str, tuple[str, int, Any]] = {}  # key -> (what, message id, result)

    def _event(self, msg: dict[str, Any], type_: str, **data: Any) -> dict[str, Any]:
        self.seq += 1
        self._last = max(self.now(), self._last + 0.001)  # strictly increasing event times
        event = {
            "seq": self.seq,
            "type": type_,
            "at": iso(self._last),
            **{k: v for k, v in data.items() if v is not None},
        }
        msg["events"].append(event)
        msg["revision"] = self.seq
        msg["updated_at"] = event["at"]
        return event

    def get(self, message_id: int) -> dict[str, Any]:
        if message_id not in self.messages:
            raise ApiError(404, "NOT_FOUND", f"Message {message_id} not found")
        return self.messages[message_id]

    # -- the user ----------------------------------------------------------------------------------
    def create(
        self,
        *,
        text: str,
        author_id: int,
        author_name: str,
        group: str | None = None,
        topic: str | None = None,
        fast_track_days: int | None = None,
        repeat_of: int | None = None,
        photos: int = 0,
        address: str | None = None,
    ) -> dict[str, Any]:
        if fast_track_days is not None and not FAST_TRACK_DAYS[0] <= fast_track_days <= FAST_TRACK_DAYS[1]:
            raise ApiError(422, "VALIDATION_ERROR", "a fast-track message is answered within 1 to 3 days")
        if repeat_of is not None:
            self.get(repeat_of)
        self._next_id += 1
        now = self.now()
        first, _, last = author_name.partition(" ")
        deadline = end_of_day(now, fast_track_days) if fast_track_days else end_of_day(now, ANSWER_DAYS)
        msg: dict[str, Any] = {
            "id": self._next_id,
            "number": f"КВП-{self._next_id}",
            "author": {
                "esia_oid": str(1_000_000_000 + author_id),
                "display_name": f"{first} {last[:1]}.".strip(),
                "verified": True,
            },
            "text": text,
            "category": {"group": group or "Благоустройство", "topic": topic or "Прочее"},
            "address": address or "Камчатский край, Соболевский район, с. Соболево",
            "coordinates": [54.3000, 155.9500],
            "photos": [f"https://kamchatka.example/files/{self._next_id}-{n}.jpg" for n in range(photos)],
            "posted_at": iso(now),
            "assigned_at": iso(now),
            "updated_at": iso(now),
            "executor": EXECUTOR,
            "status": "assigned",
            "fast_track": fast_track_days is not None,
            "deadline": iso(deadline),
            "extension": None,
            "answers": [],
            "feedback": {"confirmed": False, "rating": None, "rating_comment": None, "rework": []},
            "repeat_of": repeat_of,
            "events": [],
            "revision": 0,
        }
        self.messages[msg["id"]] = msg
        self._event(msg, "assigned")
        return msg

    def edit(self, message_id: int, text: str) -> dict[str, Any]:
        msg = self.get(message_id)
        msg["text"] = text
        self._event(msg, "edited")
        return msg

    def withdraw(self, message_id: int) -> dict[str, Any]:
        msg = self.get(message_id)
        msg["status"] = "withdrawn"
        self._event(msg, "withdrawn")
        return msg

    def _answered(self, message_id: int) -> dict[str, Any]:
        msg = self.get(message_id)
        if msg["status"] not in ("answered", "closed"):
            raise ApiError(409, "NOT_ANSWERED", f"Message {message_id} has no answer yet")
        return msg

    def confirm(self, message_id: int) -> dict[str, Any]:
        msg = self._answered(message_id)
        msg["feedback"]["confirmed"] = True
        msg["status"] = "closed"
        self._event(msg, "confirmed")
        return msg

    def rate(self, message_id: int, rating: int, comment: str | None = None) -> dict[str, Any]:
        msg = self._answered(message_id)
        if not 1 <= rating <= 5:
            raise ApiError(422, "VALIDATION_ERROR", "rating must be 1..5")
        msg["feedback"].update(rating=rating, rating_comment=comment)
        self._event(msg, "rated", rating=rating, comment=comment)
        return msg

    def rework(self, message_id: int, comment: str) -> dict[str, Any]:
        """§2.8: sent back for rework, re-assigned to the executor the same day."""
        msg = self._answered(message_id)
        now = self.now()
        msg["feedback"]["rework"].append({"comment": comment, "at": iso(now)})
        msg.update(
            status="rework", assigned_at=iso(now), deadline=iso(end_of_day(now, ANSWER_DAYS)), extension=None
        )
        self._event(msg, "rework", comment=comment)
        return msg

    # -- the executor (us) -----------------------------------------------------------------------
    def _replayed(self, key: str | None, what: str, message_id: int) -> Any:
        if key and key in self.idempotency:
            seen_what, seen_id, result = self.idempotency[key]
            if (seen_what, seen_id) != (what, message_id):
                raise ApiError(422, "IDEMPOTENCY_KEY_REUSED", "Idempotency-Key was used for another request")
            return result
        return None

    def answer(self, message_id: int, body: dict[str, Any], key: str | None) -> tuple[dict[str, Any], bool]:
        if (seen := self._replayed(key, "answer", message_id)) is not None:
            return seen, False
        msg = self.get(message_id)
        kind = body.get("kind", "answer")
        text = body.get("text")
        photos = body.get("photos") or []
        if kind not in KINDS:
            raise ApiError(422, "VALIDATION_ERROR", f"kind must be one of {', '.join(KINDS)}")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(422, "VALIDATION_ERROR", "text is required")
        if len(text) > 5000:
            raise ApiError(422, "VALIDATION_ERROR", "text is longer than 5000 characters")
        if not isinstance(photos, list) or not all(isinstance(p, str) for p in photos):
            raise ApiError(422, "VALIDATION_ERROR", "photos is a list of URLs")
        if kind == "answer" and not photos and not (body.get("no_photo_reason") or "").strip():
            raise ApiError(
                422, "PHOTOS_REQUIRED", "An answer needs confirming photos or no_photo_reason (§2.5)"
            )
        if msg["status"] not in ("assigned", "rework"):
            raise ApiError(409, "MESSAGE_CLOSED", f"Message {message_id} is {msg['status']}")
        self._next_answer += 1
        answer = {
            "id": self._next_answer,
            "kind": kind,
            "text": text,
            "photos": photos,
            "no_photo_reason": body.get("no_photo_reason"),
            "client_reference": body.get("client_reference") or key,
            "published_at": iso(self.now()),
        }
        msg["answers"].append(answer)
        if kind == "answer":
            msg["status"] = "answered"
        self._event(msg, "answer_published", answer_id=answer["id"])
        if key:
            self.idempotency[key] = ("answer", message_id, answer)
        return answer, True

    def request_extension(self, message_id: int, body: dict[str, Any], key: str | None) -> tuple[dict, bool]:
        if (seen := self._replayed(key, "extension", message_id)) is not None:
            return seen, False
        msg = self.get(message_id)
        days = body.get("days")
        comment = body.get("comment")
        if not isinstance(days, int) or not 1 <= days <= EXTENSION_MAX:
            raise ApiError(422, "VALIDATION_ERROR", f"days must be 1..{EXTENSION_MAX} (§2.5)")
        if not isinstance(comment, str) or not comment.strip():
            raise ApiError(422, "VALIDATION_ERROR", "an extension request needs a comment (§2.5)")
        if msg["status"] not in ("assigned", "rework"):
            raise ApiError(409, "MESSAGE_CLOSED", f"Message {message_id} is {msg['status']}")
        if msg["extension"] is not None:
            raise ApiError(409, "EXTENSION_ALREADY_REQUESTED", "An extension was already requested")
        msg["extension"] = {
            "days": days,
            "comment": comment,
            "state": "pending",
            "requested_at": iso(self.now()),
            "decided_at": None,
            "coordinator_comment": None,
        }
        self._event(msg, "extension_requested", days=days)
        if key:
            self.idempotency[key] = ("extension", message_id, msg["extension"])
        return msg["extension"], True

    # -- the coordinator -------------------------------------------------------------------------
    def decide_extension(self, message_id: int, granted: bool, comment: str | None = None) -> dict[str, Any]:
        msg = self.get(message_id)
        ext = msg["extension"]
        if ext is None or ext["state"] != "pending":
            raise ApiError(
                409, "NO_PENDING_EXTENSION", f"Message {message_id} has no pending extension request"
            )
        ext.update(
            state="granted" if granted else "denied", decided_at=iso(self.now()), coordinator_comment=comment
        )
        if granted:
            old = datetime.fromisoformat(msg["deadline"]).timestamp()
            msg["deadline"] = iso(old + ext["days"] * 86400)
        self._event(
            msg,
            "extension_granted" if granted else "extension_denied",
            days=ext["days"],
            comment=comment,
            deadline=msg["deadline"] if granted else None,
        )
        return msg

    def changed_since(self, since: int, limit: int) -> list[dict[str, Any]]:
        changed = sorted(
            (m for m in self.messages.values() if m["revision"] > since), key=lambda m: m["revision"]
        )
        return changed[:limit]
