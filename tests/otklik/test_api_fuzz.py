"""Property-based fuzzing of the daemon's HTTP API from its own OpenAPI document (schemathesis):
every operation, schema-conforming and schema-violating inputs, an admin's valid bearer token,
a real database with a case, a dropped message and a delivery to find. No answer may be a 5xx.

Bounded and derandomized for the suite (OTKLIK_FUZZ_EXAMPLES per operation and mode, default 25).
A bigger campaign:

    OTKLIK_FUZZ_EXAMPLES=500 OTKLIK_FUZZ_VERBOSE=1 .venv/bin/python -m pytest \
        tests/otklik/test_api_fuzz.py -q -s --timeout=0

prints "operations, examples, server errors" (per operation with OTKLIK_FUZZ_VERBOSE) and fails
listing each server error found with a curl command; OTKLIK_FUZZ_RANDOM=1 draws new examples.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

schemathesis = pytest.importorskip("schemathesis")

import requests  # noqa: E402  (schemathesis brings it)
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

from otklik import http  # noqa: E402
from otklik.accounts import sessions as session_store  # noqa: E402
from otklik.api import auth  # noqa: E402
from otklik.services import cases  # noqa: E402
from router.classifier import Router  # noqa: E402
from sandbox.runner import ThreadedServer  # noqa: E402
from sandbox.seed import approved_reply  # noqa: E402
from storage.tables import MessageRow, VerdictRow  # noqa: E402
from tests.otklik.doubles import AppDaemon  # noqa: E402

PASSWORD = "Sadovaya-yama-42"  # passes the password rules

EXAMPLES = int(os.environ.get("OTKLIK_FUZZ_EXAMPLES", "25"))
DERANDOMIZE = os.environ.get("OTKLIK_FUZZ_RANDOM", "") == ""
VERBOSE = os.environ.get("OTKLIK_FUZZ_VERBOSE", "") != ""


def seed(db) -> str:
    """An admin with a token, and something for each kind of id to point at."""
    with db.session() as s:
        user, _, _ = auth.create_user(s, "fuzz-admin", "admin", password=PASSWORD)
        _, token = session_store.start(s, user, kind="api", lifetimes=auth._lifetimes(), at=datetime.now(UTC),
                                       address=None, second_factor=True)
        text = "Во дворе дома 12 не вывозят мусор"
        msg = MessageRow(source="tg", platform="telegram", external_id="1:1", author_id="9", author_name="Ирина",
                         thread={"kind": "chat", "ids": {"chat_id": 1, "message_id": 1}}, text=text,
                         created_at=datetime.now(UTC), stored_at=datetime.now(UTC), attachments=[], raw={},
                         processed=True)
        s.add(msg)
        s.flush()
        routing = Router.load().route(text).model_copy(update={"needs_manual": True})
        cases.open_or_update(s, msg, routing, channel="social", profile_name="severny")
        dropped = MessageRow(source="tg", platform="telegram", external_id="1:2", author_id="9", text="спам",
                             thread={"kind": "chat", "ids": {"chat_id": 1, "message_id": 2}},
                             created_at=datetime.now(UTC), stored_at=datetime.now(UTC), attachments=[], raw={},
                             processed=True)
        s.add(dropped)
        s.flush()
        s.add(VerdictRow(message_id=dropped.id, decision="drop", reasons=["spam"], spans=[]))
        approved_reply(s, source="tg", platform="telegram",
                       thread={"kind": "chat", "ids": {"chat_id": 1, "message_id": 1}}, text="Здравствуйте!")
    return token


def fuzz(operation, mode: GenerationMode, base_url: str, session, headers: dict) -> tuple[int, list[str]]:
    """Run one operation in one generation mode; returns (examples sent, server errors seen)."""
    sent, errors = 0, []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, derandomize=DERANDOMIZE, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case):
        nonlocal sent
        sent += 1
        response = case.call(base_url=base_url, session=session, headers=headers, timeout=30)
        try:
            case.validate_response(response, checks=[not_a_server_error])
        except (Exception, BaseExceptionGroup) as exc:  # collected: one run reports every operation that fails
            errors.append(f"{operation.label} [{mode.value}] {response.status_code}: "
                          f"{case.as_curl_command()} -> {exc}"[:2000])

    try:
        run()
    except Unsatisfiable:  # nothing to violate (no parameters, no body): the positive mode covers it
        pass
    return sent, errors


def test_api_never_answers_5xx(db):
    token = seed(db)
    app = SimpleNamespace(name="otklik-api", build_app=lambda: http.build_app(AppDaemon(db)))
    with ThreadedServer(app) as server:
        schema = schemathesis.openapi.from_url(f"{server.url}/api/openapi.json")
        headers = {"Authorization": f"Bearer {token}"}
        session = requests.Session()
        operations, examples, errors = 0, 0, []
        for result in schema.get_all_operations():
            operation = result.ok()
            operations += 1
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                started = time.monotonic()
                sent, found = fuzz(operation, mode, server.url, session, headers)
                examples += sent
                errors += found
                if VERBOSE:
                    print(f"{operation.label} [{mode.value}]: {sent} examples, {len(found)} server errors "
                          f"in {time.monotonic() - started:.1f} s")
        print(f"\nfuzz: operations {operations}, examples {examples}, server errors {len(errors)}")
        assert operations >= 18 and examples >= operations * 2
        assert not errors, "\n".join(errors)
