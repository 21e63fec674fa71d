"""The state behind the ПОС mock: appeals in the organisation's inbox, answers, the manager's
approval and the applicant's reaction (003 app. 1, 004 §2.2), without any HTTP.

The inbox is a queue: an appeal is listed while it has a change the organisation has not
acknowledged (`POST /edms/{id}/mark-accepted`, as real clients do after storing an appeal). A
new appeal, an approved or returned answer and a negative comment are changes; each bumps the
appeal's `version`, and acknowledging an older version leaves the newer change listed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

# 003 §10: 8 days for the federal fast-track categories, 14 for the regional ones, 20 otherwise.
ANSWER_DAYS = {"FEDERAL": 8, "REGIONAL": 14, None: 20}
ANSWER_TYPES = ("SOLVED", "NOT_SOLVED", "POSTPONED", "REJECTED")
ACTIONS = ("TAKE_TO_WORK", "SET_EXECUTOR", "FORWARD_TO_PARENT", "FORWARD_TO_SUBORDINATE")
REGION = "Новосибирская область"
MUNICIPALITY = "Северный район"
FILES = "https://pos.gosuslugi.ru/file-storage-service/filestorage"
SUBJECTS = {
    "Благоустройство": (11, {"Освещение": 1101, "Дворы и скверы": 1102, "Иное": 1199}),
    "Дороги": (12, {"Ямы на дорогах": 1201, "Уборка снега": 1202, "Иное": 1299}),
    "ЖКХ": (13, {"Отопление": 1301, "Водоснабжение": 1302, "Иное": 1399}),
    "Мусор/Свалки/ТКО": (14, {"Вывоз мусора": 1401, "Иное": 1499}),
}


class Conflict(Exception):
    """Not allowed in the appeal's current state (HTTP 409)."""


class Invalid(Exception):
    """A field is missing or wrong (HTTP 400)."""


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")


def parse_time(value: str) -> float:
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


