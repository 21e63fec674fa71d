"""The otklik configuration that points every source at the emulators of `otklik sandbox`:
`otklik init --sandbox` writes it, `otklik sandbox` prints it. The tokens are the emulators' own
made-up ones (they are in this repository): nothing here is a real secret."""

from __future__ import annotations

import json
from pathlib import Path

from sandbox.registry import DEFAULT_PORTS, emulator_class

SECRETS_DIR = "sandbox-secrets"


def source_name(platform: str) -> str:
    return f"sandbox_{platform}"


def default_urls(platforms: list[str], host: str = "127.0.0.1", port_base: int | None = None) -> dict[str, str]:
    """Where `otklik sandbox` (with the same --port-base, or none) serves each platform."""
    from sandbox.server import ports_from

    ports = ports_from(port_base) if port_base else DEFAULT_PORTS
    return {p: f"http://{host}:{ports[p]}" for p in platforms}


def sources_toml(urls: dict[str, str]) -> str:
    """`[[sources]]` tables for the emulators at `urls` (platform -> base URL)."""
    lines: list[str] = []
    for platform, url in urls.items():
        emulator = emulator_class(platform)()
        lines += [
            "[[sources]]",
            f'name = "{source_name(platform)}"',
            f'platform = "{platform}"',
            f'base_url = "{url}"          # the emulator; remove for the real platform',
            "poll_interval = 1",
        ]
        options = emulator.demo_options()
        if options:
            lines.append("[sources.options]")
            lines += [f"{key} = {json.dumps(value, ensure_ascii=False)}" for key, value in options.items()]
        lines.append("")
    return "\n".join(lines)


def secrets(platforms: list[str]) -> dict[str, str]:
    """File name (`<source>.<key>`, as OTKLIK_SECRETS_DIR expects) -> the emulator's token."""
    out: dict[str, str] = {}
    for platform in platforms:
        for key, value in emulator_class(platform)().demo_secrets().items():
            out[f"{source_name(platform)}.{key}"] = value
    return out


def env_lines(platforms: list[str]) -> list[str]:
    """The same secrets as `export OTKLIK_SECRET_<SOURCE>_<KEY>=…` lines, for a shell."""
    from otklik.settings import _env_name  # the settings' own naming rule

    out = []
    for platform in platforms:
        for key, value in emulator_class(platform)().demo_secrets().items():
            out.append(f"export {_env_name(source_name(platform), key)}='{value}'")
    out += [f"export {staff_env(p)}='{token}'" for p, token in _staff_tokens().items() if p in platforms]
    return out


def _staff_tokens() -> dict[str, str]:
    """The emulators' staff bots' tokens (otklik.staffbot), by platform."""
    from sandbox.max.staff import STAFF_TOKEN as MAX_STAFF_TOKEN
    from sandbox.telegram.staff import STAFF_TOKEN as TELEGRAM_STAFF_TOKEN

    return {"telegram": TELEGRAM_STAFF_TOKEN, "max": MAX_STAFF_TOKEN}


def staff_env(platform: str) -> str:
    return f"OTKLIK_SANDBOX_STAFF_{platform.upper()}_TOKEN"


def staff_bot_toml(urls: dict[str, str], secrets_dir: str | None) -> str:
    """`[staff_bot]` on the Telegram and MAX emulators among `urls`: their second bot writes staff
    notifications. Tokens as files in `secrets_dir`, or (None) as the environment variables
    `env_lines` exports."""
    on = [p for p in _staff_tokens() if p in urls]
    if not on:
        return ""
    lines = ["[staff_bot]                      # the staff bot (notifications to staff) on the same emulators"]
    for p in on:
        ref = f"file:{secrets_dir}/staff_bot.{p}_token" if secrets_dir else f"env:{staff_env(p)}"
        # Indented (TOML allows it): a line of `otklik sandbox` that starts with a platform's
        # name is that emulator's address, for people and scripts reading its output.
        lines += [f"  {p} = true", f'  {p}_token = "{ref}"', f'  {p}_base_url = "{urls[p]}"']
    return "\n".join([*lines, "  poll_timeout = 1", ""])


def config_toml(urls: dict[str, str], secrets_dir: str = SECRETS_DIR, *, staff_from_env: bool = False) -> str:
    head = [
        "# otklik against the platform emulators: run `otklik sandbox` in one terminal,",
        "# `otklik run` and `otklik worker` in others (written by `otklik init --sandbox`).",
        'profile = "severny"              # the municipality\'s regulation profile (regulation/profiles/)',
        "http_port = 8700                 # /healthz, /metrics, /api/…",
        f'secrets_dir = "{secrets_dir}"    # the emulators\' tokens, one file <source>.<key> each',
        "relay_interval = 0.2             # seconds between outbox passes (approved replies go out quickly)",
        "",
    ]
    staff = staff_bot_toml(urls, None if staff_from_env else secrets_dir)
    return "\n".join(head) + "\n" + sources_toml(urls) + ("\n" + staff if staff else "")


def write_secrets(directory: Path, platforms: list[str]) -> list[Path]:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    written = []
    staff = {f"staff_bot.{p}_token": token for p, token in _staff_tokens().items() if p in platforms}
    for name, value in {**secrets(platforms), **staff}.items():
        path = directory / name
        path.write_text(value + "\n", encoding="utf-8")
        path.chmod(0o600)
        written.append(path)
    return written
