"""What an upload is, decided from its bytes: allowed types, size limits, images decoded with
Pillow (bombs, truncated and disguised files refused with a 4xx status), EXIF location removed
unless kept on purpose — verified by reading the stored bytes back with Pillow."""

from __future__ import annotations

import io
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otklik.attachments import checks
from otklik.attachments.store import DiskStore, key_of
from tests.otklik.files import gps_of, jpeg, make_of, png, png_bomb


def rejected(data: bytes) -> int:
    with pytest.raises(checks.Rejected) as err:
        checks.inspect(data)
    return err.value.status


def test_the_location_is_stripped_from_a_photo_and_the_rest_of_its_exif_kept(tmp_path):
    original = jpeg(gps=True)
    assert gps_of(original)  # the test photo does carry a location
    accepted = checks.inspect(original)
    assert accepted.location_removed and accepted.kind == "photo" and accepted.mime == "image/jpeg"
    store = DiskStore(tmp_path)
    key = store.put(accepted.data)
    stored = store.get(key)
    assert gps_of(stored) == {}
    assert make_of(stored) == "OtklikCam"
    assert (accepted.width, accepted.height) == (64, 48)


def test_the_location_is_kept_on_purpose():
    original = jpeg(gps=True)
    accepted = checks.inspect(original, keep_location=True)
    assert accepted.data == original and not accepted.location_removed
    assert gps_of(accepted.data)


def test_a_photo_without_location_is_stored_as_uploaded():
    original = jpeg()
    assert checks.inspect(original).data == original


@pytest.mark.parametrize("data, status", [
    (b"", 422),
    (b"<html><script>alert(1)</script></html>", 415),
    (b"MZ\x90\x00" + b"\x00" * 100, 415),  # a Windows executable named photo.jpg
    (b"\x7fELF" + b"\x00" * 100, 415),
    (b"\xff\xd8\xff\xe0" + b"\x00" * 200, 422),  # a JPEG signature and nothing that decodes
    (png_bomb(), 413),
    (png_bomb(9_000, 9_000), 413),  # 81 Mpx: under Pillow's own limit, over ours
])
def test_hostile_files_get_a_clear_4xx(data, status):
    assert rejected(data) == status


def test_a_truncated_photo_is_refused():
    whole = jpeg(size=(400, 300))
    assert rejected(whole[: len(whole) // 2]) == 422


def test_a_png_signature_on_jpeg_data_is_refused():
    assert rejected(b"\x89PNG\r\n\x1a\n" + jpeg()[8:]) in (415, 422)


def test_sizes_are_limited_per_kind():
    pdf = b"%PDF-1.7\n" + b"0" * (checks.LIMITS["doc"] + 1)
    assert rejected(pdf) == 413
    assert checks.inspect(b"%PDF-1.7\n%%EOF\n").kind == "doc"


def test_a_zip_is_taken_only_as_an_office_document():
    def zipped(names):
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as z:
            for n in names:
                z.writestr(n, "<x/>")
        return out.getvalue()
    assert rejected(zipped(["evil.exe"])) == 415
    docx = checks.inspect(zipped(["[Content_Types].xml", "word/document.xml"]))
    assert docx.kind == "doc" and docx.mime.endswith("wordprocessingml.document")


def test_videos_are_sniffed_by_their_box():
    mp4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 64
    assert (checks.inspect(mp4).kind, checks.inspect(mp4).mime) == ("video", "video/mp4")


def test_png_is_taken_and_filenames_are_made_safe():
    assert checks.inspect(png()).mime == "image/png"
    assert checks.safe_filename("../../etc/passwd", "image/png") == "passwd.png"
    assert checks.safe_filename('C:\\фото\\яма "1".exe', "image/jpeg") == "яма 1.jpg"
    assert checks.safe_filename(None, "application/pdf") == "file.pdf"


def test_the_store_is_content_addressed_and_refuses_foreign_keys(tmp_path):
    store = DiskStore(tmp_path)
    data = png()
    key = store.put(data)
    assert key == key_of(data) and store.put(data) == key and store.get(key) == data
    assert (tmp_path / key[:2] / key[2:]).is_file()
    with pytest.raises(FileNotFoundError):
        store.get("../../secret_key")
    (tmp_path / key[:2] / key[2:]).write_bytes(b"tampered")
    with pytest.raises(FileNotFoundError):
        store.get(key)


def test_a_phones_mpo_jpeg_is_taken_and_its_location_stripped():
    from PIL import Image

    from tests.otklik.files import GPS_IFD
    frames = [Image.new("RGB", (40, 30), (200, 0, 0)), Image.new("RGB", (40, 30), (0, 0, 200))]
    exif = Image.Exif()
    exif[GPS_IFD] = {1: "N", 2: (53.0, 1.0, 0.0)}
    out = io.BytesIO()
    frames[0].save(out, format="MPO", save_all=True, append_images=frames[1:], exif=exif.tobytes())
    data = out.getvalue()
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "MPO"
    accepted = checks.inspect(data)
    assert accepted.mime == "image/jpeg" and accepted.location_removed and gps_of(accepted.data) == {}


@settings(max_examples=300, deadline=None)
@given(base=st.sampled_from([jpeg(gps=True), png()]), cuts=st.lists(st.tuples(st.integers(0, 2000), st.binary(
    min_size=0, max_size=8)), max_size=6))
def test_mutated_photos_are_taken_or_refused_with_a_status_never_a_crash(base, cuts):
    data = bytearray(base)
    for at, junk in cuts:
        at = min(at, len(data))
        data[at:at + len(junk)] = junk
    try:
        checks.inspect(bytes(data))
    except checks.Rejected as exc:
        assert exc.status in (413, 415, 422)
