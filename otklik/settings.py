"""Settings: environment (`OTKLIK_*`, plus the conventional DATABASE_URL and REDIS_URL) over an
optional TOML file (`OTKLIK_CONFIG`, default ./otklik.toml).

Secrets never live in the TOML file: a source names where each secret comes from — `env:VAR`,
`file:/path` — or, by convention, `OTKLIK_SECRET_<SOURCE>_<KEY>` in the environment or a file
`<source>.<key>` in `OTKLIK_SECRETS_DIR` (systemd credentials, Docker/Kubernetes secrets).
"""

from __future__ import annotations

import functools
import ipaddress
import json
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from connectors.base import SourceConfig
from otklik import secretref
from otklik.attachments.config import AttachmentSettings
from otklik.exceptions import ConfigError
from otklik.mail import MailSettings
from otklik.models import Platform
from otklik.settings_errors import explain, model_at
from otklik.staffbot.config import StaffBotSettings

SECRET_KEYS = re.compile(r"(token|secret|password|key)$", re.I)


class SourceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a typo such as `poll_intervall` is an error, not ignored

    name: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,100}$")
    platform: Platform
    base_url: str | None = None
    secrets: dict[str, str] = Field(default_factory=dict)  # key -> "env:VAR" | "file:/path"
    options: dict[str, Any] = Field(default_factory=dict)
    poll_interval: float = Field(5.0, gt=0)
    enabled: bool = True
    profile_channel: str = "social"  # which channel of the regulation profile applies

    @field_validator("secrets")
    @classmethod
    def _references_only(cls, v: dict[str, str]) -> dict[str, str]:
        for key, ref in v.items():
            secretref.check(ref, f"secret {key!r}")
        return v


