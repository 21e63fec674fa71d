"""The state behind the «Кузбасс Онлайн» mock (004 §2.3), without any HTTP.

An appeal arrives «новое» with the category its author chose. The municipality takes it «в
работу» within 24 hours, setting the category and subcategory and naming the executor; the answer
is due within 14 days and is published with its result: «решено» or «разъяснено». The platform's
moderator may send an answer back (it is «в работе» again), the author may disagree (reopened,
«в работе» again) or rate it. Every change gets the next global `seq` (the appeal's `revision`);
an appeal's `history` lists them all.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta, timezone
from typing import Any

from sandbox.base import ApiError

TZ = timezone(timedelta(hours=7), "KRAT")  # Kemerovo: calendar days end at local midnight
TAKE_HOURS = 24  # 004 §2.3 (the platform's own timer; the regulation counts working days)
ANSWER_DAYS = 14  # 004 §2.3
STATUS_LABELS = {"new": "новое", "in_work": "принято в работу", "solved": "решено",
                 "explained": "разъяснено", "withdrawn": "отозвано"}
RESULT_STATUS = {"решено": "solved", "разъяснено": "explained"}
CATALOG: dict[str, list[str]] = {  # category -> subcategories (a small slice of the public one)
    "Дороги": ["Ямы", "Уборка снега", "Освещение", "Прочее"],
    "ЖКХ": ["Отопление", "Водоснабжение", "Вывоз мусора", "Прочее"],
    "Благоустройство": ["Дворы", "Детские площадки", "Прочее"],
    "Транспорт": ["Расписание", "Остановки", "Прочее"],
    "Прочее": ["Прочее"],
}
MUNICIPALITY = "tashtagol"


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).astimezone(TZ).isoformat(timespec="milliseconds")


def end_of_day(ts: float, days: int) -> float:
    day = datetime.fromtimestamp(ts, TZ).date() + timedelta(days=days)
    return datetime.combine(day, time(23, 59, 59), TZ).timestamp()


class World:
    def __init__(self, now: Callable[[], float], municipality: str = MUNICIPALITY) -> None:
        self.now = now
        self.municipality = municipality
        self.appeals: dict[int, dict[str, Any]] = {}
        self.seq = 0
        self._next_id = 51_000
        self._next_answer = 900
        self._last = 0.0
        self.idempotency: dict[str, tuple[int, dict[str, Any]]] = {}  # key -> (appeal id, answer)

    @property
    def web(self) -> str:
        return f"https://{self.municipality}.kuzbass-online.example"

    def _event(self, appeal: dict[str, Any], type_: str, **data: Any) -> None:
        self.seq += 1
        self._last = max(self.now(), self._last + 0.001)  # strictly increasing event times
        appeal["history"].append({"seq": self.seq, "type": type_, "at": iso(self._last), **data})
        appeal["revision"] = self.seq
        appeal["updated_at"] = iso(self._last)

    def _status(self, appeal: dict[str, Any], status: str) -> None:
        appeal["status"], appeal["status_label"] = status, STATUS_LABELS[status]

    def get(self, appeal_id: int) -> dict[str, Any]:
        if appeal_id not in self.appeals:
            raise ApiError(404, "NOT_FOUND", f"No appeal {appeal_id}")
        return self.appeals[appeal_id]

    # -- the author ------------------------------------------------------------------------------
    def create(self, *, text: str, author_id: int, author_name: str, category: str | None = None,
               attachments: int = 0, address: str | None = None) -> dict[str, Any]:
        category = category if category in CATALOG else "Прочее"
        self._next_id += 1
        now = self.now()
        first, _, last = author_name.partition(" ")
        n = self._next_id
        appeal: dict[str, Any] = {
            "id": n,
            "number": f"КО-{n}",
            "municipality": self.municipality,
            "url": f"{self.web}/appeals/{n}",
            "author": {"id": f"ko-{author_id}", "display_name": f"{first} {last[:1]}.".strip()},
            "text": text,
            "address": address or "Кемеровская область — Кузбасс, г. Таштагол",
            "category": {"name": category},
            "subcategory": None,
            "attachments": [
                {"id": f"{n}-{i}", "url": f"{self.web}/files/{n}-{i}.jpg", "name": f"photo-{i}.jpg",
                 "mime": "image/jpeg"}
                for i in range(attachments)
            ],
            "status": "new",
            "status_label": STATUS_LABELS["new"],
            "created_at": iso(now),
            "updated_at": iso(now),
            "take_due": iso(now + TAKE_HOURS * 3600),
            "answer_due": iso(end_of_day(now, ANSWER_DAYS)),
            "taken_at": None,
            "executor": None,
            "answer": None,
            "rating": None,
            "history": [],
            "revision": 0,
        }
        self.appeals[n] = appeal
        self._event(appeal, "created")
        return appeal

    def withdraw(self, appeal_id: int) -> dict[str, Any]:
        appeal = self.get(appeal_id)
        self._status(appeal, "withdrawn")
        self._event(appeal, "withdrawn")
        return appeal

    def _answered(self, appeal_id: int) -> dict[str, Any]:
        appeal = self.get(appeal_id)
        if appeal["status"] not in ("solved", "explained"):
            raise ApiError(409, "WRONG_STATUS", f"Appeal {appeal_id} has no answer")
        return appeal

    def reopen(self, appeal_id: int, comment: str) -> dict[str, Any]:
        """The author disagrees with the answer: the appeal is in work again."""
        appeal = self._answered(appeal_id)
        self._status(appeal, "in_work")
        self._event(appeal, "reopened", comment=comment)
        return appeal

    def rate(self, appeal_id: int, rating: int, comment: str | None = None) -> dict[str, Any]:
        appeal = self._answered(appeal_id)
        if not 1 <= rating <= 5:
            raise ApiError(422, "VALIDATION_ERROR", "rating must be 1..5")
        appeal["rating"] = rating
        self._event(appeal, "rated", rating=rating, comment=comment)
        return appeal

    # -- the platform's moderator ----------------------------------------------------------------
    def return_answer(self, appeal_id: int, comment: str) -> dict[str, Any]:
        appeal = self._answered(appeal_id)
        self._status(appeal, "in_work")
        self._event(appeal, "returned", comment=comment)
        return appeal

    # -- the municipality (us) -------------------------------------------------------------------
    def take(self, appeal_id: int, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """«Принять в работу» with category, subcategory and executor; again while in work
        changes them. (appeal, whether anything changed)."""
        appeal = self.get(appeal_id)
        category, subcategory, executor = body.get("category"), body.get("subcategory"), body.get("executor")
        if category not in CATALOG:
            raise ApiError(422, "VALIDATION_ERROR", "category is not in the catalog")
        if subcategory not in CATALOG[category]:
            raise ApiError(422, "VALIDATION_ERROR", f"subcategory is not one of {category!r}'s")
        if not isinstance(executor, str) or not executor.strip():
            raise ApiError(422, "VALIDATION_ERROR", "executor is required")
        if appeal["status"] not in ("new", "in_work"):
            raise ApiError(409, "WRONG_STATUS", f"Appeal {appeal_id} is {appeal['status_label']}")
        wanted = ({"name": category}, {"name": subcategory}, {"name": executor})
        if appeal["status"] == "in_work" and (appeal["category"], appeal["subcategory"], appeal["executor"]) == wanted:
            return appeal, False
        appeal["category"], appeal["subcategory"], appeal["executor"] = wanted
        if appeal["status"] == "new":
            appeal["taken_at"] = iso(self.now())
            self._status(appeal, "in_work")
        self._event(appeal, "taken", category=category, subcategory=subcategory, executor=executor)
        return appeal, True

    def answer(self, appeal_id: int, body: dict[str, Any], key: str | None) -> tuple[dict[str, Any], bool]:
        if key and key in self.idempotency:
            seen_id, seen = self.idempotency[key]
            if seen_id != appeal_id:
                raise ApiError(422, "IDEMPOTENCY_KEY_REUSED", "Idempotency-Key was used for another appeal")
            return seen, False
        appeal = self.get(appeal_id)
        text, result, attachments = body.get("text"), body.get("result"), body.get("attachments") or []
        if not isinstance(text, str) or not text.strip():
            raise ApiError(422, "VALIDATION_ERROR", "text is required")
        if len(text) > 5000:
            raise ApiError(422, "VALIDATION_ERROR", "text is longer than 5000 characters")
        if result not in RESULT_STATUS:
            raise ApiError(422, "RESULT_REQUIRED", "result must be «решено» or «разъяснено» (004 §2.3)")
        if not isinstance(attachments, list) or not all(
            isinstance(a, dict) and isinstance(a.get("url"), str) for a in attachments
        ):
            raise ApiError(422, "VALIDATION_ERROR", "attachments is a list of {url, name}")
        if appeal["status"] != "in_work":
            raise ApiError(409, "WRONG_STATUS", f"Appeal {appeal_id} is {appeal['status_label']}, not in work")
        self._next_answer += 1
        answer = {
            "id": self._next_answer,
            "text": text,
            "result": result,
            "attachments": [{"url": a["url"], "name": str(a.get("name") or "")} for a in attachments],
            "client_reference": body.get("client_reference") or key,
            "published_at": iso(self.now()),
        }
        appeal["answer"] = answer
        self._status(appeal, RESULT_STATUS[result])
        self._event(appeal, "answered", result=result, answer_id=answer["id"])
        if key:
            self.idempotency[key] = (appeal_id, answer)
        return answer, True

    def changed_since(self, since: int, limit: int) -> list[dict[str, Any]]:
        changed = sorted((a for a in self.appeals.values() if a["revision"] > since), key=lambda a: a["revision"])
        return changed[:limit]
