"""Password hashing (scrypt) and the rules a new password must meet."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
from pathlib import Path

_N, _R, _P = 2**14, 8, 1
MIN_LENGTH = 10
COMMON = Path(__file__).with_name("common_passwords.txt")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P)
    return f"scrypt${_N}${_R}${_P}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


@functools.cache
def dummy_hash() -> str:
    """A hash to check an unknown login's password against, so that it costs the same scrypt as a
    known one's and the answer's timing does not tell which logins exist."""
    return hash_password(secrets.token_urlsafe(16))


@functools.cache
def _common() -> frozenset[str]:
    lines = COMMON.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def problems(password: str, login: str) -> list[str]:
    """What is wrong with a new password, in Russian for the person choosing it; empty when fine."""
    found = []
    if len(password) < MIN_LENGTH:
        found.append(f"пароль короче {MIN_LENGTH} символов")
    if password.lower() in _common():
        found.append("пароль из списка самых распространённых")
    if login and login.lower() in password.lower():
        found.append("пароль содержит логин")
    if len(set(password)) < 4:
        found.append("в пароле слишком мало разных символов")
    return found


def generate() -> str:
    return secrets.token_urlsafe(12)  # 16 characters, 96 bits
