"""Signed links to stored files, for the platforms that take an answer's photos by URL (the regional
ones): `<public_url>/files/<key>/<expires>/<signature>/<name>`. The signature is an HMAC of the key
and the expiry under a key derived from the installation's secret key, so a link cannot be made for
another file or kept alive longer; the daemon serves it without a session (otklik/http.py)."""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import quote

TTL_SECONDS = 90 * 24 * 3600  # the platforms show the answer's photos long after it was posted


def _signing_key(secret: bytes) -> bytes:
    # Derived, not the secret key itself: a leaked link signature says nothing about the key.
    return hashlib.sha256(b"otklik attachment links\0" + secret).digest()


def signature(secret: bytes, key: str, expires: int) -> str:
    return hmac.new(_signing_key(secret), f"{key}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]


def signed_url(base: str, secret: bytes, key: str, name: str, *, now: float | None = None,
               ttl: int = TTL_SECONDS) -> str:
    expires = int((now if now is not None else time.time()) + ttl)
    return f"{base.rstrip('/')}/files/{key}/{expires}/{signature(secret, key, expires)}/{quote(name)}"


def valid(secret: bytes, key: str, expires: str, sig: str, *, now: float | None = None) -> bool:
    if not expires.isdigit() or int(expires) < (now if now is not None else time.time()):
        return False
    return hmac.compare_digest(signature(secret, key, int(expires)), sig)


def installation_secret() -> bytes:
    import os

    from otklik.accounts.secretbox import resolve_key
    from otklik.settings import get_settings

    settings = get_settings()
    return resolve_key(env_key=os.environ.get("OTKLIK_SECRET_KEY"), secrets_dir=settings.secrets_dir,
                       var_dir=settings.var_dir)


def link_for(key: str, name: str) -> str | None:
    """The signed link of this installation (None without `public_url`)."""
    from otklik.settings import get_settings

    base = get_settings().public_url
    return signed_url(base, installation_secret(), key, name) if base else None
