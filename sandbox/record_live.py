"""Record a connector's exchanges with a platform into a cassette (sandbox/cassette.py format):
against the platform's emulator, or — opt-in, with a person's own tokens — against the real API.
NEVER run against real APIs in CI: it refuses when the CI environment variable is set.

    # the emulator, started here; simulated citizens write first (no tokens needed)
    .venv/bin/python -m sandbox.record_live --platform telegram --scenario first_sync --emulator

    # the real API: secrets come from environment variables, never from the command line
    OTKLIK_RECORD_SECRET_TOKEN=123:ABC… .venv/bin/python -m sandbox.record_live \\
        --platform telegram --scenario first_sync --out var/recordings

Scenarios: `first_sync` (one fetch from scratch), `incremental_sync` (fetch, then fetch again from
the cursor it returned — on the real Telegram this confirms updates, so it needs --allow-advance),
`check` (token and permissions). Nothing is ever posted to a real platform.

Scrubbing: sandbox/recorder.py replaces the known secret values and people's names; for real
recordings `StrictRecorder` also replaces anything that looks secret by its parameter name
(access_token, sig, secret, password, *_key…), bot tokens and `?access_token=` inside any string,
Bearer tokens, phone numbers and e-mail addresses (with fixed fakes), and profile photo links.
Free-text names inside messages cannot be found reliably: read a real recording before sharing it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from connectors.base import SourceConfig
from connectors.errors import ConnectorError
from connectors.registry import CONNECTORS, connector_class
from sandbox.cassette import FIXTURES_DIR
from sandbox.recorder import Recorder

SCENARIOS = ("first_sync", "incremental_sync", "check")
ENV_PREFIX = "OTKLIK_RECORD_SECRET_"
FAKE_PHONE = "+7 900 000-00-00"
FAKE_EMAIL = "citizen@example.com"
FAKE_PHOTO = "https://example.com/photo.jpg"

SECRET_KEY = re.compile(
    r"(^|_)(token|secret|sig|signature|password|passwd|key|apikey|authorization|cookie|"
    r"session_secret_key|hash)$"
)
# Name fields the shared recorder does not know (Russian registries spell a person out in parts).
MORE_NAME_FIELDS = frozenset(
    {
        "surname",
        "patronymic",
        "middle_name",
        "second_name",
        "display_name",
        "user_name",
        "login",
        "applicant_name",
        "author_display_name",
    }
)
PHONE_FIELDS = frozenset(
    {"phone", "phone_number", "mobile_phone", "home_phone", "telephone", "tel", "mobile"}
)
EMAIL_FIELDS = frozenset({"email", "e_mail", "mail"})
PHOTO_FIELD = re.compile(r"^(photo|avatar|pic)(_|$)|_(photo|avatar|pic)(_url)?$|^profile_url$")
PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"/bot(?!\{)[^/\s?#]+/"), "/bot{token}/"),  # Telegram's token in a path
    (re.compile(r"\b\d{6,12}:[A-Za-z0-9_-]{30,}\b"), "{token}"),  # a Telegram bot token anywhere
    (re.compile(r"(?i)\b(bearer|oauth)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 {token}"),
    (
        re.compile(
            r"(?i)([?&](?:access_token|token|sig|secret|key|api_key|password|session_key)=)[^&#\s\"']+"
        ),
        r"\1{secret}",
    ),
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), FAKE_EMAIL),
    (re.compile(r"(?<![\w+])(?:\+7|8|7)[\s(-]*\d{3}[\s)-]*\d{3}[\s-]*\d{2}[\s-]*\d{2}(?!\d)"), FAKE_PHONE),
    (
        re.compile(r"(?<![\w+])\+\d{1,3}[\s(-]*\d{2,4}[\s)-]*\d{2,4}[\s-]*\d{2,4}(?:[\s-]*\d{2,4})?(?!\d)"),
        FAKE_PHONE,
    ),
]


def is_secret_key(key: str) -> bool:
    return bool(SECRET_KEY.search(re.sub(r"[^a-z0-9]+", "_", key.lower()).strip("_")))


def placeholder(key: str) -> str:
    return "{" + (re.sub(r"[^a-z]+", "_", key.lower()).strip("_") or "secret") + "}"


def scrub_text(text: str) -> str:
    for pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class StrictRecorder(Recorder):
    """sandbox/recorder.py's Recorder, plus what real platforms send: secrets found by parameter
    name and by shape, phone numbers, e-mail addresses, profile photos."""

    def scrub(self, value: Any, key: str | None = None) -> Any:
        if isinstance(value, dict):
            return {k: self.scrub(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.scrub(v, key) for v in value]
        field = (key or "").lower()
        if isinstance(value, str | int) and not isinstance(value, bool):
            if field in PHONE_FIELDS:
                return FAKE_PHONE
            if field in EMAIL_FIELDS:
                return FAKE_EMAIL
        if isinstance(value, str):
            if key and is_secret_key(key):
                return placeholder(key)
            if field in MORE_NAME_FIELDS:
                return self._fake(value, "last_name")
            if PHOTO_FIELD.search(field) and value.startswith("http"):
                return FAKE_PHOTO
            return scrub_text(super().scrub(value, key))
        return value


# -- the script ---------------------------------------------------------------------------------
def secrets_from_env(pairs: list[str], environ: dict[str, str] | None = None) -> dict[str, str]:
    """`key=ENV_VAR` pairs, plus every OTKLIK_RECORD_SECRET_<KEY> variable."""
    environ = dict(os.environ if environ is None else environ)
    found = {
        name[len(ENV_PREFIX) :].lower(): v for name, v in environ.items() if name.startswith(ENV_PREFIX) and v
    }
    for pair in pairs:
        key, _, var = pair.partition("=")
        if not var or not environ.get(var):
            raise SystemExit(f"record_live: --secret {pair}: environment variable {var or '?'} is not set")
        found[key] = environ[var]
    return found


def parse_options(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, _, raw = pair.partition("=")
        try:
            out[key] = json.loads(raw)
        except ValueError:
            out[key] = raw
    return out


async def run_scenario(
    connector: Any, scenario: str, between: Callable[[], None] | None = None
) -> dict[str, Any]:
    """Drive the connector; a platform error ends the scenario but its exchange is kept.
    `between` runs after each fetch (citizens write more while we sync)."""
    result: dict[str, Any] = {"scenario": scenario}
    try:
        if scenario == "check":
            result["problems"] = await connector.check()
            return result
        cursor, fetched = None, 0
        for _ in range(1 if scenario == "first_sync" else 3):
            batch = await connector.fetch(cursor)
            fetched += len(batch.messages)
            if between is not None:
                between()
            if not batch.next_cursor or batch.next_cursor == cursor:
                break
            cursor = batch.next_cursor
        result.update(messages=fetched, cursor=cursor)
    except ConnectorError as exc:
        result["error"] = exc.as_dict()
    return result


async def record(
    platform: str,
    scenario: str,
    *,
    base_url: str | None,
    secrets: dict[str, str],
    options: dict[str, Any],
    strict: bool,
    between: Callable[[], None] | None = None,
) -> tuple[Recorder, dict[str, Any]]:
    cls = Recorder if not strict else StrictRecorder
    recorder = cls(
        platform,
        scenario,
        secrets=secrets,
        description=f"recorded by sandbox.record_live from {'a real API' if strict else 'the emulator'}",
    )
    config = SourceConfig(
        name=f"{platform}:record", platform=platform, base_url=base_url, secrets=secrets, options=options
    )
    async with httpx.AsyncClient(
        event_hooks=recorder.hooks(), timeout=httpx.Timeout(40.0, connect=10.0)
    ) as http:
        connector = connector_class(platform)(config, client=http)
        result = await run_scenario(connector, scenario, between)
    return recorder, result


def record_from_emulator(
    platform: str, scenario: str, *, messages: int, seed: int, options: dict[str, Any]
) -> tuple[Recorder, dict[str, Any]]:
    """Start the platform's emulator here, let simulated citizens write, record the connector."""
    from sandbox.registry import emulator_class
    from sandbox.runner import serving
    from sandbox.traffic import TrafficGenerator, TrafficMix, inject_payload

    emulator = emulator_class(platform)(seed=seed)
    generator = TrafficGenerator(seed=seed, shares=TrafficMix(**{k: 0.0 for k in TrafficMix().shares()}))
    with serving(emulator) as server:

        def write() -> None:
            for _ in range(messages):
                server.call(emulator.inject, inject_payload(generator.next_event(), platform))

        write()  # before the first sync, and again after each (a long poll only sees what comes later)
        return asyncio.run(
            record(
                platform,
                scenario,
                base_url=server.url,
                secrets=emulator.demo_secrets(),
                options={**emulator.demo_options(), **options},
                strict=False,
                between=write if scenario == "incremental_sync" else None,
            )
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m sandbox.record_live",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--platform", required=True, choices=sorted(CONNECTORS))
    ap.add_argument("--scenario", required=True, choices=SCENARIOS)
    ap.add_argument(
        "--emulator", action="store_true", help="record against the platform's emulator, started here"
    )
    ap.add_argument("--messages", type=int, default=5, help="with --emulator: citizen messages written first")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--base-url", help="the API's address (default: the platform's real API)")
    ap.add_argument(
        "--secret",
        action="append",
        default=[],
        metavar="KEY=ENV_VAR",
        help=f"take secret KEY from ENV_VAR (also: {ENV_PREFIX}<KEY> variables)",
    )
    ap.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="a source option")
    ap.add_argument(
        "--out",
        type=Path,
        help="directory for <platform>/<scenario>.json "
        "(default: fixtures/ with --emulator, var/recordings/ otherwise)",
    )
    ap.add_argument(
        "--allow-advance",
        action="store_true",
        help="allow incremental_sync against a real API (it confirms what it read)",
    )
    args = ap.parse_args(argv)
    options = parse_options(args.option)
    if args.emulator:
        recorder, result = record_from_emulator(
            args.platform, args.scenario, messages=args.messages, seed=args.seed, options=options
        )
        out = args.out or FIXTURES_DIR
    else:
        if os.environ.get("CI"):
            print("record_live: recording against real APIs is opt-in and never runs in CI", file=sys.stderr)
            return 2
        if args.scenario == "incremental_sync" and not args.allow_advance:
            print(
                "record_live: incremental_sync advances the platform's cursor (Telegram forgets confirmed "
                "updates); pass --allow-advance if that is fine for this account",
                file=sys.stderr,
            )
            return 2
        secrets = secrets_from_env(args.secret)
        recorder, result = asyncio.run(
            record(
                args.platform,
                args.scenario,
                base_url=args.base_url,
                secrets=secrets,
                options=options,
                strict=True,
            )
        )
        out = args.out or Path("var/recordings")
    path = recorder.save(out)
    print(
        json.dumps(
            {**result, "interactions": len(recorder.interactions), "cassette": str(path)}, ensure_ascii=False
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