class NotifySettings(BaseModel):
    """Where immediate reports to the head go (spikes, socially significant, missed deadlines)."""

    model_config = ConfigDict(extra="forbid")

    telegram_chat_id: str | None = None
    telegram_source: str | None = None  # a configured telegram source whose bot sends
    webhook_url: str | None = None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OTKLIK_", extra="forbid")

    var_dir: Path = Path("var")
    database_url: str | None = Field(None, validation_alias=AliasChoices("OTKLIK_DATABASE_URL", "DATABASE_URL"))
    redis_url: str | None = Field(None, validation_alias=AliasChoices("OTKLIK_REDIS_URL", "REDIS_URL"))
    secrets_dir: Path | None = None
    profile: str = "severny"  # the municipality's regulation profile (regulation/profiles)
    moderation_profile: str | None = None
    router_profile: str | None = None
    router_model: Path | None = None
    http_host: str = "127.0.0.1"
    http_port: int = Field(8700, ge=0, le=65535)
    # The address people and the regional platforms reach this server at (behind a proxy: the
    # proxy's): links in notifications; the signed /files/… links by which the regional platforms
    # take an answer's photos (otklik.attachments.links). Unset: http://http_host:http_port for
    # notifications, and no file links.
    public_url: str | None = Field(None, pattern=r"^https?://[^\s]+$")
    # Reverse proxies (CIDRs) whose X-Forwarded-For / X-Real-IP we believe for webhook address
    # checks (sources' `webhook_allowed_ips`); from anyone else those headers are ignored.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    log_level: str = "INFO"
    # Per component, over log_level: "pipeline=DEBUG,poller=WARNING" (otklik.logs.parse_levels).
    log_levels: str = ""
    relay_interval: float = Field(0.5, gt=0)
    watch_interval: float = Field(30.0, gt=0)
    # Approving and retrying or redirecting a delivery through the API or the console need the
    # second factor proven within this many seconds (otklik.services.access).
    step_up_seconds: int = Field(300, ge=0)
    # A session ends after this long without a request, and in any case this long after login.
    session_idle_minutes: int = Field(30, ge=1, le=24 * 60)
    session_absolute_hours: int = Field(12, ge=1, le=24 * 30)
    # Fetch citizens' photos and files from the URLs their platforms give (otklik.attachments.citizen).
    citizen_files: bool = True
    sources: list[SourceSettings] = Field(default_factory=list)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    mail: MailSettings = Field(default_factory=MailSettings)  # SMTP for answers by e-mail, notices, reports
    staff_bot: StaffBotSettings = Field(default_factory=StaffBotSettings)  # the staff bot (otklik.staffbot)
    # Where accepted files are kept: disk under var_dir, or an S3-compatible store (otklik.attachments).
    attachments: AttachmentSettings = Field(default_factory=AttachmentSettings)

    def link(self, path: str) -> str:
        """An absolute link to `path` on this server, for a notification."""
        base = self.public_url or f"http://{self.http_host}:{self.http_port}"
        return base.rstrip("/") + path

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _cidrs(cls, v: Any) -> Any:
        if isinstance(v, str):  # OTKLIK_TRUSTED_PROXIES="10.0.0.0/8, 127.0.0.1" or a JSON list
            try:
                v = json.loads(v) if v.strip().startswith("[") else [p for p in v.replace(",", " ").split() if p]
            except ValueError:
                raise ValueError("not a JSON list of CIDRs") from None
        if not isinstance(v, list):
            raise ValueError("a list of CIDRs")
        for item in v or []:
            try:
                ipaddress.ip_network(str(item), strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or a CIDR network") from None
        return v

    @field_validator("log_levels")
    @classmethod
    def _log_levels(cls, v: str) -> str:
        from otklik.logs import parse_levels

        parse_levels(v)  # raises ValueError with the part that is wrong
        return v

    def model_post_init(self, _ctx: Any) -> None:
        if self.database_url is None:
            self.database_url = f"sqlite:///{self.var_dir / 'otklik.db'}"

    def source(self, name: str) -> SourceSettings:
        for s in self.sources:
            if s.name == name:
                return s
        raise ConfigError(f"no source named {name!r}; configured: {', '.join(s.name for s in self.sources)}")

    def resolve_source(self, src: SourceSettings) -> SourceConfig:
        return SourceConfig(name=src.name, platform=src.platform, base_url=src.base_url,
                            secrets=resolve_secrets(src, self.secrets_dir), options=src.options,
                            poll_interval=src.poll_interval, enabled=src.enabled)


def _env_name(source: str, key: str) -> str:
    return "OTKLIK_SECRET_" + re.sub(r"[^A-Za-z0-9]", "_", f"{source}_{key}").upper()


def secret_hint(src: SourceSettings, key: str) -> str:
    """Where a missing secret may be put, for messages (names only)."""
    ref = src.secrets.get(key)
    if ref:
        return f"looked for it at {ref}"
    return (f"set {_env_name(src.name, key)} in the environment, a file {src.name}.{key} in "
            f"OTKLIK_SECRETS_DIR, or secrets = {{ {key} = \"env:VAR\" }} in the source")


def resolve_secrets(src: SourceSettings, secrets_dir: Path | None) -> dict[str, SecretStr]:
    found: dict[str, SecretStr] = {}
    for key, ref in src.secrets.items():
        value = secretref.read(ref)
        if value:
            found[key] = SecretStr(value)
    # Conventional places fill what the explicit references did not.
    prefix = _env_name(src.name, "")
    for name, value in os.environ.items():
        if name.startswith(prefix) and value:
            found.setdefault(name[len(prefix):].lower(), SecretStr(value))
    if secrets_dir and secrets_dir.is_dir():
        for f in secrets_dir.glob(f"{src.name}.*"):
            found.setdefault(f.name[len(src.name) + 1:], SecretStr(f.read_text(encoding="utf-8").strip()))
    return found


def config_path() -> Path | None:
    path = os.environ.get("OTKLIK_CONFIG")
    if path:
        return Path(path)
    default = Path("otklik.toml")
    return default if default.exists() else None


def _locate(text: str, loc: tuple[Any, ...]) -> int:
    """Best line number for an error at `loc` in a TOML text: walks [[array]] tables and keys."""
    lines = text.splitlines()
    start, end = 0, len(lines)
    i = 0
    while i < len(loc):
        key = str(loc[i])
        if i + 1 < len(loc) and isinstance(loc[i + 1], int):  # an array of tables: [[key]] #n
            heads = [n for n in range(start, end) if re.match(rf"\s*\[\[\s*{re.escape(key)}\s*\]\]", lines[n])]
            if loc[i + 1] < len(heads):
                start = heads[loc[i + 1]]
                # It ends at the next table that is not one of its own sub-tables ([key.options]).
                own = re.compile(rf"\s*\[\s*{re.escape(key)}\s*\.")
                nxt = [n for n in range(start + 1, end) if re.match(r"\s*\[", lines[n]) and not own.match(lines[n])]
                end = nxt[0] if nxt else end
                i += 2
                continue
        # `[key]`, `[parent.key]` (a sub-table) or `key = …`
        pat = re.compile(rf"\s*(\[\s*(?:[\w-]+\s*\.\s*)*{re.escape(key)}\s*\]|{re.escape(key)}\s*=)")
        hit = next((n for n in range(start, end) if pat.match(lines[n])), None)
        if hit is None:
            break
        start = hit
        i += 1
    return start + 1


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    path = path or config_path()
    data: dict[str, Any] = {}
    text = ""
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
            data = tomllib.loads(text)
        except FileNotFoundError:
            raise ConfigError(f"{path}: configuration file not found") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{path}: not UTF-8 text") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    data.update(overrides)
    where = str(path) if path else "environment"
    try:
        # Environment wins over the file: init kwargs are the lowest-priority source here.
        settings = _FileFirstSettings(**data)
    except ValidationError as exc:
        problems = [_problem(where, text, data, tuple(e["loc"]), explain(e, model_at(Settings, tuple(e["loc"])[:-1])))
                    for e in exc.errors()]
        # The sources' options too, so one run shows every mistake.
        raw = data.get("sources") if isinstance(data.get("sources"), list) else []
        problems += _options_problems(where, text, data, list(enumerate(raw)))
        raise ConfigError("\n".join(sorted(problems, key=_line_of))) from None
    problems = _options_problems(where, text, data, [(i, s.model_dump(mode="json"))
                                                     for i, s in enumerate(settings.sources)])
    if problems:
        raise ConfigError("\n".join(sorted(problems, key=_line_of)))
    return settings


def _line_of(problem: str) -> int:
    """Problems in the order of the file's lines (those without a line first)."""
    found = re.match(r"[^\n]*?:(\d+): ", problem)
    return int(found.group(1)) if found else 0


def _problem(where: str, text: str, data: dict[str, Any], loc: tuple[Any, ...], sentence: str) -> str:
    line = f":{_locate(text, loc)}" if text and loc and str(loc[0]) in data else ""
    context = _context(data, loc)
    return f"{where}{line}: {context}{sentence}"


def _context(data: dict[str, Any], loc: tuple[Any, ...]) -> str:
    """Which table a nested key sits in, in the file's words: `[[sources]] "vk_main" options: `."""
    parents = loc[:-1]
    if not parents:
        return ""
    if parents[0] == "sources" and len(parents) >= 2 and isinstance(parents[1], int):
        sources = data.get("sources")
        item = sources[parents[1]] if isinstance(sources, list) and parents[1] < len(sources) else None
        name = item.get("name") if isinstance(item, dict) else None
        label = f'[[sources]] "{name}"' if name else f"[[sources]] #{parents[1] + 1}"
        rest = ".".join(str(p) for p in parents[2:])
        return f"{label}{' ' + rest if rest else ''}: "
    return ".".join(str(p) for p in parents) + ": "


def _options_problems(where: str, text: str, data: dict[str, Any], sources: list[tuple[int, Any]]) -> list[str]:
    """Each source's options against its connector's model (connectors/<platform>/options.py)."""
    from connectors.options import options_model

    problems = []
    for i, src in sources:
        if not isinstance(src, dict) or not isinstance(src.get("options", {}), dict):
            continue
        try:
            model = options_model(str(src.get("platform")))
        except KeyError:
            continue  # an unknown platform is reported by the settings themselves
        try:
            model.model_validate(src.get("options") or {})
        except ValidationError as exc:
            for e in exc.errors():
                loc = ("sources", i, "options", *e["loc"])
                problems.append(_problem(where, text, data, loc, explain(e, model_at(model, tuple(e["loc"])[:-1]))))
    return problems


class _FileFirstSettings(Settings):
    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings):
        return env_settings, init_settings


@functools.cache
def get_settings() -> Settings:
    return load_settings()
