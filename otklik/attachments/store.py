"""Where accepted files live: content-addressed by SHA-256, so the same photo uploaded twice is
stored once and a key names exactly one content.

`Store` is the interface every backend implements; `DiskStore` keeps files under
`<var>/attachments/ab/cdef…` (written to a temporary file and renamed, so a crash never leaves a
half file under a key). An S3-compatible backend would implement the same three methods; none is
built in yet, because workers on other machines than the API need a shared volume for now
(README: Attachments).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Protocol


class Store(Protocol):
    def put(self, data: bytes) -> str:
        """Store the bytes; returns their key (the SHA-256 in hex). Idempotent."""

    def get(self, key: str) -> bytes:
        """The bytes under a key; FileNotFoundError when they are not there."""

    def exists(self, key: str) -> bool: ...


def key_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class DiskStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
            raise FileNotFoundError("not an attachment key")  # never a path from outside
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


def default_store() -> Store:
    """The store of this installation: `<OTKLIK_VAR_DIR>/attachments`."""
    from otklik.settings import get_settings

    return DiskStore(Path(get_settings().var_dir) / "attachments")
