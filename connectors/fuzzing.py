"""Mutation fuzzing of the connectors' parsers: the real payloads we have, broken in the ways a
platform (or a proxy, or a bug on their side) can break them. Used by the property tests
(tests/connectors/test_fuzz_parsers.py, Hypothesis drives the `random.Random`) and by the larger
campaign in bench/fuzz_parsers.py.

A mutation picks a node of the JSON tree and deletes it, replaces it by a value of another JSON type
(None, huge ints, floats, long strings, NUL, lone surrogates, containers), wraps it in a list or an
object, or nests it deeply. A crash is any exception that is not our own ConnectorError; its *site*
is the innermost frame in the project's code, so one bug found a thousand times counts once.
"""

from __future__ import annotations

import copy
import json
import random
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PLATFORMS = ("telegram", "vk", "ok", "incident_management", "pos", "kamchatka", "kuzbass_online", "max")
SAMPLE_PREFIX = {"telegram": "telegram_", "vk": "vk_", "ok": "ok_", "incident_management": "im_",
                 "pos": "pos_", "kamchatka": "kvp_", "kuzbass_online": "ko_", "max": "max_"}
DEEP = 5_000  # deeper than json's and Python's recursion limits


class Deep:
    """A placeholder for `depth` nested lists around `inner`; expanded without recursion, so it
    can be built at any depth (json.dumps of it would itself overflow the stack)."""

    def __init__(self, depth: int = DEEP, inner: Any = 1) -> None:
        self.depth = depth
        self.inner = inner


REPLACEMENTS: tuple[Any, ...] = (
    None, True, False, 0, -1, 1, 2**31, 2**63, 2**64 + 7, -(2**63) - 1, 10**30, 10**400,
    1.5, -0.0, 1e308, -1e308, 1e-300, "", "0", "-1", "abc", "12abc", "1e400", "9" * 40,
    "\x00", "a\x00b", "\ud800", "x\udfffy", "𝔘", "x" * 10_000, "2026-13-45T99:99:99",
    "9999-12-31T23:59:59+14:00", "0001-01-01T00:00:00-12:00", "0000-00-00", "null",
    [], [None], [1, "a"], {}, {"": None}, {"id": None},
)


def samples(platform: str) -> list[Any]:
    """Every real payload we have of a platform: shared/payload_samples, the test samples and
    each recorded HTTP response of the fixtures."""
    out: list[Any] = []
    prefix = SAMPLE_PREFIX[platform]
    dirs = [ROOT.parent / "shared" / "payload_samples", ROOT / "tests" / "connectors" / platform / "samples"]
    for d in dirs:
        for path in sorted(d.glob(f"{prefix}*.json")) if d.is_dir() else []:
            out.append(json.loads(path.read_text(encoding="utf-8")))
    for cassette in cassettes(platform).values():
        for it in cassette["interactions"]:
            if "json" in it["response"]:
                out.append(it["response"]["json"])
    return out


def cassettes(platform: str) -> dict[str, dict[str, Any]]:
    d = ROOT / "fixtures" / platform
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(d.glob("*.json"))}


def _nodes(value: Any, path: tuple = ()) -> Iterator[tuple]:
    """Paths of every node, iteratively (a sample is never deep, but a mutated one may be)."""
    stack = [(value, path)]
    while stack:
        v, p = stack.pop()
        yield p
        if isinstance(v, dict):
            stack += [(child, (*p, k)) for k, child in v.items()]
        elif isinstance(v, list):
            stack += [(child, (*p, i)) for i, child in enumerate(v)]


def _get(value: Any, path: tuple) -> Any:
    for k in path:
        value = value[k]
    return value


def _new_value(rnd: random.Random, old: Any) -> Any:
    op = rnd.randrange(10)
    if op <= 5:
        return copy.copy(rnd.choice(REPLACEMENTS))
    if op == 6:
        return [old]
    if op == 7:
        return {rnd.choice(["id", "items", "x", "0"]): old}
    if op == 8:
        return Deep(rnd.choice([50, 999, DEEP]), old if not isinstance(old, dict | list) else 1)
    return str(old) if not isinstance(old, str) else rnd.choice([None, 0, [old]])


