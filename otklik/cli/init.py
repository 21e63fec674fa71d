"""`otklik init`: a commented otklik.toml to start from — for chosen platforms, every option of
their connectors shown with its meaning and default (from connectors/<platform>/options.py), or
with `--sandbox` one that points every source at the emulators of `otklik sandbox`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from otklik.exceptions import OtklikError

HEAD = """\
# otklik configuration, written by `otklik init`. Check it with `otklik config check`,
# then the platforms' answers with `otklik sources check`.
# Secrets never go in this file: set OTKLIK_SECRET_<SOURCE>_<KEY> in the environment, or put a
# file <source>.<key> in OTKLIK_SECRETS_DIR (systemd LoadCredential=, container secrets).

profile = "{profile}"              # the municipality's regulation profile: sobolevo, zarechny, moskalensky, severny, tashtagol
http_host = "127.0.0.1"          # the daemon's HTTP server: /healthz, /metrics, /webhooks/…, /api/…
http_port = 8700
# log_level = "INFO"

# [notify]                       # immediate reports to the head
# telegram_source = "telegram_main"
# telegram_chat_id = "-1001234567890"

# [mail]                         # SMTP for answers by e-mail, notices and reports
# host = "smtp.example.org"
# port = 587
# security = "starttls"
# sender = "otvet@example.org"
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("init", help="write a commented otklik.toml for the chosen platforms")
    p.add_argument("--platforms", help="comma-separated, e.g. vk,telegram (default: all)")
    p.add_argument("--sandbox", action="store_true",
                   help="point every source at `otklik sandbox` (with the emulators' tokens in ./sandbox-secrets)")
    p.add_argument("--port-base", type=int,
                   help="with --sandbox: the emulators' ports as `otklik sandbox --port-base` gives them")
    p.add_argument("--profile", default="severny", help="the regulation profile (default severny)")
    p.add_argument("--path", default="otklik.toml", help="where to write (default ./otklik.toml)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(func=cmd_init)


def _platforms(arg: str | None, known: list[str]) -> list[str]:
    chosen = [p.strip() for p in arg.split(",") if p.strip()] if arg else list(known)
    unknown = [p for p in chosen if p not in known]
    if unknown:
        raise OtklikError(f"no platform {', '.join(unknown)}; known: {', '.join(known)}")
    return chosen


def cmd_init(args: argparse.Namespace) -> int:
    from connectors.registry import CONNECTORS

    path = Path(args.path)
    if path.exists() and not args.force:
        raise OtklikError(f"{path} exists; --force overwrites it")
    if args.sandbox:
        from sandbox import config as sandbox_config
        from sandbox.registry import EMULATORS

        platforms = _platforms(args.platforms, list(EMULATORS))
        secrets_dir = path.parent / sandbox_config.SECRETS_DIR
        urls = sandbox_config.default_urls(platforms, port_base=args.port_base)
        text = sandbox_config.config_toml(urls, str(secrets_dir.resolve()))
        path.write_text(text, encoding="utf-8")
        sandbox_config.write_secrets(secrets_dir, platforms)
        print(f"wrote {path} ({len(platforms)} sources on the emulators) and their tokens in {secrets_dir}/")
        print("next: `otklik sandbox` in one terminal, `otklik run` and `otklik worker` in two others")
        return 0
    platforms = _platforms(args.platforms, [p for p in CONNECTORS])
    path.write_text(HEAD.format(profile=args.profile) + "\n" + "\n".join(source_block(p) for p in platforms),
                    encoding="utf-8")
    print(f"wrote {path} with {len(platforms)} source(s): {', '.join(platforms)}")
    print("next: set the secrets it names, then `otklik config check` and `otklik sources check`")
    return 0


def source_block(platform: str) -> str:
    """A [[sources]] table with its secrets and every option, commented, from the options model."""
    from connectors.options import options_model

    model = options_model(platform)
    name = f"{platform}_main"
    lines = [
        "[[sources]]",
        f'name = "{name}"',
        f'platform = "{platform}"',
        "poll_interval = 5                # seconds between polls",
        '# profile_channel = "social"     # the profile\'s channel whose terms apply',
        "# base_url = \"https://…\"         # only to reach another address than the platform's own",
    ]
    for key, why in model.REQUIRED_SECRETS.items():
        lines.append(f"# secret {key} (required): {why}; OTKLIK_SECRET_{name.upper()}_{key.upper()}")
    for key, why in model.OPTIONAL_SECRETS.items():
        lines.append(f"# secret {key} (optional): {why}; OTKLIK_SECRET_{name.upper()}_{key.upper()}")
    lines.append("[sources.options]")
    for key, field in model.model_fields.items():
        default = field.get_default(call_default_factory=True)
        shown = json.dumps(default, ensure_ascii=False) if default is not None else '…'
        lines.append(f"# {key} = {shown}" + (f"    # {field.description}" if field.description else ""))
    return "\n".join(lines) + "\n"
