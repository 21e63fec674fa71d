"""The pipeline: stored message -> moderation verdict -> routing -> case with deadlines.

Each message is handled in its own transaction that also marks it processed, so a crash at any
point leaves it either untouched (picked up again) or fully handled. Several daemons may run the
pipeline on one PostgreSQL: each message is claimed with `SELECT … FOR UPDATE SKIP LOCKED` for its
transaction, so one daemon handles it and the others pass it by (SQLite: one daemon per var dir,
and BEGIN IMMEDIATE serialises writers anyway). A message whose handling
raises is rolled back alone and retried on later passes, then quarantined: it never stops the others. The stages themselves are
pure functions from moderation/, router/ and regulation/; this module is the I/O around them.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import select

from otklik import alerts, metrics
from otklik.services import cases
from otklik.settings import Settings
from storage import audit, quarantine
from storage import messages as message_store
from storage.db import Database
from storage.tables import CaseRow, MessageRow, PlatformEventRow, VerdictRow, now

log = logging.getLogger("otklik.pipeline")

HISTORY_WINDOW = timedelta(days=90)  # what the repeat index remembers across restarts
SPIKE_REPLAY = timedelta(days=7)  # what the spike detector's baselines are rebuilt from
MAX_ATTEMPTS = 3  # failed passes over one message or platform event before it is quarantined


def claim(s, message_id: int) -> MessageRow | None:
    """The message, locked for this transaction; None when another daemon holds it (PostgreSQL's
    SKIP LOCKED; on SQLite the clause is left out and the write lock serialises)."""
    return s.execute(select(MessageRow).where(MessageRow.id == message_id)
                     .with_for_update(skip_locked=True)).scalar_one_or_none()


def author_key(row: MessageRow) -> str:
    # The same person on the same platform; names are not identities.
    return f"{row.platform}:{row.author_id}"


class Pipeline:
    def __init__(self, db: Database, settings: Settings, moderation, router, spikes) -> None:
        self.db = db
        self.settings = settings
        self.moderation = moderation
        self.router = router
        self.spikes = spikes
        self.channels = {s.name: s.profile_channel for s in settings.sources}
        # Authors whose history is in the repeat index; what was answered or decided before an
        # author is loaded comes with the load (their cases' states), later news from the learn steps.
        self._authors_loaded: set[str] = set()
        self._answers_seen_at = now()
        self._verdicts_seen_at = now()

    @classmethod
    def create(cls, db: Database, settings: Settings) -> Pipeline:
        from moderation.filter import ModerationFilter
        from moderation.profile import load_profile as load_moderation_profile
        from moderation.profile import profile_for
        from router.classifier import Router
        from router.learning import CORRECTIONS_FILE
        from router.spikes import SpikeDetector

        moderation = ModerationFilter(
            load_moderation_profile(settings.moderation_profile or profile_for(settings.profile))
        )
        # Curators' corrections (record_correction below, or the console in another process) take
        # effect on the next message: the router reads the file they are appended to.
        router = Router.load(settings.router_profile, settings.router_model).with_corrections(
            settings.var_dir / CORRECTIONS_FILE)
        pipeline = cls(db, settings, moderation, router, SpikeDetector())
        pipeline.rebuild_history()
        return pipeline

    def rebuild_history(self) -> int:
        """Refill what the pipeline remembers across restarts. The repeat index is filled per author
        when their next message comes (`_load_author`): reading 90 days of every author's messages
        on start took over a minute at 100,000 cases, and most authors never write again. The spike
        detector's baselines come back here from the last week of routed messages; the alerts this
        replay would raise were raised (or not) before the restart. Returns the messages replayed."""
        with self.db.session() as s:
            recent = s.execute(select(MessageRow.created_at, MessageRow.engagement, CaseRow.topic_group,
                                      CaseRow.location, CaseRow.id)
                               .join(CaseRow, CaseRow.message_id == MessageRow.id)
                               .where(MessageRow.created_at >= now() - SPIKE_REPLAY)
                               .order_by(MessageRow.created_at)).all()
        for created_at, engagement, group, location, case_id in recent:
            place = location[0].get("name") if location else None
            self.spikes.observe(created_at, group or "", place, engagement or 0, message_id=str(case_id))
        return len(recent)

    def _load_author(self, s, platform: str, author_id: str) -> None:
        """The author's processed messages of the last HISTORY_WINDOW into the repeat index, once
        per author and daemon, before anything of theirs is judged or learnt (so their history is
        in order). Later messages of theirs come in as they are moderated here or elsewhere."""
        key = f"{platform}:{author_id}"
        if key in self._authors_loaded:
            return
        rows = s.execute(
            select(MessageRow.id, MessageRow.text, MessageRow.created_at, CaseRow.state)
            .outerjoin(CaseRow, CaseRow.message_id == MessageRow.id)
            .where(MessageRow.platform == platform, MessageRow.author_id == author_id,
                   MessageRow.processed.is_(True), MessageRow.created_at >= now() - HISTORY_WINDOW)
            .order_by(MessageRow.id)).all()
        for msg_id, text, created_at, state in rows:
            self.moderation.index.add(str(msg_id), key, text, created_at, answered=state in cases.ANSWERED_STATES)
        self._authors_loaded.add(key)

    def _learn_answers(self) -> None:
        """Tell the repeat index which questions were answered since we last looked (workers
        publish in other processes), so a repeat of an answered question is recognised."""
        since = self._answers_seen_at
        self._answers_seen_at = now()
        with self.db.session() as s:
            rows = s.execute(select(CaseRow.message_id).where(CaseRow.state.in_(cases.ANSWERED_STATES),
                                                              CaseRow.updated_at >= since)).all()
        for (message_id,) in rows:
            self.moderation.mark_answered(str(message_id))

    def _learn_processed(self) -> None:
        """Messages another daemon on the same database moderated since we last looked go into our
        repeat index too, so a repeat is recognised whichever daemon took the original."""
        # Overlapping a little: a verdict is stamped before its transaction commits.
        since = self._verdicts_seen_at - timedelta(seconds=60)
        self._verdicts_seen_at = now()
        with self.db.session() as s:
            rows = s.execute(select(MessageRow).join(VerdictRow, VerdictRow.message_id == MessageRow.id)
                             .where(VerdictRow.decided_at >= since)).scalars().all()
            for row in rows:
                self._load_author(s, row.platform, row.author_id)  # brings this message too
                if str(row.id) not in self.moderation.index:
                    self.moderation.index.add(str(row.id), author_key(row), row.text, row.created_at)

    def apply_platform_events(self, limit: int = 200) -> int:
        """Regional platforms' status changes (approved by the regional centre, returned, reopened
        or rated by the citizen), stored with the cursor, applied to their cases once each.

        Each event is applied in its own savepoint: one that raises (say, a granted extension the
        case's state does not allow) is rolled back alone, counted, tried again on later passes and
        after MAX_ATTEMPTS quarantined; the others are applied regardless."""
        with self.db.session() as s:
            # Claimed for this transaction: another daemon skips them instead of applying them twice.
            events = s.execute(select(PlatformEventRow).where(PlatformEventRow.processed.is_(False))
                               .order_by(PlatformEventRow.id).limit(limit)
                               .with_for_update(skip_locked=True)).scalars().all()
            for ev in events:
                try:
                    with s.begin_nested():
                        self._apply_event(s, ev)
                        ev.processed = True
                except Exception as exc:  # one event must never stop the others
                    if quarantine.is_database_fault(exc):  # the database, not the event: the pass is retried
                        raise quarantine.unavailable(exc) from None
                    self._event_failed(s, ev, exc)
            return len(events)

    def _apply_event(self, s, ev: PlatformEventRow) -> None:
        msg = s.execute(select(MessageRow).where(MessageRow.source == ev.source,
                                                 MessageRow.external_id == ev.external_id)).scalar_one_or_none()
        case = cases.by_message(s, msg.id) if msg is not None else None
        if case is not None:
            cases.apply_platform_status(s, case, ev.status, comment=ev.comment, rating=ev.rating, at=ev.at,
                                        raw=ev.raw)

    def _event_failed(self, s, ev: PlatformEventRow, exc: Exception) -> None:
        reason = quarantine.reason_of(exc)
        metrics.pipeline_failures.labels("event").inc()
        ev.attempts = (ev.attempts or 0) + 1
        ev.error = reason[:300]
        log.warning("platform event failed", extra={"event_id": ev.id, "source": ev.source, "error": reason,
                                                    "attempt": ev.attempts})
        if ev.attempts >= MAX_ATTEMPTS:
            ev.processed = True  # given up: the quarantine item is where a person takes it up
            quarantine.add(s, source=ev.source, stage="event", external_id=ev.external_id, reason=reason,
                           raw={"event_id": ev.id, "status": ev.status})

    def process_pending(self, limit: int = 200) -> int:
        """Process what is pending; returns how many messages were done (processed or given up),
        so a pass where every message failed lets the daemon wait before trying again."""
        self._learn_answers()
        self._learn_processed()
        self.apply_platform_events()
        with self.db.session() as s:
            pending = [(r.id, r.revision) for r in message_store.unprocessed(s, limit)]
        done = 0
        for message_id, revision in pending:
            stage = ["load"]
            try:
                self._process(message_id, revision, stage)
                done += 1
            except Exception as exc:  # one message must never stop the others
                if quarantine.is_database_fault(exc):  # the database, not the message: the daemon backs off
                    raise quarantine.unavailable(exc) from None
                done += self._failed(message_id, revision, stage[0], exc)
        return done

    def _failed(self, message_id: int, revision: int, stage: str, exc: Exception) -> bool:
        """Count a failed attempt (its transaction was rolled back); after MAX_ATTEMPTS mark the
        message processed-as-failed and quarantine it. Returns True when given up."""
        reason = f"{stage}: {quarantine.reason_of(exc)}"
        metrics.pipeline_failures.labels(stage).inc()
        with self.db.session() as s:
            row = s.get(MessageRow, message_id)
            if row is None or row.revision != revision:
                return False  # edited meanwhile: the new text gets its own attempts
            row.pipeline_attempts = (row.pipeline_attempts or 0) + 1
            row.pipeline_error = reason[:300]
            log.warning("message processing failed", extra={"message_id": message_id, "stage": stage,
                                                            "error": reason, "attempt": row.pipeline_attempts})
            if row.pipeline_attempts < MAX_ATTEMPTS:
                return False
            row.processed = True
            quarantine.add(s, source=row.source, stage="pipeline", platform=row.platform,
                           external_id=row.external_id, reason=reason,
                           raw={"message_id": row.id, "revision": row.revision})
            return True

    def _process(self, message_id: int, revision: int, stage: list[str] | None = None) -> None:
        stage = stage if stage is not None else ["load"]  # which step raised, for the failure record
        fired = []
        with self.db.session() as s:
            row = claim(s, message_id)
            if row is None or row.processed or row.revision != revision:
                return  # another daemon holds it or has done it, or an edit came meanwhile
            if row.deleted_at is not None:
                stage[0] = "case"
                cases.note_deleted(s, row)
                message_store.mark_processed(s, message_id, revision)
                return
            previous = s.get(VerdictRow, row.id)
            stage[0] = "moderation"
            if previous is not None and previous.overruled_by:
                # A curator accepted it by hand: moderation does not get a second say.
                decision, reasons, repeat_of = "accept", [], None
            else:
                self._load_author(s, row.platform, row.author_id)
                verdict = self.moderation.moderate(str(row.id), author_key(row), row.text, row.created_at)
                self._store_verdict(s, row, verdict, previous)
                decision, reasons, repeat_of = verdict.decision, verdict.reasons, verdict.repeat_of
            log.info("message moderated", extra={"stage": "moderated", "message_id": row.id, "source": row.source,
                                                 "decision": decision, "reasons": list(reasons),
                                                 "repeat_of": repeat_of, "revision": row.revision})
            if decision == "drop":
                stage[0] = "case"
                metrics.messages_dropped.labels(reasons[0] if reasons else "other").inc()
                audit.append(s, actor="moderation", action="dropped", entity="message", entity_id=row.id,
                             data={"reasons": reasons})
                cases.note_dropped(s, row)
            else:
                stage[0] = "routing"
                routing = self.router.route(row.text, fast_track=row.fast_track, platform=row.platform,
                                            platform_topic=row.platform_topic, when=now())
                stage[0] = "case"
                channel = self.channels.get(row.source, "social")
                opened = cases.by_message(s, row.id) is None
                case = cases.open_or_update(s, row, routing, channel=channel, profile_name=self.settings.profile,
                                            repeat_of=repeat_of)
                metrics.messages_routed.labels(routing.topic_group).inc()
                log.info("message routed", extra={
                    "stage": "routed", "message_id": row.id, "case_id": case.id, "topic_group": routing.topic_group,
                    "topic": routing.topic, "executors": list(routing.executors), "needs_manual": routing.needs_manual,
                    "importance": routing.importance})
                if opened:
                    log.info("case opened", extra={"stage": "case_opened", "message_id": row.id, "case_id": case.id,
                                                   "state": case.state, "answer_by": case.answer_by})
                loc = routing.location[0].name if routing.location else None
                fired = self.spikes.observe(row.created_at, routing.topic_group, loc, row.engagement,
                                            message_id=str(case.id))
            stage[0] = "store"
            message_store.mark_processed(s, message_id, revision)
            for alert in fired:
                alerts.store(s, alert)

    def _store_verdict(self, s, row: MessageRow, verdict, existing: VerdictRow | None) -> None:
        values = dict(decision=verdict.decision, reasons=list(verdict.reasons),
                      spans=[sp.model_dump() for sp in verdict.spans],
                      repeat_of=int(verdict.repeat_of) if verdict.repeat_of else None,
                      revision=row.revision, decided_at=now())
        if existing is None:
            s.add(VerdictRow(message_id=row.id, **values))
        else:
            for k, v in values.items():
                setattr(existing, k, v)

    def record_correction(self, text: str, topic_group: str, topic: str | None, executor: str) -> None:
        from router.learning import CORRECTIONS_FILE, record_correction

        record_correction(self.settings.var_dir / CORRECTIONS_FILE, text, topic_group, topic, executor)

    async def alert_async(self, kind: str, source: str, text: str) -> None:
        await asyncio.to_thread(alerts.raise_operator_alert, self.db, kind, source, text)