def mutate(value: Any, rnd: random.Random, count: int | None = None) -> Any:
    """A copy of `value` with 1 to 3 (or `count`) mutations. The root itself can be replaced."""
    value = copy.deepcopy(value)
    for _ in range(count if count is not None else rnd.choice([1, 1, 1, 2, 3])):
        paths = list(_nodes(value))
        path = rnd.choice(paths)
        if not path:
            value = _new_value(rnd, value)
            continue
        parent, key = _get(value, path[:-1]), path[-1]
        if isinstance(parent, Deep):
            continue
        if rnd.random() < 0.3:  # delete the key or the list element
            del parent[key]
        else:
            parent[key] = _new_value(rnd, parent[key])
    return value


def materialize(value: Any) -> Any:
    """The plain JSON value (Deep placeholders expanded into nested lists)."""
    if isinstance(value, Deep):
        out: Any = materialize(value.inner)
        for _ in range(value.depth):
            out = [out]
        return out
    if isinstance(value, dict):
        return {k: materialize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [materialize(v) for v in value]
    return value


def to_json_text(value: Any) -> str:
    """JSON text of a mutated value, ASCII only (lone surrogates as \\ud800 escapes, which is how a
    platform would send them); deep placeholders are spliced in as text."""
    deep: list[Deep] = []

    def default(o: Any) -> Any:
        if isinstance(o, Deep):
            deep.append(o)
            return f"\u0001DEEP{len(deep) - 1}\u0001"
        raise TypeError(type(o).__name__)

    text = json.dumps(value, default=default)
    for i, d in enumerate(deep):
        inner = to_json_text(d.inner)
        text = text.replace(json.dumps(f"\u0001DEEP{i}\u0001"), "[" * d.depth + inner + "]" * d.depth)
    return text


def crash_site(exc: BaseException) -> str:
    """`ExcType at path:line` of the innermost frame in the project's code (not this module's)."""
    frames = traceback.extract_tb(exc.__traceback__)
    site = None
    for f in frames:
        path = Path(f.filename)
        if ROOT in path.parents and "site-packages" not in f.filename and path.name != "fuzzing.py":
            rel = path.relative_to(ROOT)
            if rel.parts[0] not in ("tests", "bench"):
                site = f"{rel}:{f.lineno}"
    if site is None and frames:
        site = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}"
    return f"{type(exc).__name__} at {site}"


# -- the poll path: a connector against a cassette whose recorded answers carry the mutation ------

BASE_URLS = {"telegram": "https://api.telegram.test", "vk": "https://api.vk.test", "ok": "http://ok.test",
             "incident_management": "http://im.test", "pos": "http://pos.test", "kamchatka": "http://kvp.test",
             "kuzbass_online": "http://ko.test", "max": "https://platform-api2.max.ru"}
SECRETS = {
    "telegram": {"token": "123456:test-token", "webhook_secret": "test-webhook-secret"},
    "vk": {"token": "{token}", "service_token": "{service_token}", "user_token": "{user_token}",
           "callback_secret": "{callback_secret}"},
    "ok": {"access_token": "tok-for-replay", "application_secret_key": "secret-for-replay",
           "bot_token": "bot-replay"},
    "incident_management": {"token": "secret"},
    "pos": {"username": "operator", "password": "secret", "client_id": "client",
            "client_secret": "client-secret"},
    "kamchatka": {"api_key": "secret"},
    "kuzbass_online": {"token": "secret"},
    "max": {"token": "max-fuzz-token", "webhook_secret": "max-fuzz-secret"},
}
OPTIONS = {
    "telegram": {"poll_timeout": 0, "retry_backoff": 0.001},
    "vk": {"group_id": 218000001, "wait": 0, "read_backoff": 0.001, "backfill_days": 1},
    "ok": {"application_key": "CBAEMULATORABABABA", "group_id": "70000000000001", "retry_wait": 0,
           "rps": 1000, "backfill_hours": 1e7, "reply_window_hours": 1e7},
    "incident_management": {"retry_wait": 0, "read_attempts": 2},
    "pos": {"retry_wait": 0, "read_attempts": 2},
    "kamchatka": {"retry_wait": 0, "read_attempts": 2, "rps": 100},
    "kuzbass_online": {"retry_wait": 0, "read_attempts": 2, "rps": 100, "executor": "Администрация"},
    "max": {"poll_timeout": 0, "retry_backoff": 0.001, "read_attempts": 2},
}
# Scenarios recorded with other options than OPTIONS (the requests they expect differ).
SCENARIO_OPTIONS = {("ok", "pagination"): {"page_size": 50}}
VK_CLOCK = 1_767_250_800 + 300  # the VK recordings' clock
STEPS = 4  # fetches per run, each from the cursor the previous one returned


