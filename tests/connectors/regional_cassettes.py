"""What the regional platforms' cassette tests share (kamchatka, kuzbass_online, incident_management,
pos): the replay fixture, reading every page, and the recorded payloads a parser must accept. Each
platform keeps its own connector options, replies and assertions in its test file."""

from collections.abc import Iterator

import pytest
import respx

from sandbox import cassette


def replay_fixture(platform: str, base: str):
    """A `replay` fixture: `replay(scenario)` mounts the recorded exchanges of fixtures/<platform>
    on respx and returns (the requests seen, the recording)."""

    @pytest.fixture(name="replay")
    def replay():
        with respx.mock(assert_all_called=False) as router:
            yield lambda scenario: (
                cassette.mount(router, cassette.load(platform, scenario), base),
                cassette.load(platform, scenario),
            )

    return replay


async def read_pages(conn) -> tuple[list[list[str]], str | None]:
    """Fetches until the platform says there is no more: the external ids of each page, the cursor."""
    pages, cursor = [], None
    while True:
        batch = await conn.fetch(cursor)
        pages.append([m.external_id for m in batch.messages])
        cursor = batch.next_cursor or cursor
        if not batch.has_more:
            break
    return pages, cursor


def recorded_responses(platform: str, scenarios: tuple[str, ...]) -> Iterator[dict]:
    """Every response recorded in these scenarios, for the parser checks."""
    for name in scenarios:
        for it in cassette.load(platform, name)["interactions"]:
            yield it["response"]
