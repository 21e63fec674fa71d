"""Files for the attachment tests, made here (no binary fixtures in the repository): photos with and
without an EXIF location, and hostile files."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from PIL import Image

GPS_IFD = 0x8825
MAKE = 0x010F


def jpeg(*, gps: bool = False, size: tuple[int, int] = (64, 48), color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    img = Image.new("RGB", size, color)
    exif = Image.Exif()
    exif[MAKE] = "OtklikCam"
    if gps:
        exif[GPS_IFD] = {1: "N", 2: (53.0, 21.0, 0.0), 3: "E", 4: (158.0, 39.0, 0.0)}
    out = io.BytesIO()
    img.save(out, format="JPEG", exif=exif.tobytes(), quality=90)
    return out.getvalue()


def png(size: tuple[int, int] = (32, 32)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 120, 10)).save(out, format="PNG")
    return out.getvalue()


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A PNG whose header claims 10^10 pixels with a few bytes of data: decoding it would need
    tens of gigabytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 1024)) + \
        chunk(b"IEND", b"")


def gps_of(data: bytes) -> dict:
    with Image.open(io.BytesIO(data)) as img:
        return dict(img.getexif().get_ifd(GPS_IFD))


def make_of(data: bytes) -> str | None:
    with Image.open(io.BytesIO(data)) as img:
        return img.getexif().get(MAKE)


@contextmanager
def stored_photos(tmp_path, monkeypatch, names: tuple[str, str] = ("a.jpg", "b.png")) -> Iterator[tuple[list, list[bytes]]]:
    """A JPEG and a PNG put in the attachment store of a var dir under `tmp_path` (settings from an
    empty otklik.toml): ([Attachment, Attachment], [bytes, bytes]) for a reply carrying them."""
    from otklik.attachments.store import default_store
    from otklik.models import Attachment
    from otklik.settings import get_settings

    (tmp_path / "otklik.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("OTKLIK_CONFIG", str(tmp_path / "otklik.toml"))
    monkeypatch.setenv("OTKLIK_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    data = [jpeg(), png()]
    keys = [default_store().put(d) for d in data]
    try:
        yield [Attachment(type="photo", id=f"sha256:{k}", name=n, mime=m)
               for k, n, m in zip(keys, names, ("image/jpeg", "image/png"), strict=True)], data
    finally:
        get_settings.cache_clear()
