"""The installation's secret key and what it encrypts (TOTP secrets at rest).

The key comes, in this order, from the environment (`OTKLIK_SECRET_KEY`), a file `secret_key` in
`OTKLIK_SECRETS_DIR` (systemd credentials, Docker/Kubernetes secrets), or — for the embedded and
demo set-up — a file `secret_key` under the var directory, generated on first use with mode 0600.
Losing the key means every two-factor user needs a new TOTP secret (`otklik users totp-reset`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

log = logging.getLogger("otklik.accounts")

PREFIX = "fernet:"
_cache: dict[bytes, Fernet] = {}


class SecretKeyError(Exception):
    pass


def _read(path: Path) -> bytes | None:
    try:
        return path.read_text(encoding="utf-8").strip().encode() or None
    except OSError:
        return None


def _generate(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    try:
        # O_EXCL: two processes starting together agree on the first one's key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path) or key
    with os.fdopen(fd, "wb") as f:
        f.write(key + b"\n")
    log.warning("no secret key configured (OTKLIK_SECRET_KEY or secret_key in OTKLIK_SECRETS_DIR): "
                "generated one in %s (mode 0600); back it up with the database", path)
    return key


def resolve_key(*, env_key: str | None, secrets_dir: str | Path | None, var_dir: str | Path) -> bytes:
    if env_key:
        return env_key.strip().encode()
    if secrets_dir:
        found = _read(Path(secrets_dir) / "secret_key")
        if found:
            return found
    path = Path(var_dir) / "secret_key"
    return _read(path) or _generate(path)


class SecretBox:
    def __init__(self, key: bytes) -> None:
        if key not in _cache:
            try:
                _cache[key] = Fernet(key)
            except (ValueError, TypeError):
                raise SecretKeyError("the secret key is not a Fernet key (32 url-safe base64 bytes); "
                                     "generate one with: python -c 'from cryptography.fernet import "
                                     "Fernet; print(Fernet.generate_key().decode())'") from None
        self._fernet = _cache[key]

    @classmethod
    def from_settings(cls, settings) -> SecretBox:
        return cls(resolve_key(env_key=os.environ.get("OTKLIK_SECRET_KEY"), secrets_dir=settings.secrets_dir,
                               var_dir=settings.var_dir))

    def seal(self, plain: str) -> str:
        return PREFIX + self._fernet.encrypt(plain.encode()).decode()

    def open(self, stored: str) -> str:
        if not stored.startswith(PREFIX):
            return stored  # a secret from before encryption; sealed again on its next use
        try:
            return self._fernet.decrypt(stored[len(PREFIX):].encode()).decode()
        except InvalidToken:
            raise SecretKeyError("a TOTP secret does not open with this secret key (was the key "
                                 "changed?)") from None

    @staticmethod
    def is_sealed(stored: str) -> bool:
        return stored.startswith(PREFIX)


def default_box() -> SecretBox:
    from otklik.settings import get_settings

    return SecretBox.from_settings(get_settings())