class NoWait:
    async def wait(self, key: str, rate: int, per: float = 1.0) -> None:
        return None


_SSL: list = []


def make_connector(platform: str, options: dict[str, Any] | None = None):
    """The connector with its own httpx client (closed by aclose) sharing one TLS context: building
    one per client costs a quarter of a second of certificate loading, and respx answers anyway."""
    import ssl

    import httpx

    from connectors.base import SourceConfig
    from connectors.registry import connector_class

    if not _SSL:
        _SSL.append(ssl.create_default_context())
    cfg = SourceConfig(name=f"{platform}:fuzz", platform=platform, base_url=BASE_URLS[platform],
                       secrets=SECRETS[platform], options={**OPTIONS[platform], **(options or {})})
    conn = connector_class(platform)(cfg, limiter=NoWait(), client=httpx.AsyncClient(verify=_SSL[0]))
    conn._own_client = True
    if platform == "vk":
        conn.clock = lambda: VK_CLOCK
    return conn


def with_mutated_response(cassette: dict[str, Any], index: int, body: Any) -> dict[str, Any]:
    """The cassette with interaction `index` answering `body` (as ASCII JSON text)."""
    out = copy.deepcopy(cassette)
    response = out["interactions"][index]["response"]
    response.pop("json", None)
    response["text"] = to_json_text(body)
    response.setdefault("headers", {})["content-type"] = "application/json"
    return out


def _reply_for(platform: str, cassette: dict[str, Any], messages: list) -> Any:
    from otklik.models import Attachment, Reply, Thread

    if platform == "ok" and "comment" in cassette:
        c = cassette["comment"]
        thread = Thread(kind="discussion", ids={"discussion_id": c["discussion_id"],
                                                "discussion_type": "GROUP_TOPIC", "comment_id": c["id"]})
    elif messages:
        thread = messages[0].thread
    else:
        return None
    return Reply(id="fuzz-reply", source=f"{platform}:fuzz", platform=platform, thread=thread,
                 text="Здравствуйте! Ответ.", outcome="solved",
                 attachments=[Attachment(type="photo", url="https://example.test/a.jpg")])


