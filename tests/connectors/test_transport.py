"""The regional clients' shared plumbing, replayed with respx."""

from __future__ import annotations

import httpx
import pytest
import respx

from connectors.errors import Fatal, Transient
from connectors.ratelimit import LocalLimiter
from connectors.transport import Transport, limit_key, read_retrying

BASE = "https://regional.example"


def make(http: httpx.AsyncClient) -> Transport:
    return Transport(http, BASE + "/", LocalLimiter(), limit_key("im", "secret-token"), 5, "incident_management")


def test_limit_key_is_stable_and_does_not_reveal_the_secret():
    key = limit_key("im", "secret-token")
    assert key == limit_key("im", "secret-token") and key.startswith("im:")
    assert "secret" not in key and key != limit_key("im", "other-token")


@respx.mock
async def test_bodies_decoded_and_broken_ones_named():
    respx.get(BASE + "/ok").respond(json={"a": 1})
    respx.get(BASE + "/empty").respond(204)
    respx.get(BASE + "/proxy").respond(200, text="<html>gateway</html>")
    respx.get(BASE + "/missing").respond(404, text="Not Found")
    async with httpx.AsyncClient() as http:
        t = make(http)
        assert t.decode(await t.send("GET", "/ok"), "GET /ok") == {"a": 1}
        assert t.decode(await t.send("GET", "/empty"), "GET /empty") is None
        with pytest.raises(Transient, match="GET /proxy: malformed response \\(HTTP 200\\)"):
            t.decode(await t.send("GET", "/proxy"), "GET /proxy")
        assert t.decode(await t.send("GET", "/missing"), "GET /missing") is None  # the 404 speaks


@respx.mock
async def test_transport_failures_are_transient():
    respx.get(BASE + "/slow").mock(side_effect=httpx.ReadTimeout("slow"))
    respx.get(BASE + "/down").mock(side_effect=httpx.ConnectError("refused"))
    async with httpx.AsyncClient() as http:
        t = make(http)
        with pytest.raises(Transient, match="timed out"):
            await t.send("GET", "/slow")
        with pytest.raises(Transient, match="ConnectError"):
            await t.send("GET", "/down")


async def test_reads_retry_transient_errors_only():
    calls = []

    async def flaky(exc: Exception) -> str:
        calls.append(exc)
        if len(calls) < 3:
            raise exc
        return "done"

    async for attempt in read_retrying(4, 0.001):
        with attempt:
            result = await flaky(Transient("blip", platform="pos"))
    assert result == "done" and len(calls) == 3
    calls.clear()
    with pytest.raises(Fatal):
        async for attempt in read_retrying(4, 0.001):
            with attempt:
                await flaky(Fatal("no such appeal", platform="pos"))
    assert len(calls) == 1
