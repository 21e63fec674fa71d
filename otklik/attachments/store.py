"""Where accepted files live: content-addressed by SHA-256, so the same photo uploaded twice is
stored once and a key names exactly one content.

`Store` is the interface every backend implements; `DiskStore` keeps files under
`<var>/attachments/ab/cdef…` (written to a temporary file and renamed, so a crash never leaves a
half file under a key); `S3Store` (otklik/attachments/s3.py) keeps them in an S3-compatible bucket
under the same layout, for workers on other machines than the API. `[attachments] backend` chooses
(otklik/attachments/config.py). Every backend answers a missing or damaged file with
FileNotFoundError and a store it cannot reach with StoreUnavailable (worth another try).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Protocol

from otklik.exceptions import OtklikError


class StoreUnavailable(OtklikError):
    """The store cannot be reached now (network, timeouts, the server's 5xx after the client's own
    retries): nothing was lost, the operation may be tried again later."""


class Store(Protocol):
    def put(self, data: bytes) -> str:
        """Store the bytes; returns their key (the SHA-256 in hex). Idempotent."""

    def get(self, key: str) -> bytes:
        """The bytes under a key; FileNotFoundError when they are not there."""

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove the bytes under a key (nothing happens when they are not there)."""


def check_key(key: str) -> str:
    if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
        raise FileNotFoundError("not an attachment key")  # never a path or an object name from outside
    return key


def key_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class DiskStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        check_key(key)
        return self.root / key[:2] / key[2:]

    def put(self, data: bytes) -> str:
        key = key_of(data)
        path = self._path(key)
        if path.exists():
            return key
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return key

    def get(self, key: str) -> bytes:
        data = self._path(key).read_bytes()
        if key_of(data) != key:  # a damaged file is not handed out as the attachment
            raise FileNotFoundError("attachment content does not match its key")
        return data

    def exists(self, key: str) -> bool:
        try:
            return self._path(key).is_file()
        except FileNotFoundError:
            return False

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink(missing_ok=True)
        except FileNotFoundError:
            pass


def store_for(settings) -> Store:
    """The store these settings name: `[attachments] backend` "s3" (one client per configuration,
    reused: building one costs tens of milliseconds), else `<var_dir>/attachments`."""
    cfg = settings.attachments
    if cfg.backend == "s3":
        from otklik.attachments.s3 import s3_store

        return s3_store(cfg)
    return DiskStore(Path(settings.var_dir) / "attachments")


def default_store() -> Store:
    """The store of this installation (otklik.settings.get_settings)."""
    from otklik.settings import get_settings

    return store_for(get_settings())
