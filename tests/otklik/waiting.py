"""Waiting on a daemon started by a test: poll until a condition holds (HTTP errors while it is
still starting count as "not yet")."""

import time

import httpx


def wait_for(predicate, timeout: float = 60.0, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except httpx.HTTPError:
            value = None
        if value:
            return value
        time.sleep(step)
    raise AssertionError("condition not reached in time")
