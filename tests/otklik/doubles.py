"""The daemon as the HTTP app sees it, for tests and benches that serve `http.build_app` without
pollers or workers: the database, no connectors, no relay, no pipeline, and the wake-up event."""

import asyncio


class AppDaemon:
    def __init__(self, db) -> None:
        self.db = db
        self.connectors: dict = {}
        self.relay = None
        self.pipeline = None
        self.wake_pipeline = asyncio.Event()
