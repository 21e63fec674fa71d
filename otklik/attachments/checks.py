"""What an uploaded file is and whether we take it: decided from its bytes, never from its name.

`inspect(data)` sniffs the type against an allow-list of magic numbers, applies the size limit of
its kind, decodes images fully with Pillow (a decompression bomb, a truncated or a disguised file
is refused) and, unless `keep_location`, removes the GPS block from the EXIF data. It is a pure
function: bytes in, an `Accepted` (the bytes to store) or a `Rejected` with the HTTP status out.
"""

from __future__ import annotations

import io
import warnings
import zipfile
from dataclasses import dataclass

from PIL import Image, ImageFile

MB = 1024 * 1024
# Per kind: what the platforms take for answers (Telegram's sendPhoto 10 MB, VK 50 MB video,
# e-mail 10 MB a file); the largest is also the request limit of the upload endpoint.
LIMITS = {"photo": 10 * MB, "video": 50 * MB, "doc": 20 * MB}
MAX_UPLOAD = max(LIMITS.values())
MAX_PIXELS = 40_000_000  # a 40-megapixel photo is larger than any phone takes; beyond: a bomb
GPS_IFD = 0x8825

# Image formats we take, as Pillow names them -> MIME type.
# MPO: phones' JPEGs with a second (depth or preview) picture, which Pillow reads as their own format.
IMAGE_FORMATS = {"JPEG": "image/jpeg", "MPO": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp",
                 "GIF": "image/gif"}
OFFICE = {"word/": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
          "xl/": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")}
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif",
              "video/mp4": "mp4", "video/quicktime": "mov", "video/webm": "webm", "application/pdf": "pdf",
              **{mime: ext for mime, ext in OFFICE.values()}}


class Rejected(ValueError):
    """A file we do not take. `status`: 413 too large, 415 not an allowed type, 422 a file of an
    allowed type that does not decode (truncated, corrupt)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Accepted:
    data: bytes  # what to store: the upload, its EXIF location removed unless kept
    mime: str
    kind: str  # photo | video | doc
    width: int | None = None
    height: int | None = None
    location_removed: bool = False


def sniff(data: bytes) -> tuple[str, str] | None:
    """(mime, kind) from the magic numbers, or None for anything outside the allow-list."""
    head = data[:16]
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", "photo"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", "photo"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", "photo"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif", "photo"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        return ("video/quicktime", "video") if brand == b"qt  " else ("video/mp4", "video")
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm", "video"
    if head.startswith(b"%PDF-"):
        return "application/pdf", "doc"
    if head.startswith(b"PK\x03\x04"):
        return _office(data)
    return None


def _office(data: bytes) -> tuple[str, str] | None:
    """A ZIP is taken only as a Word or Excel document (its parts say which), never as an archive."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    for prefix, (mime, _) in OFFICE.items():
        if any(n.startswith(prefix) for n in names):
            return mime, "doc"
    return None


def inspect(data: bytes, *, keep_location: bool = False) -> Accepted:
    if not data:
        raise Rejected("the file is empty", 422)
    found = sniff(data)
    if found is None:
        raise Rejected("not an allowed file type (photos JPEG/PNG/WebP/GIF, videos MP4/MOV/WebM, "
                       "documents PDF/DOCX/XLSX)", 415)
    mime, kind = found
    if len(data) > LIMITS[kind]:
        raise Rejected(f"the {kind} is larger than {LIMITS[kind] // MB} MB", 413)
    if kind != "photo":
        return Accepted(data=data, mime=mime, kind=kind)
    return _image(data, mime, keep_location)


def _image(data: bytes, mime: str, keep_location: bool) -> Accepted:
    """Decode the whole image: the header alone would pass a truncated file or a bomb."""
    ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated image is refused, never padded grey
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                fmt = img.format
                width, height = img.size
                if width * height > MAX_PIXELS:
                    raise Rejected(f"the image has {width}×{height} pixels, more than {MAX_PIXELS:,}", 413)
                if IMAGE_FORMATS.get(fmt or "") != mime:
                    raise Rejected("the image's content does not match its signature", 415)
                img.load()
                exif = img.getexif()
    except Rejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Rejected("the image decompresses to too many pixels", 413) from None
    except Exception:  # noqa: BLE001 - a hostile file makes decoders raise anything (struct.error, IndexError …)
        raise Rejected("the image does not decode (truncated or corrupt)", 422) from None
    if keep_location or GPS_IFD not in exif:
        return Accepted(data=data, mime=mime, kind="photo", width=width, height=height)
    try:
        stripped = _without_location(data, fmt)
    except Exception:  # noqa: BLE001 - as above: whatever the encoder trips on is the file's fault
        raise Rejected("the photo's location cannot be removed from it (a damaged EXIF block)", 422) from None
    return Accepted(data=stripped, mime=mime, kind="photo", width=width, height=height, location_removed=True)


def _without_location(data: bytes, fmt: str) -> bytes:
    """The same image with the EXIF GPS block removed (the rest of the EXIF, e.g. orientation, is
    kept). JPEG is re-saved with its own quantisation tables, so the picture does not degrade."""
    with Image.open(io.BytesIO(data)) as img:
        exif = img.getexif()
        del exif[GPS_IFD]
        out = io.BytesIO()
        options: dict = {"exif": exif.tobytes()}
        if fmt == "JPEG":
            options.update(quality="keep", subsampling="keep")
        elif fmt == "MPO":  # the main picture re-encoded finely; the second one goes with the location
            fmt = "JPEG"
            options.update(quality=95)
        if fmt == "GIF":
            options = {}  # GIF carries no EXIF to write back
        img.save(out, format=fmt, **options)
        return out.getvalue()


def safe_filename(name: str | None, mime: str) -> str:
    """A display name for the file: the uploader's base name without paths or control characters,
    with the extension its real type has."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '"<>:|?*')[:150].strip(" .")
    stem = base.rsplit(".", 1)[0] if "." in base else base
    return f"{stem or 'file'}.{EXTENSIONS.get(mime, 'bin')}"
