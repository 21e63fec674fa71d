"""What keeping an answer's photo costs in each attachment store: `put` (the existence check, then
the write) and `get` (the read and the SHA-256 check) of N distinct photos of SIZE bytes, in the disk
store and in the S3 store against a local S3-compatible server (moto's ThreadedMotoServer, over HTTP
on this machine: the figure is the client's and the protocol's cost, not a network's).

    .venv/bin/python bench/attachments_store.py [--photos 200] [--size 300000]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

import boto3
from moto.server import ThreadedMotoServer

from otklik.attachments.config import AttachmentSettings
from otklik.attachments.s3 import s3_store
from otklik.attachments.store import DiskStore, Store


def timed(store: Store, blobs: list[bytes]) -> tuple[list[float], list[float]]:
    puts, gets, keys = [], [], []
    for data in blobs:
        t = time.perf_counter()
        keys.append(store.put(data))
        puts.append(time.perf_counter() - t)
    for key in keys:
        t = time.perf_counter()
        store.get(key)
        gets.append(time.perf_counter() - t)
    return puts, gets


def report(name: str, puts: list[float], gets: list[float], size: int) -> None:
    for op, xs in (("put", puts), ("get", gets)):
        p95 = statistics.quantiles(xs, n=20)[18] * 1000
        print(f"{name:5} {op}: median {statistics.median(xs) * 1000:.2f} ms, p95 {p95:.2f} ms, "
              f"{len(xs) * size / sum(xs) / 1e6:.1f} MB/s over {len(xs)} photos of {size} bytes")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=int, default=200)
    ap.add_argument("--size", type=int, default=300_000)
    args = ap.parse_args()
    blobs = [os.urandom(args.size) for _ in range(args.photos)]
    with tempfile.TemporaryDirectory() as tmp:
        report("disk", *timed(DiskStore(Path(tmp)), blobs), args.size)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access-log line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        os.environ["BENCH_S3_KEY"], os.environ["BENCH_S3_SECRET"] = "bench-key", "bench-secret"
        endpoint = f"http://{host}:{port}"
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bench-key",
                     aws_secret_access_key="bench-secret").create_bucket(Bucket="otklik-bench")
        store = s3_store(AttachmentSettings(backend="s3", bucket="otklik-bench", endpoint_url=endpoint,
                                            access_key_id="env:BENCH_S3_KEY", secret_access_key="env:BENCH_S3_SECRET"))
        report("s3", *timed(store, blobs), args.size)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
