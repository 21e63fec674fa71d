"""Polling one source: fetch after the stored cursor, store the batch with its new cursor.

`poll_once` is the unit the connectors' tests use; `PollLoop` is what the daemon runs per source,
turning each class of connector error into the behaviour the design asks for.
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import timedelta

from connectors.base import Connector
from connectors.errors import AuthFailed, ConnectorError, Fatal, RateLimited, Transient
from storage import quarantine
from storage import sources as source_state
from storage.db import Database
from storage.messages import IngestResult

log = logging.getLogger("otklik.poller")

AUTH_RETRY = timedelta(days=1)  # a revoked token is retried daily, not hammered
MAX_BACKOFF = 300.0


async def poll_once(connector: Connector, db: Database) -> IngestResult:
    cursor = await asyncio.to_thread(db.get_cursor, connector.config.name)
    batch = await connector.fetch(cursor)
    return await asyncio.to_thread(db.ingest, connector.config.name, batch, connector.config.platform.value)


def _where(exc: BaseException) -> str:
    """file:line of the innermost frame, to find a bug without logging the exception's text."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return f"{tb.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno}" if tb else "?"


class PollLoop:
    """Polls one source until stopped. Errors never end the loop: they pause it as long as the
    error class says and are visible in `source_state` (and so in /healthz)."""

    def __init__(self, connector: Connector, db: Database, *, on_stored=None, on_alert=None,
                 auth_retry: timedelta = AUTH_RETRY) -> None:
        self.connector = connector
        self.db = db
        self.name = connector.config.name
        self.on_stored = on_stored  # called after each stored batch (wakes the pipeline)
        self.on_alert = on_alert  # called once per auth failure / operator alert
        self.auth_retry = auth_retry
        self.failures = 0
        self.total = IngestResult()

    def _backoff(self) -> float:
        # Jittered exponential backoff, reset by the next success.
        return min(MAX_BACKOFF, 2 ** min(self.failures, 8)) * random.uniform(0.5, 1.0)

    async def step(self) -> float:
        """One poll; returns how long to wait before the next."""
        try:
            result = await poll_once(self.connector, self.db)
        except AuthFailed as exc:
            first = await asyncio.to_thread(source_state.record_failure, self.db, self.name, "auth_failed",
                                            str(exc), pause=self.auth_retry)
            if first and self.on_alert:
                await self.on_alert("auth_failed", self.name, str(exc))
            log.warning("source paused: authentication failed", extra={"source": self.name, "code": exc.code})
            return self.auth_retry.total_seconds()
        except RateLimited as exc:
            await asyncio.to_thread(source_state.record_failure, self.db, self.name, "rate_limited", str(exc))
            return max(exc.retry_after, 0.1)
        except (Transient, Fatal, ConnectorError) as exc:
            self.failures += 1
            first = await asyncio.to_thread(source_state.record_failure, self.db, self.name, exc.kind, str(exc))
            if exc.alert and first and self.on_alert:  # once per failure, like auth: not on every retry
                await self.on_alert(exc.kind, self.name, str(exc))
            log.warning("poll failed", extra={"source": self.name, "error": exc.kind})
            return self._backoff()
        except Exception as exc:
            # Anything else (a parser bug, the database refusing the whole batch) must show in
            # /healthz too, or a source stuck on it looks healthy. Logged by class and place only:
            # database errors quote the values, i.e. message texts and author names.
            self.failures += 1
            reason = quarantine.reason_of(exc)
            log.warning("poll failed", extra={"source": self.name, "error": reason, "where": _where(exc)})
            try:
                await asyncio.to_thread(source_state.record_failure, self.db, self.name, "failing", reason)
            except Exception:
                log.warning("source state not recorded", extra={"source": self.name})
            return self._backoff()
        self.failures = 0
        self.total = self.total + result
        await asyncio.to_thread(source_state.record_success, self.db, self.name)
        if (result.new or result.updated or result.deleted or result.status_changes) and self.on_stored:
            self.on_stored()
        return 0.0 if result.has_more else self.connector.config.poll_interval

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            delay = await self.step()
            if delay > 0:
                try:
                    await asyncio.wait_for(stop.wait(), timeout=delay)
                except TimeoutError:
                    pass
