"""Every parser is total (issue 15): mutated real payloads — the shared samples, the test samples
and every recorded answer of the cassettes — fed to each platform's parsing entry points and to
its poll path (fetch following the cursor, send, find_posted, check, against respx). Only our own
ConnectorError may come out, and what comes back is valid (serializable Messages and StatusChanges).
One broken item of a good page is set aside in Batch.rejected, the others and the cursor go on.

Bounded and deterministic (derandomize); bench/fuzz_parsers.py runs the large campaign."""

from __future__ import annotations

import asyncio
import copy
import os

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from connectors import fuzzing
from connectors.errors import Malformed
from connectors.parsing import UNREADABLE, map_each, safe_raw, total
from otklik.models import Batch, Rejected

# FUZZ_EXAMPLES scales the run (the default keeps the file under about a minute).
SCALE = float(os.environ.get("FUZZ_EXAMPLES_SCALE", "1"))
PARSE_EXAMPLES = int(100 * SCALE)
POLL_EXAMPLES = int(10 * SCALE)
ITEM_EXAMPLES = int(10 * SCALE)
QUIET = settings(derandomize=True, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

SEEDS = {p: fuzzing.samples(p) for p in fuzzing.PLATFORMS}
ENTRIES = {p: fuzzing.entry_points(p) for p in fuzzing.PLATFORMS}


def test_every_platform_has_seeds():
    for platform, seeds in SEEDS.items():
        assert len(seeds) >= 5, platform


@pytest.mark.parametrize("platform", fuzzing.PLATFORMS)
@settings(QUIET, max_examples=PARSE_EXAMPLES)
@given(data=st.data())
def test_parsers_are_total(platform, data):
    seed = data.draw(st.sampled_from(SEEDS[platform]), label="seed")
    rnd = data.draw(st.randoms(use_true_random=False), label="rnd")
    payload = fuzzing.materialize(fuzzing.mutate(seed, rnd))
    for name, fn in ENTRIES[platform].items():
        exc = fuzzing.try_parse(fn, payload)
        assert exc is None, f"{name}: {fuzzing.crash_site(exc)}"


@pytest.mark.parametrize("platform", fuzzing.PLATFORMS)
@pytest.mark.parametrize(
    "payload",
    [None, 0, -1, 2**64, 1.5, "", "x", [], {}, [[]], {"": {}}, fuzzing.materialize(fuzzing.Deep(100_000))],
    ids=lambda p: type(p).__name__,
)
def test_any_json_value(platform, payload):
    for name, fn in ENTRIES[platform].items():
        exc = fuzzing.try_parse(fn, payload)
        assert exc is None, f"{name}: {fuzzing.crash_site(exc)}"


TEMPLATES: dict[str, dict] = {}


def templates(platform: str) -> dict:
    if platform not in TEMPLATES:
        TEMPLATES[platform] = fuzzing.reply_templates(platform)
    return TEMPLATES[platform]


@pytest.mark.parametrize("platform", fuzzing.PLATFORMS)
@settings(QUIET, max_examples=POLL_EXAMPLES)
@given(data=st.data())
def test_the_poll_path_is_total(platform, data):
    cassettes = fuzzing.cassettes(platform)
    name = data.draw(st.sampled_from(sorted(cassettes)), label="scenario")
    cassette = cassettes[name]
    with_json = [i for i, it in enumerate(cassette["interactions"]) if "json" in it["response"]]
    assume(with_json)
    index = data.draw(st.sampled_from(with_json), label="answer")
    rnd = data.draw(st.randoms(use_true_random=False), label="rnd")
    body = fuzzing.mutate(cassette["interactions"][index]["response"]["json"], rnd)
    results, crashes = asyncio.run(
        fuzzing.run_poll(platform, fuzzing.with_mutated_response(cassette, index, body), templates(platform).get(name))
    )
    assert not crashes, [fuzzing.crash_site(c) for c in crashes]
    for r in results:
        if isinstance(r, Batch):
            fuzzing.check_parsed(r.messages)
            fuzzing.check_parsed(r.status_changes)


# One page of items, one of them broken: (scenario, interaction, key of the item list, id key).
PAGES = {
    "telegram": ("first_sync", 0, "result", "update_id"),
    "vk": ("incremental_sync", 2, "updates", None),
    "ok": ("pagination", 1, "comments", "id"),
    "incident_management": ("first_sync", 0, "items", "id"),
    "pos": ("first_sync", 1, "content", "id"),
    "kamchatka": ("first_sync", 0, "data", "id"),
    "kuzbass_online": ("first_sync", 0, "items", "id"),
    "max": ("first_sync", 1, "updates", None),
}


def _drain(platform: str, cassette: dict) -> tuple[set[str], list[Rejected], list]:
    results, crashes = asyncio.run(fuzzing.run_poll(platform, cassette, steps=12))
    assert not crashes, [fuzzing.crash_site(c) for c in crashes]
    batches = [r for r in results if isinstance(r, Batch)]
    return ({m.external_id for b in batches for m in b.messages},
            [x for b in batches for x in b.rejected], batches)


@pytest.mark.parametrize("platform", fuzzing.PLATFORMS)
@settings(QUIET, max_examples=ITEM_EXAMPLES)
@given(data=st.data())
def test_one_broken_item_does_not_fail_its_page(platform, data):
    scenario, index, key, id_key = PAGES[platform]
    cassette = fuzzing.cassettes(platform)[scenario]
    body = cassette["interactions"][index]["response"]["json"]
    items = body[key]
    k = data.draw(st.integers(0, len(items) - 2), label="item")  # not the last: it may carry the cursor
    rnd = data.draw(st.randoms(use_true_random=False), label="rnd")
    broken = fuzzing.mutate(items[k], rnd)
    # A JSON text nested past the decoder's limit is unreadable as a whole (Malformed), not an item.
    assume(not _has_deep(broken))
    others = [it for i, it in enumerate(items) if i != k]
    if id_key is not None and isinstance(broken, dict):
        assume(broken.get(id_key) not in [it.get(id_key) for it in others])  # not a duplicate of another

    def page(new_items):
        return fuzzing.with_mutated_response(cassette, index, {**body, key: new_items})

    without, _, base_batches = _drain(platform, page(others))
    got, rejected, batches = _drain(platform, page(items[:k] + [broken] + items[k + 1:]))
    assert batches, "the page failed as a whole"
    assert without <= got  # the other items' messages all came through
    assert batches[-1].next_cursor == base_batches[-1].next_cursor or batches[-1].next_cursor is not None
    for r in rejected:
        assert isinstance(r, Rejected) and r.reason and len(r.reason) <= 300


def _has_deep(value) -> bool:
    if isinstance(value, fuzzing.Deep):
        return value.depth >= 500 or _has_deep(value.inner)
    if isinstance(value, dict):
        return any(_has_deep(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_deep(v) for v in value)
    return False


def test_a_rejected_item_keeps_its_raw_payload_and_says_why_without_text():
    rejected: list[Rejected] = []
    secret = "Иванов И.И., +7 900 000-00-00"
    out = map_each([{"id": 1, "n": "2"}, {"id": 2, "n": secret}], lambda it: int(it["n"]), platform="vk",
                   rejected=rejected, id_of=lambda it: it["id"])
    assert out == [2]
    [r] = rejected
    assert r.raw == {"id": 2, "n": secret} and r.external_id == "2"
    assert "ValueError" in r.reason and secret not in r.reason and "+7" not in r.reason


def test_malformed_names_the_function_not_the_data():
    @total("vk")
    def read(payload):
        return int(payload["count"])

    with pytest.raises(Malformed) as exc:
        read({"count": "Петров, ул. Лесная 5"})
    assert "read" in str(exc.value) and "Лесная" not in str(exc.value) and exc.value.platform == "vk"


def test_safe_raw_stores_what_json_and_the_database_cannot():
    value = {"s": "a\x00\ud800b", "big": 2**70, "deep": fuzzing.materialize(fuzzing.Deep(500)), 1: float("inf")}
    raw = safe_raw(value)
    assert raw["s"] == "a?b" and raw["big"] == str(2**70) and raw["1"] == "inf"
    import json

    json.dumps(raw, ensure_ascii=False).encode("utf-8")  # storable: no lone surrogates, depth capped


def test_only_expected_exceptions_are_caught():
    assert issubclass(KeyError, UNREADABLE) and not issubclass(RuntimeError, UNREADABLE)
    rejected: list[Rejected] = []
    with pytest.raises(RuntimeError):
        map_each([1], lambda _: (_ for _ in ()).throw(RuntimeError("a bug")), platform="vk", rejected=rejected)


@pytest.mark.parametrize("chat_id", ["chat:a\x00b", "chat/../x", "x" * 300, "chat:1?x=1"])
def test_an_ok_chat_id_that_is_not_an_id_is_set_aside(chat_id):
    """Found by the campaign: a chat id goes into the Bot API's URL path (httpx.InvalidURL)."""
    cassette = fuzzing.cassettes("ok")["first_sync"]
    [index] = [i for i, it in enumerate(cassette["interactions"]) if it["request"]["path"] == "/graph/me/chats"]
    body = copy.deepcopy(cassette["interactions"][index]["response"]["json"])
    body["chats"][0]["chat_id"] = chat_id
    results, crashes = asyncio.run(fuzzing.run_poll("ok", fuzzing.with_mutated_response(cassette, index, body)))
    assert not crashes, [fuzzing.crash_site(c) for c in crashes]
    [batch] = [r for r in results if isinstance(r, Batch)]
    assert any(r.reason == "a chat id that is not an id" for r in batch.rejected)
    assert batch.messages  # the discussions' messages still came through
