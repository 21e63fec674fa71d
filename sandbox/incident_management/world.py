"""The state behind the Incident Management mock: incidents, answers, the regional centre's
approval and the citizen's satisfaction rating (004 §2.1), without any HTTP.

An incident is a citizen's post or comment found by the regional monitoring in VK, OK or Telegram.
The municipality answers in the system; the regional centre's curators approve the answer or
return it; the approved answer is posted in the social network thread and the incident is marked
answered with the link; then the citizen has two days to comment (a comment reopens the incident)
or rate; silence for two days means the answer is accepted.

Every change gets the next global `seq`; the incident's `revision` is its last change and its
`history` lists all of them, so a reader who remembers the last `seq` it saw misses nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

TZ = timezone(timedelta(hours=7), "KRAT")  # Kuzbass: the regional centre works on local time
SILENCE = 2 * 24 * 3600  # 004 §2.1: no comment within two days = the answer is accepted
FIRST_ANSWER = 3600  # 004 §2.1: a first answer stating the deadline within one hour
DEADLINE_HOURS = {"normal": 24, "high": 4}
OUTCOMES = ("Решено", "Не решено", "Отложено")
ANSWER_KINDS = ("first", "intermediate", "final", "clarification")
NETWORKS = ("vk", "ok", "telegram")
MUNICIPALITY = "Таштагольский муниципальный район"
VK_GROUP = -200000001
OK_GROUP = 70000000000001
TG_CHAT = {"id": -1001000000001, "username": "severny_chat"}


class Conflict(Exception):
    """The action is not allowed in the incident's current state (HTTP 409)."""


class Invalid(Exception):
    """The request body is wrong (HTTP 422)."""


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).astimezone(TZ).isoformat(timespec="milliseconds")


def parse_time(value: str) -> float:
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (dt if dt.tzinfo else dt.replace(tzinfo=TZ)).timestamp()


def social_source(network: str, n: int, author_id: int, author_name: str, published: float) -> dict[str, Any]:
    """Where the monitoring found the message: the network's own ids and the post URL."""
    if network == "vk":
        post = 50 + n % 7
        thread = {"owner_id": VK_GROUP, "post_id": post, "comment_id": 800 + n}
        url = f"https://vk.com/wall{VK_GROUP}_{post}?reply={800 + n}"
        profile = f"https://vk.com/id{author_id}"
    elif network == "ok":
        topic = 155000000000 + n % 5
        thread = {"discussion_id": str(topic), "discussion_type": "GROUP_TOPIC", "comment_id": f"c{900 + n}"}
        url = f"https://ok.ru/group/{OK_GROUP}/topic/{topic}"
        profile = f"https://ok.ru/profile/{author_id}"
    elif network == "telegram":
        thread = {"chat_id": TG_CHAT["id"], "message_id": 300 + n}
        url = f"https://t.me/{TG_CHAT['username']}/{300 + n}"
        profile = None
    else:
        raise Invalid(f"network must be one of {', '.join(NETWORKS)}")
    return {
        "network": network,
        "post_url": url,
        "thread": thread,
        "published_at": iso(published),
        "author": {"id": f"{network}:{author_id}", "name": author_name, "profile_url": profile},
    }


