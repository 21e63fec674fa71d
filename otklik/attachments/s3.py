"""An S3-compatible attachment store (`[attachments] backend = "s3"`): the same content-addressed
keys as the disk store (`<prefix>ab/cdef…`), the same interface (otklik/attachments/store.py).

boto3, synchronous like the disk store: every caller already runs store calls in a worker thread
(asyncio.to_thread) or in a synchronous service function. The client retries what S3 documents as
transient (5xx, throttling, dropped connections) `attempts` times with backoff; what still fails is
StoreUnavailable — the upload is answered with a clear error and nothing is recorded, a delivery is
retried by the outbox, a citizen's file by the next pass. A missing object, or one whose bytes do
not hash to its key, is FileNotFoundError, as on disk. Path-style addressing: most S3-compatible
servers (MinIO, Ceph, the Russian clouds' object storage) take it, and a bucket name with dots
works over TLS.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import Any

from otklik.attachments.config import AttachmentSettings
from otklik.attachments.store import StoreUnavailable, check_key, key_of

MISSING = {"NoSuchKey", "404", "NotFound"}


class S3Store:
    def __init__(self, client: Any, bucket: str, prefix: str = "attachments/") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    def _name(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}{key[:2]}/{key[2:]}"

    def put(self, data: bytes) -> str:
        key = key_of(data)
        if self.exists(key):  # content-addressed: the same bytes are already there
            return key
        with _errors("store"):
            self.client.put_object(Bucket=self.bucket, Key=self._name(key), Body=data,
                                   ContentType="application/octet-stream")
        return key

    def get(self, key: str) -> bytes:
        name = self._name(key)
        with _errors("read"):
            data = self.client.get_object(Bucket=self.bucket, Key=name)["Body"].read()
        if key_of(data) != key:  # a damaged object is not handed out as the attachment
            raise FileNotFoundError("attachment content does not match its key")
        return data

    def exists(self, key: str) -> bool:
        try:
            name = self._name(key)
        except FileNotFoundError:
            return False
        try:
            with _errors("look up"):
                self.client.head_object(Bucket=self.bucket, Key=name)
        except FileNotFoundError:
            return False
        return True

    def delete(self, key: str) -> None:
        with _errors("delete"):
            self.client.delete_object(Bucket=self.bucket, Key=self._name(key))


@contextlib.contextmanager
def _errors(what: str) -> Iterator[None]:
    """S3's failures as the store's: a missing object FileNotFoundError, anything else (the network,
    the server, refused credentials, a missing bucket) StoreUnavailable naming the S3 error code only."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in MISSING:
            raise FileNotFoundError("the attachment is not in the S3 store") from None
        raise StoreUnavailable(f"the S3 store refused to {what} a file: {code or 'error'}") from None
    except BotoCoreError as exc:
        raise StoreUnavailable(f"the S3 store cannot be reached to {what} a file: {type(exc).__name__}") from None


def s3_store(cfg: AttachmentSettings) -> S3Store:
    key_id, secret = cfg.credentials()
    return _cached(cfg.bucket or "", cfg.endpoint_url, cfg.region, cfg.prefix, cfg.timeout, cfg.attempts,
                   key_id, secret)


@functools.lru_cache(maxsize=8)
def _cached(bucket: str, endpoint_url: str | None, region: str, prefix: str, timeout: float, attempts: int,
            key_id: str | None, secret: str | None) -> S3Store:
    import boto3
    from botocore.config import Config

    client = boto3.session.Session().client(
        "s3", endpoint_url=endpoint_url, region_name=region, aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(connect_timeout=timeout, read_timeout=timeout, s3={"addressing_style": "path"},
                      retries={"max_attempts": attempts, "mode": "standard"}))
    return S3Store(client, bucket, prefix)
