"""`otklik sources check`: per source, what was checked and what was found — its options, its
secrets (required and optional, by name only, never the values) and what the platform says of the
credentials. Only a required thing missing or refused fails the check; an optional one is reported."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from connectors.base import Advice
from connectors.errors import ConnectorError
from connectors.options import options_model
from connectors.registry import connector_class
from otklik.settings import Settings, SourceSettings, secret_hint


@dataclass
class SourceReport:
    name: str
    platform: str
    lines: list[str] = field(default_factory=list)
    failed: bool = False
    optional_missing: int = 0

    def headline(self) -> str:
        if self.failed:
            verdict = "FAILED"
        elif self.optional_missing:
            verdict = f"OK ({self.optional_missing} optional thing(s) missing)"
        else:
            verdict = "OK"
        return f"{self.name} ({self.platform}): {verdict}"


def missing_required_secrets(settings: Settings, src: SourceSettings) -> list[str]:
    """The required secrets of a source found nowhere (for `config check` too)."""
    model = options_model(src.platform.value)
    found = settings.resolve_source(src).secrets
    return [key for key in model.REQUIRED_SECRETS if key not in found]


async def check_source(settings: Settings, src: SourceSettings) -> SourceReport:
    platform = src.platform.value
    report = SourceReport(src.name, platform)
    model = options_model(platform)
    shown = ", ".join(f"{k} = {v!r}" for k, v in sorted(src.options.items())) or "none set, defaults apply"
    report.lines.append(f"options valid ({shown})")
    cfg = settings.resolve_source(src)
    for key, why in model.REQUIRED_SECRETS.items():
        if key in cfg.secrets:
            report.lines.append(f"secret {key}: found")
        else:
            report.failed = True
            report.lines.append(f"secret {key}: MISSING, required ({why}); {secret_hint(src, key)}")
    for key, why in model.OPTIONAL_SECRETS.items():
        if key in cfg.secrets:
            report.lines.append(f"secret {key}: found")
        else:
            report.lines.append(f"secret {key}: absent, optional ({why})")
    if not src.enabled:
        report.lines.append("platform: not contacted (the source is disabled)")
        return report
    if report.failed:
        report.lines.append("platform: not contacted (a required secret is missing)")
        return report
    problems = await _ask_platform(cfg)
    required = [p for p in problems if not isinstance(p, Advice)]
    advice = [p for p in problems if isinstance(p, Advice)]
    report.failed = bool(required)
    report.optional_missing = len(advice)
    report.lines.append(f"platform: checked {model.CHECKS}: " + ("OK" if not required else "; ".join(required)))
    report.lines += [f"optional: {a}" for a in advice]
    return report


async def _ask_platform(cfg) -> list[str]:
    connector = None
    try:
        connector = connector_class(cfg.platform.value)(cfg)
        return list(await connector.check())
    except ConnectorError as exc:
        return [f"{exc.kind}: {exc}"]
    except Exception as exc:  # noqa: BLE001 - one plain line for the operator, never a traceback
        first = (str(exc).splitlines() or [""])[0][:200]
        return [f"{type(exc).__name__}: {first}"]
    finally:
        if connector is not None:
            with contextlib.suppress(Exception):
                await connector.aclose()