class World:
    def __init__(self, now: Callable[[], float]) -> None:
        self.now = now
        self.incidents: dict[int, dict[str, Any]] = {}
        self.seq = 0
        self._next_id = 1000
        self._next_answer = 5000
        self.idempotency: dict[str, tuple[int, int]] = {}  # key -> (incident id, answer id)
        self._last_event = 0.0
        # network -> finder(text, author_id, author_name) -> {"thread", "post_url"}: the message as it
        # exists in that network's emulator (sandbox/shared.py); without one, ids are invented.
        self.finders: dict[str, Callable[[str, int, str], dict[str, Any]]] = {}

    # -- bookkeeping ---------------------------------------------------------------------------
    def _event(self, inc: dict[str, Any], type_: str, actor: str, **data: Any) -> dict[str, Any]:
        self.seq += 1
        # Event times strictly increase, so (incident, status, at) names one event even when a
        # test's clock stands still.
        self._last_event = max(self.now(), self._last_event + 0.001)
        event = {
            "seq": self.seq,
            "type": type_,
            "at": iso(self._last_event),
            "actor": actor,
            **{k: v for k, v in data.items() if v is not None},
        }
        inc["history"].append(event)
        inc["revision"] = self.seq
        inc["updated_at"] = event["at"]
        return event

    def get(self, incident_id: int) -> dict[str, Any]:
        try:
            return self.incidents[incident_id]
        except KeyError:
            raise KeyError(f"incident {incident_id} not found") from None

    def _answer(self, inc: dict[str, Any], answer_id: int | None, state: str) -> dict[str, Any]:
        for a in reversed(inc["answers"]):
            if (answer_id is None or a["id"] == answer_id) and (state == "*" or a["state"] == state):
                return a
        raise Conflict(
            f"incident {inc['id']} has no answer in state {state!r}"
            + (f" with id {answer_id}" if answer_id else "")
        )

    # -- the monitoring finds a message ---------------------------------------------------------
    def create(
        self,
        *,
        text: str,
        author_id: int,
        author_name: str,
        network: str = "vk",
        topic_group: str | None = None,
        topic: str | None = None,
        importance: str = "normal",
        urgent: bool = False,
        deadline_hours: float | None = None,
    ) -> dict[str, Any]:
        if importance not in DEADLINE_HOURS:
            raise Invalid("importance must be normal or high")
        self._next_id += 1
        now = self.now()
        hours = deadline_hours if deadline_hours is not None else DEADLINE_HOURS[importance]
        inc: dict[str, Any] = {
            "id": self._next_id,
            "number": f"ИМ-{self._next_id:06d}",
            "source": social_source(network, self._next_id, author_id, author_name, now - 600),
            "text": text,
            "created_at": iso(now),
            "updated_at": iso(now),
            "topic_group": topic_group,
            "topic": topic,
            "municipality": MUNICIPALITY,
            "importance": importance,
            "urgent": urgent,
            "status": "new",
            "first_answer_due": iso(now + FIRST_ANSWER),
            "deadline": iso(now + hours * 3600),
            "answers": [],
            "outcome": None,
            "satisfaction": {"state": "not_requested", "requested_at": None, "rating": None, "comments": []},
            "history": [],
            "revision": 0,
        }
        finder = self.finders.get(network)
        if finder is not None:
            inc["source"].update(finder(text, author_id, author_name))
        self.incidents[inc["id"]] = inc
        self._event(inc, "created", "monitoring")
        return inc

    def edit_source(self, incident_id: int, text: str) -> dict[str, Any]:
        inc = self.get(incident_id)
        inc["text"] = text
        self._event(inc, "source_edited", "monitoring")
        return inc

    def delete_source(self, incident_id: int) -> dict[str, Any]:
        inc = self.get(incident_id)
        inc["source"]["deleted"] = True
        self._event(inc, "source_deleted", "monitoring")
        return inc

    # -- the municipality answers ----------------------------------------------------------------
    def submit_answer(self, incident_id: int, body: dict[str, Any], key: str | None) -> tuple[dict, bool]:
        """Returns (answer, created). The same Idempotency-Key returns the first answer."""
        if key and key in self.idempotency:
            inc_id, answer_id = self.idempotency[key]
            if inc_id != incident_id:
                raise Conflict("Idempotency-Key was already used for another incident")
            return self._answer(self.get(inc_id), answer_id, "*"), False
        inc = self.get(incident_id)
        kind = body.get("kind", "final")
        text = body.get("text")
        if kind not in ANSWER_KINDS:
            raise Invalid(f"kind must be one of {', '.join(ANSWER_KINDS)}")
        if not isinstance(text, str) or not text.strip():
            raise Invalid("text is required")
        if len(text) > 5000:
            raise Invalid("text is longer than 5000 characters")
        outcome = body.get("outcome")
        if kind == "final" and outcome not in OUTCOMES:
            raise Invalid(f"a final answer needs outcome: one of {', '.join(OUTCOMES)}")
        if kind == "intermediate":
            outcome = "Отложено"
            if not body.get("postponed_until"):
                raise Invalid("an intermediate answer needs postponed_until")
        if inc["status"] == "closed":
            raise Conflict(f"incident {incident_id} is closed")
        if any(a["state"] == "on_approval" for a in inc["answers"]):
            raise Conflict(f"incident {incident_id} already has an answer on approval")
        self._next_answer += 1
        answer = {
            "id": self._next_answer,
            "kind": kind,
            "text": text,
            "outcome": outcome,
            "postponed_until": body.get("postponed_until"),
            "attachments": body.get("attachments") or [],
            "client_reference": body.get("client_reference") or key,
            "state": "on_approval",
            "submitted_at": iso(self.now()),
            "reviewed_at": None,
            "review_comment": None,
            "published_at": None,
            "publication_url": None,
        }
        inc["answers"].append(answer)
        inc["status"] = "on_approval"
        self._event(inc, "answer_submitted", "municipality", answer_id=answer["id"])
        if key:
            self.idempotency[key] = (incident_id, answer["id"])
        return answer, True

    def publish(self, incident_id: int, body: dict[str, Any]) -> tuple[dict, bool]:
        """The approved answer was posted in the social network: mark the incident answered."""
        inc = self.get(incident_id)
        url = body.get("url")
        if not isinstance(url, str) or not url.startswith("http"):
            raise Invalid("url of the published answer is required")
        ref = body.get("client_reference")
        for a in inc["answers"]:
            if a["state"] == "published" and (
                a["publication_url"] == url or (ref and a["client_reference"] == ref)
            ):
                return a, False  # the same publication reported again
        candidates = [a for a in inc["answers"] if a["state"] == "approved"]
        if body.get("answer_id"):
            candidates = [a for a in candidates if a["id"] == int(body["answer_id"])]
        elif ref and any(a["client_reference"] == ref for a in candidates):
            candidates = [a for a in candidates if a["client_reference"] == ref]
        if not candidates:
            raise Conflict(f"incident {incident_id} has no approved answer to publish")
        answer = candidates[-1]
        answer.update(state="published", published_at=iso(self.now()), publication_url=url)
        self._event(inc, "answer_published", "municipality", answer_id=answer["id"], url=url)
        if answer["kind"] == "final":
            inc["status"] = "on_rating"
            inc["outcome"] = answer["outcome"]
            inc["satisfaction"].update(state="waiting", requested_at=iso(self.now()))
            self._event(inc, "sent_for_rating", "regional_centre")
        else:
            inc["status"] = "in_work"
        return answer, True

    # -- the regional centre's curators ----------------------------------------------------------
    def approve(self, incident_id: int, answer_id: int | None = None) -> dict[str, Any]:
        inc = self.get(incident_id)
        answer = self._answer(inc, answer_id, "on_approval")
        answer.update(state="approved", reviewed_at=iso(self.now()))
        inc["status"] = "approved"
        self._event(inc, "answer_approved", "regional_centre", answer_id=answer["id"])
        return inc

    def return_answer(self, incident_id: int, comment: str, answer_id: int | None = None) -> dict[str, Any]:
        inc = self.get(incident_id)
        answer = self._answer(inc, answer_id, "on_approval")
        answer.update(state="returned", reviewed_at=iso(self.now()), review_comment=comment)
        inc["status"] = "returned"
        self._event(inc, "answer_returned", "regional_centre", answer_id=answer["id"], comment=comment)
        return inc

    # -- the citizen ---------------------------------------------------------------------------
    def comment(self, incident_id: int, text: str) -> dict[str, Any]:
        """A comment (or rejection) after the answer returns the incident to work."""
        inc = self.get(incident_id)
        if inc["satisfaction"]["state"] not in ("waiting", "accepted", "rated"):
            raise Conflict(f"incident {incident_id} has no published answer to comment on")
        inc["satisfaction"]["comments"].append({"text": text, "at": iso(self.now())})
        inc["satisfaction"]["state"] = "disputed"
        inc["status"] = "in_work"
        inc["outcome"] = None
        self._event(inc, "citizen_comment", "citizen", comment=text)
        return inc

    def rate(self, incident_id: int, rating: int, comment: str | None = None) -> dict[str, Any]:
        inc = self.get(incident_id)
        if inc["satisfaction"]["state"] != "waiting":
            raise Conflict(f"incident {incident_id} is not waiting for a rating")
        if not 1 <= rating <= 5:
            raise Invalid("rating must be 1..5")
        inc["satisfaction"].update(state="rated", rating=rating)
        inc["status"] = "closed"
        self._event(inc, "rated", "citizen", rating=rating, comment=comment)
        return inc

    def expire_silence(self) -> list[int]:
        """Answers waiting for a rating longer than two days count as accepted."""
        done = []
        now = self.now()
        for inc in self.incidents.values():
            sat = inc["satisfaction"]
            if sat["state"] == "waiting" and now - parse_time(sat["requested_at"]) >= SILENCE:
                sat["state"] = "accepted"
                inc["status"] = "closed"
                self._event(inc, "feedback_accepted", "system")
                done.append(inc["id"])
        return done

    # -- reading ---------------------------------------------------------------------------------
    def changed_since(self, since: int, limit: int) -> list[dict[str, Any]]:
        changed = sorted(
            (i for i in self.incidents.values() if i["revision"] > since), key=lambda i: i["revision"]
        )
        return changed[:limit]
