"""The formats a phone holds: JPEG, PNG, WebP, GIF (first frame), HEIC/HEIF, sniffed from their bytes
(never their names) and PDQ-hashed on the fast path; anything else keeps its exact hashes and says
"unsupported format"."""

from __future__ import annotations

import io

import pytest

from amparo.evidence import hashing, pdq
from amparo.evidence.tests.test_pdq import encode, textured

ORIGINAL = textured(5, 600)
REFERENCE = pdq.pdq_hash(encode(ORIGINAL)).hash_hex


def gif_with_two_frames() -> bytes:
    out = io.BytesIO()
    ORIGINAL.save(out, format="GIF", save_all=True, append_images=[textured(6, 600)])
    return out.getvalue()


@pytest.mark.parametrize(
    ("fmt", "expected_type"),
    [
        ("JPEG", "image/jpeg"),
        ("PNG", "image/png"),
        ("WEBP", "image/webp"),
        ("GIF", "image/gif"),
        ("HEIF", "image/heic"),
    ],
)
def test_every_format_a_phone_holds_is_sniffed_and_hashed(fmt, expected_type):
    pdq._register_heif()  # Pillow writes HEIF through pillow-heif
    data = gif_with_two_frames() if fmt == "GIF" else encode(ORIGINAL, fmt, quality=90).getvalue()
    found = hashing.hash_bytes(data)
    assert found.media_type == expected_type
    assert found.not_hashed is None
    assert found.quality >= pdq.MIN_QUALITY
    assert len(found.dihedral) == 8
    # Lossy encodings and GIF's palette move a few bits; the first frame of the GIF is the one hashed.
    assert pdq.hamming(found.pdq, REFERENCE) <= 16


@pytest.mark.parametrize(
    "data",
    [b"%PDF-1.7 synthetic", b"PK\x03\x04 a zip", b"plain text", b"\x00" * 64],
    ids=["pdf", "zip", "text", "zeros"],
)
def test_other_files_keep_their_exact_hashes_and_are_not_hashed_perceptually(data):
    found = hashing.hash_bytes(data)
    assert found.sha256 is not None
    assert (found.media_type, found.pdq, found.not_hashed) == (None, None, "unsupported format")


def test_the_name_of_a_file_is_never_trusted(tmp_path):
    path = tmp_path / "holiday.jpg"
    path.write_bytes(b"not a picture at all")
    assert hashing.hash_file(path).not_hashed == "unsupported format"
    renamed = tmp_path / "notes.txt"
    renamed.write_bytes(encode(ORIGINAL, "PNG").getvalue())
    assert hashing.hash_file(renamed).media_type == "image/png"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (b"\x00\x00\x00\x18ftypmp42", "video/mp4"),
        (b"\x00\x00\x00\x14ftypqt  ", "video/quicktime"),
        (b"\x00\x00\x00\x18ftyp3gp5", "video/3gpp"),
        (b"RIFF\x00\x00\x00\x00AVI LIST", "video/x-msvideo"),
        (
            b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08\x42\x82\x84webm",
            "video/webm",
        ),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x88matroska", "video/x-matroska"),
        (b"\x00\x00\x00\x18ftypheic", "image/heic"),
    ],
)
def test_video_containers_are_sniffed(header, expected):
    assert hashing.media_type(header) == expected