class World:
    def __init__(self, now: Callable[[], float]) -> None:
        self.now = now
        self.appeals: dict[int, dict[str, Any]] = {}
        self.pending: set[int] = set()  # appeals with an unacknowledged change
        self._next_id = 4_800_000
        self._next_answer = 91_000
        self._last = 0.0

    def _stamp(self) -> str:
        # Strictly increasing change times: the inbox is ordered by them, and (appeal, status,
        # time) must name one change even when a test's clock stands still.
        self._last = max(self.now(), self._last + 0.001)
        return iso(self._last)

    def _changed(self, appeal: dict[str, Any]) -> str:
        at = self._stamp()
        appeal["version"] += 1
        appeal["updatedAt"] = at
        self.pending.add(appeal["id"])
        return at

    def get(self, appeal_id: int) -> dict[str, Any]:
        try:
            return self.appeals[appeal_id]
        except KeyError:
            raise KeyError(f"appeal {appeal_id} not found") from None

    # -- the applicant -------------------------------------------------------------------------
    def create(
        self,
        *,
        text: str,
        author_id: int,
        author_name: str,
        subject: str | None = None,
        subsubject: str | None = None,
        fast_track: str | None = None,
        address: str | None = None,
        attachments: int = 0,
    ) -> dict[str, Any]:
        if fast_track not in ANSWER_DAYS:
            raise Invalid("fast_track must be FEDERAL, REGIONAL or null")
        subject = subject or "Благоустройство"
        subject_id, subs = SUBJECTS.get(subject, (99, {}))
        subsubject = subsubject or "Иное"
        self._next_id += 1
        created = self.now()
        name, _, surname = author_name.partition(" ")
        appeal: dict[str, Any] = {
            "id": self._next_id,
            "description": text,
            "subjectId": subject_id,
            "subjectName": subject,
            "subsubjectId": subs.get(subsubject, subject_id * 100 + 99),
            "subsubjectName": subsubject,
            "createdAt": iso(created),
            "updatedAt": iso(created),
            "answerAt": iso(created + ANSWER_DAYS[fast_track] * 86400),
            "fastTrack": fast_track is not None,
            "fastTrackType": fast_track,
            "regionName": REGION,
            "municipalityName": MUNICIPALITY,
            "address": address or f"{REGION}, {MUNICIPALITY}, с. Северное",
            "coordinates": {"latitude": 56.3526, "longitude": 78.3601},
            "applicant": {
                "id": str(author_id),
                "surname": surname or None,
                "name": name,
                "patronymic": None,
                "email": f"user{author_id}@example.org",
                "phone": None,
            },
            "attachments": [f"{FILES}/{self._next_id}-{n}" for n in range(attachments)],
            "status": "MODERATION_ACCEPT",
            "version": 0,
            "editedAt": None,
            "answers": [],
            "comments": [],
            "rating": None,
            "executorInfo": None,
        }
        self.appeals[appeal["id"]] = appeal
        self._changed(appeal)
        return appeal

    def edit(self, appeal_id: int, text: str) -> dict[str, Any]:
        appeal = self.get(appeal_id)
        appeal["description"] = text
        appeal["editedAt"] = self._changed(appeal)
        return appeal

    def comment(self, appeal_id: int, text: str, author: str = "APPLICANT", negative: bool = True) -> dict:
        """004 §2.2: a negative comment by the applicant or a moderator after the answer was
        published returns the appeal to work."""
        appeal = self.get(appeal_id)
        if not any(a["approvalStatus"] == "APPROVED" for a in appeal["answers"]):
            raise Conflict(f"appeal {appeal_id} has no published answer to comment on")
        at = self._stamp()
        appeal["comments"].append(
            {
                "id": len(appeal["comments"]) + 1,
                "authorType": author,
                "text": text,
                "negative": negative,
                "createdAt": at,
            }
        )
        if negative:
            appeal["status"] = "TAKE_TO_WORK"
        self._changed(appeal)
        return appeal

    def rate(self, appeal_id: int, value: int, comment: str | None = None) -> dict[str, Any]:
        appeal = self.get(appeal_id)
        if not any(a["approvalStatus"] == "APPROVED" for a in appeal["answers"]):
            raise Conflict(f"appeal {appeal_id} has no published answer to rate")
        if not 1 <= value <= 5:
            raise Invalid("rating must be 1..5")
        appeal["rating"] = {"value": value, "comment": comment, "createdAt": self._stamp()}
        self._changed(appeal)
        return appeal

    # -- the organisation ----------------------------------------------------------------------
    def acknowledge(self, appeal_id: int, version: int | None) -> None:
        appeal = self.get(appeal_id)
        if version is None or version >= appeal["version"]:
            self.pending.discard(appeal_id)

    def act(self, appeal_id: int, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """POST /edms/{id}: an answer (answerText + appealAnswerType) or a bare status action."""
        appeal = self.get(appeal_id)
        if body.get("answerText") is None:
            status = body.get("status")
            if status not in ACTIONS:
                raise Invalid(f"answerText or status ({', '.join(ACTIONS)}) is required")
            if status == "SET_EXECUTOR":
                if not isinstance(body.get("executorInfo"), dict):
                    raise Invalid("executorInfo is required for SET_EXECUTOR")
                appeal["executorInfo"] = body["executorInfo"]
            appeal["status"] = status
            appeal["updatedAt"] = self._stamp()  # our own action: nothing new to report to us
            return appeal, None
        text = body["answerText"]
        kind = body.get("appealAnswerType")
        if not isinstance(text, str) or not text.strip():
            raise Invalid("answerText must not be empty")
        if len(text) > 10_000:
            raise Invalid("answerText is longer than 10000 characters")
        if kind not in ANSWER_TYPES:
            raise Invalid(f"appealAnswerType must be one of {', '.join(ANSWER_TYPES)}")
        postponed = body.get("postponedDate")
        if kind == "POSTPONED":
            if not postponed:
                raise Invalid("postponedDate is required for POSTPONED")
            if parse_time(postponed) <= self.now():
                raise Invalid("postponedDate must be in the future")
        if any(a["approvalStatus"] == "ON_APPROVAL" for a in appeal["answers"]):
            raise Conflict("the previous answer is still on approval")
        final = [
            a
            for a in appeal["answers"]
            if a["approvalStatus"] == "APPROVED" and a["appealAnswerType"] != "POSTPONED"
        ]
        if final and appeal["status"] == "SEND_RESPONSE":
            raise Conflict("the appeal is answered; it can be answered again only after it returns to work")
        self._next_answer += 1
        answer = {
            "id": self._next_answer,
            "answerText": text,
            "appealAnswerType": kind,
            "postponedDate": postponed,
            "outgoingNumber": body.get("outgoingNumber"),
            "comment": body.get("comment"),
            "attachmentIds": body.get("attachmentIds") or [],
            "createdAt": self._stamp(),
            "approvalStatus": "ON_APPROVAL",
            "approvalComment": None,
            "reviewedAt": None,
        }
        appeal["answers"].append(answer)
        if isinstance(body.get("executorInfo"), dict):
            appeal["executorInfo"] = body["executorInfo"]
        appeal["status"] = "POSTPONE" if kind == "POSTPONED" else "SEND_RESPONSE"
        appeal["updatedAt"] = answer["createdAt"]
        return appeal, answer

    # -- the manager (004 §2.2: the published answer goes to the manager's approval) -------------
    def _on_approval(self, appeal: dict[str, Any]) -> dict[str, Any]:
        for a in appeal["answers"]:
            if a["approvalStatus"] == "ON_APPROVAL":
                return a
        raise Conflict(f"appeal {appeal['id']} has no answer on approval")

    def approve(self, appeal_id: int) -> dict[str, Any]:
        appeal = self.get(appeal_id)
        answer = self._on_approval(appeal)
        answer.update(approvalStatus="APPROVED", reviewedAt=self._stamp())
        if answer["appealAnswerType"] == "POSTPONED":
            appeal["answerAt"] = answer["postponedDate"]  # the final answer is now due then
        self._changed(appeal)
        return appeal

    def return_answer(self, appeal_id: int, comment: str) -> dict[str, Any]:
        appeal = self.get(appeal_id)
        answer = self._on_approval(appeal)
        answer.update(approvalStatus="RETURNED", reviewedAt=self._stamp(), approvalComment=comment)
        appeal["status"] = "TAKE_TO_WORK"
        self._changed(appeal)
        return appeal

    # -- reading ---------------------------------------------------------------------------------
    def inbox(self) -> list[dict[str, Any]]:
        items = [self.appeals[i] for i in self.pending]
        return sorted(items, key=lambda a: (a["updatedAt"], a["id"]))