async def run_poll(
    platform: str, cassette: dict[str, Any], reply: Any = None, steps: int = STEPS
) -> tuple[list, list]:
    """fetch (following the cursor), then send and find_posted of `reply`, then check, against the
    cassette: the results and the uncaught exceptions (ConnectorError is an answer, not a crash)."""
    import asyncio

    import respx

    from connectors.errors import ConnectorError
    from sandbox.cassette import mount

    results: list = []
    crashes: list[BaseException] = []
    conn = make_connector(platform, SCENARIO_OPTIONS.get((platform, cassette.get("scenario"))))

    async def attempt(coro_fn) -> Any:
        try:
            return await asyncio.wait_for(coro_fn(), timeout=20)
        except ConnectorError:
            return None
        except Exception as exc:  # noqa: BLE001 - what the fuzzer is looking for
            crashes.append(exc)
            return None

    with respx.mock(assert_all_called=False) as router:
        mount(router, cassette, BASE_URLS[platform])
        # The reply's photo, for the connectors that fetch it to upload it (a 1x1 GIF).
        router.get("https://example.test/a.jpg").respond(
            200, content=b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", headers={"content-type": "image/gif"})
        cursor = cassette.get("cursor")
        for _ in range(steps):
            batch = await attempt(lambda c=cursor: conn.fetch(c))
            if batch is None:
                break
            results.append(batch)
            cursor = batch.next_cursor or cursor
            if not batch.has_more:
                break
        if reply is not None:
            results.append(await attempt(lambda: conn.send(reply)))
            results.append(await attempt(lambda: conn.find_posted(reply)))
        results.append(await attempt(conn.check))
    await conn.aclose()
    return results, crashes


def reply_templates(platform: str) -> dict[str, Any]:
    """Per scenario: a reply to the first message the unmutated cassette yields (for send paths)."""
    import asyncio

    out = {}
    for name, cassette in cassettes(platform).items():
        results, _ = asyncio.run(run_poll(platform, cassette))
        messages = [m for b in results if hasattr(b, "messages") for m in b.messages]
        out[name] = _reply_for(platform, cassette, messages)
    return out


# -- the parsing entry points: each takes any JSON value ------------------------------------------

def entry_points(platform: str) -> dict[str, Any]:
    """name -> function of one payload. Besides each connector's `parse` (what `otklik normalize`
    and webhooks use), the mapping functions the poll path hands single items to."""
    from connectors.registry import connector_class
    from otklik.models import EventKind

    cls = connector_class(platform)
    src = f"{platform}:fuzz"
    out: dict[str, Any] = {"parse": lambda p: cls.parse(p, source=src)}
    if platform == "telegram":
        from connectors.telegram import mapping as tg

        out["map_update"] = lambda p: tg.map_update(p, src)
        out["map_message"] = lambda p: tg.map_message(p, EventKind.NEW, src)
    elif platform == "vk":
        from connectors.vk import mapping as vk

        out["map_event"] = lambda p: vk.map_event(p, src, 218000001)
        out["map_response"] = lambda p: vk.map_response(p, src, group_id=218000001)
        out["map_item"] = lambda p: vk.map_item(p, src, group_id=218000001)
    elif platform == "ok":
        from connectors.ok import mapping as ok

        out["map_comment"] = lambda p: ok.map_comment(p, source=src, group_id="70000000000001")
        out["map_mediatopic"] = lambda p: ok.map_mediatopic(p, source=src)
        out["map_discussion"] = lambda p: ok.map_discussion(p, source=src)
        out["map_chat_message"] = lambda p: ok.map_chat_message(p, source=src)
    elif platform == "incident_management":
        from connectors.incident_management import mapping as im

        out["map_incident"] = lambda p: im.map_incident(p, src)
        out["social_thread"] = lambda p: im.social_thread(p)
    elif platform == "pos":
        from connectors.pos import mapping as pos

        out["appeal_message"] = lambda p: pos.appeal_message(p, src)
        out["status_changes"] = lambda p: pos.status_changes(p)
    elif platform == "kamchatka":
        from connectors.kamchatka import mapping as kvp

        out["message_of"] = lambda p: kvp.message_of(p, src)
        out["status_changes"] = lambda p: kvp.status_changes(p)
    elif platform == "kuzbass_online":
        from connectors.kuzbass_online import mapping as ko

        out["message_of"] = lambda p: ko.message_of(p, src)
        out["status_changes"] = lambda p: ko.status_changes(p)
    elif platform == "max":
        from connectors.max import mapping as mx

        out["map_update"] = lambda p: mx.map_update(p, src, 9_000_001)
        out["map_message"] = lambda p: mx.map_message(p, EventKind.NEW, src)
    return out


def check_parsed(result: Any) -> None:
    """What a parser returns must be valid: Messages (or StatusChanges, or a thread tuple) that
    serialize. Raises AssertionError otherwise."""
    from connectors.parsing import check_result
    from otklik.models import Message, StatusChange

    def walk(value: Any) -> None:
        if isinstance(value, list | tuple):
            for v in value:
                walk(v)
        elif isinstance(value, Message | StatusChange):
            check_result(value)
        elif value is not None and not isinstance(value, str | bool) and type(value).__name__ not in (
            "Platform", "Thread"
        ):
            raise AssertionError(f"a parser returned {type(value).__name__}")

    walk(result)


def try_parse(fn: Any, payload: Any) -> BaseException | None:
    """None when `fn` answered validly or raised our own error; else the exception (the crash)."""
    from connectors.errors import ConnectorError

    try:
        check_parsed(fn(payload))
    except ConnectorError:
        return None
    except Exception as exc:  # noqa: BLE001 - what the fuzzer is looking for
        return exc
    return None
