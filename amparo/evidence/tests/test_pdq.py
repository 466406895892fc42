"""PDQ and exact hashing: conformance with ThreatExchange's vectors, robustness, and safety.

The reference images in data/pdq/ are Meta's ThreatExchange bridge photographs (BSD
licence, see data/pdq/LICENSE-ThreatExchange.txt and data/pdq/README.md).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from amparo.evidence import pdq

DATA = Path(__file__).parent / "data" / "pdq"


def reference_rows() -> list[dict[str, str]]:
    with open(DATA / "expected.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def textured(seed: int, size: int = 512) -> Image.Image:
    """A benign synthetic picture: random colour fields summed over four scales.

    Several octaves put energy into every frequency PDQ keeps, so its bits are stable
    (a single smooth field leaves many coefficients near the median, and noisy bits).
    """
    rng = np.random.default_rng(seed)
    total = np.zeros((size, size, 3))
    for cells, weight in ((4, 1.0), (8, 0.8), (16, 0.6), (32, 0.4)):
        coarse = Image.fromarray(rng.integers(0, 256, (cells, cells, 3), dtype=np.uint8))
        total += weight * np.asarray(coarse.resize((size, size), Image.Resampling.BICUBIC), dtype=np.float64)
    total = (total - total.min()) / (total.max() - total.min()) * 255
    return Image.fromarray(total.astype(np.uint8))


def encode(img: Image.Image, fmt: str = "PNG", **options: object) -> io.BytesIO:
    buffer = io.BytesIO()
    img.save(buffer, format=fmt, **options)
    buffer.seek(0)
    return buffer


# --------------------------------------------------------------------------- conformance


def test_reference_data_carries_its_licence():
    assert "BSD" in (DATA / "README.md").read_text()
    assert "Redistribution" in (DATA / "LICENSE-ThreatExchange.txt").read_text()
    assert len(reference_rows()) == 12


@pytest.mark.parametrize("row", reference_rows(), ids=lambda row: row["file"])
def test_every_reference_vector_is_reproduced_exactly(row):
    result = pdq.pdq_hash(DATA / row["file"])
    assert result.hash_hex == row["pdq_hex"]
    assert result.quality == int(row["quality"])


@pytest.mark.parametrize("row", reference_rows(), ids=lambda row: row["file"])
def test_every_reference_edit_lies_within_31_bits_of_the_original(row):
    original = pdq.pdq_hash(DATA / "aaa-orig.jpg").hash_hex
    assert pdq.hamming(original, pdq.pdq_hash(DATA / row["file"]).hash_hex) <= pdq.DEFAULT_THRESHOLD


# The fast path decodes JPEGs reduced in the DCT domain and other formats box-reduced; its hashes
# must stay within 8 bits of the full-resolution reference decode, with the same quality flag.
FAST_PATH_TOLERANCE = 8


def twelve_megapixels(name: str, fmt: str = "JPEG") -> io.BytesIO:
    """A reference photograph enlarged to 12 MP (4000 x 2510), as a phone would store it."""
    with Image.open(DATA / name) as img:
        return encode(img.convert("RGB").resize((4000, 2510), Image.Resampling.BICUBIC), fmt, quality=92)


def fast_path_cases() -> list[tuple[str, object]]:
    cases: list[tuple[str, object]] = [("phone-12mp", DATA / "phone-12mp-exif-rotn-1.jpg")]
    cases += [(row["file"], DATA / row["file"]) for row in reference_rows()]
    for name in ("aaa-orig.jpg", "blur-a-lot.jpg", "sharpen-a-lot.jpg", "high-contrast.jpg"):
        cases.append((f"12mp-{name}", twelve_megapixels(name)))
    cases.append(("12mp-png", twelve_megapixels("shrink-a-little.jpg", "PNG")))
    return cases


def test_the_fast_path_stays_within_8_bits_of_the_reference_decode():
    distances = {}
    for label, source in fast_path_cases():
        if isinstance(source, io.BytesIO):
            source.seek(0)
        exact = pdq.pdq_all(source, exact=True)
        if isinstance(source, io.BytesIO):
            source.seek(0)
        fast = pdq.pdq_all(source, exact=False)
        assert fast[0].matchable == exact[0].matchable, label
        distances[label] = pdq.hamming(fast[0].hash_hex, exact[0].hash_hex)
        # The rotations and mirror images move together with the original.
        assert max(pdq.hamming(a, b) for a, b in zip(fast[1], exact[1], strict=True)) <= FAST_PATH_TOLERANCE
    assert max(distances.values()) <= FAST_PATH_TOLERANCE, distances
    assert distances["phone-12mp"] > 0  # the photo really went through the reduced decode


def test_the_fast_path_decodes_a_12_megapixel_jpeg_at_a_quarter_of_its_size(monkeypatch):
    seen = []
    monkeypatch.setattr(
        pdq, "pdq_dihedral_from_array", lambda rgb: seen.append(rgb.shape) or (["0" * 64], 100)
    )
    pdq.pdq_all(DATA / "phone-12mp-exif-rotn-1.jpg", exact=False)
    pdq.pdq_all(DATA / "phone-12mp-exif-rotn-1.jpg", exact=True)
    assert seen == [(756, 1008, 3), (3024, 4032, 3)]


def test_a_stream_and_a_path_give_the_same_hash():
    path = DATA / "aaa-orig.jpg"
    with open(path, "rb") as handle:
        assert pdq.pdq_hash(handle) == pdq.pdq_hash(path)


def test_the_first_dihedral_hash_is_the_plain_hash_and_all_eight_differ():
    path = DATA / "aaa-orig.jpg"
    hashes = pdq.pdq_dihedral(path)
    assert len(hashes) == 8
    assert hashes[0] == pdq.pdq_hash(path).hash_hex
    assert len(set(hashes)) == 8
    result, all_hashes = pdq.pdq_all(path)
    assert result == pdq.pdq_hash(path)
    assert all_hashes == hashes


# --------------------------------------------------------------------------- robustness on synthetic images


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_textured_image_has_matchable_quality(seed):
    result = pdq.pdq_hash(encode(textured(seed)))
    assert result.quality >= pdq.MIN_QUALITY
    assert result.matchable


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize(("scale", "jpeg_quality"), [(0.5, 75), (0.25, 60), (1.5, 90)])
def test_a_resized_jpeg_copy_still_matches(seed, scale, jpeg_quality):
    original = textured(seed)
    copy = original.resize((int(512 * scale), int(512 * scale)), Image.Resampling.LANCZOS)
    a = pdq.pdq_hash(encode(original))
    b = pdq.pdq_hash(encode(copy, "JPEG", quality=jpeg_quality))
    assert pdq.hamming(a.hash_hex, b.hash_hex) <= pdq.DEFAULT_THRESHOLD


def test_unrelated_images_do_not_match():
    hashes = [pdq.pdq_hash(encode(textured(seed))).hash_hex for seed in range(10, 20)]
    for i, a in enumerate(hashes):
        for b in hashes[i + 1 :]:
            assert pdq.hamming(a, b) > pdq.DEFAULT_THRESHOLD


@pytest.mark.parametrize(
    "transpose",
    [
        Image.Transpose.ROTATE_90,
        Image.Transpose.ROTATE_180,
        Image.Transpose.ROTATE_270,
        Image.Transpose.FLIP_LEFT_RIGHT,
        Image.Transpose.FLIP_TOP_BOTTOM,
        Image.Transpose.TRANSPOSE,
        Image.Transpose.TRANSVERSE,
    ],
)
def test_a_rotated_or_mirrored_copy_is_caught_by_the_dihedral_hashes(transpose):
    for picture in (textured(2), Image.open(DATA / "aaa-orig.jpg").convert("RGB")):
        turned = pdq.pdq_hash(encode(picture.transpose(transpose), "JPEG", quality=85)).hash_hex
        plain = pdq.pdq_hash(encode(picture)).hash_hex
        assert pdq.hamming(plain, turned) > pdq.DEFAULT_THRESHOLD  # the plain hash alone misses it
        dihedral = pdq.pdq_dihedral(encode(picture))
        assert min(pdq.hamming(h, turned) for h in dihedral) <= pdq.DEFAULT_THRESHOLD


def test_a_flat_image_has_low_quality_and_is_not_matchable():
    result = pdq.pdq_hash(encode(Image.new("RGB", (256, 256), (128, 128, 128))))
    assert result.quality < pdq.MIN_QUALITY
    assert not result.matchable


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "CMYK", "I;16"])
def test_images_in_other_modes_are_hashed_through_rgb(mode):
    img = textured(7).convert(mode) if mode != "I;16" else textured(7).convert("L").convert("I;16")
    fmt = "TIFF" if mode in {"CMYK", "I;16"} else "PNG"
    result = pdq.pdq_hash(encode(img, fmt))
    assert pdq.is_pdq_hex(result.hash_hex)


def test_an_animation_is_hashed_by_its_first_frame():
    first, second = textured(8, 128), textured(9, 128)
    buffer = io.BytesIO()
    first.save(buffer, format="GIF", save_all=True, append_images=[second])
    buffer.seek(0)
    animated = pdq.pdq_hash(buffer).hash_hex
    assert pdq.hamming(animated, pdq.pdq_hash(encode(first)).hash_hex) <= pdq.DEFAULT_THRESHOLD
    assert pdq.hamming(animated, pdq.pdq_hash(encode(second)).hash_hex) > pdq.DEFAULT_THRESHOLD


# --------------------------------------------------------------------------- refusals


def test_a_non_image_is_refused_with_pdq_error():
    with pytest.raises(pdq.PdqError, match="not an image"):
        pdq.pdq_hash(io.BytesIO(b"just some text, not a picture"))


def test_a_truncated_image_is_refused_with_pdq_error():
    data = encode(textured(4), "JPEG").getvalue()
    with pytest.raises(pdq.PdqError):
        pdq.pdq_hash(io.BytesIO(data[: len(data) // 3]))


def test_an_image_over_the_pixel_limit_is_refused_before_decoding(monkeypatch):
    monkeypatch.setattr(pdq, "MAX_DECODE_PIXELS", 100 * 100)
    with pytest.raises(pdq.TooLargeToDecode, match="more than the budget"):
        pdq.pdq_hash(encode(Image.new("RGB", (101, 100))))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_raise_only_pdq_error(data):
    try:
        result = pdq.pdq_hash(io.BytesIO(data))
    except pdq.PdqError:
        return
    assert pdq.is_pdq_hex(result.hash_hex)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 4000))
def test_corrupted_pngs_raise_only_pdq_error(seed, position):
    data = bytearray(encode(textured(seed % 50, 64)).getvalue())
    rng = np.random.default_rng(seed)
    position %= len(data)
    data[position : position + 8] = rng.integers(0, 256, 8, dtype=np.uint8).tobytes()
    with contextlib.suppress(pdq.PdqError):
        pdq.pdq_hash(io.BytesIO(bytes(data)))


# --------------------------------------------------------------------------- exact hashes


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=5000), st.integers(1, 700))
def test_exact_hashes_equal_hashlib_whatever_the_chunk_size(data, chunk_size):
    result = pdq.exact_hashes(io.BytesIO(data), chunk_size=chunk_size)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.sha1 == hashlib.sha1(data, usedforsecurity=False).hexdigest()
    assert result.md5 == hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert result.size == len(data)


class ReadOnly:
    """A stream with ``read`` but no ``readinto`` (as some upload wrappers are)."""

    def __init__(self, data: bytes) -> None:
        self._inner = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._inner.read(min(size, 3) if size > 0 else size)


def test_exact_hashes_reads_streams_without_readinto_and_paths(tmp_path):
    data = b"synthetic evidence bytes " * 100
    path = tmp_path / "file.bin"
    path.write_bytes(data)
    expected = hashlib.sha256(data).hexdigest()
    assert pdq.exact_hashes(ReadOnly(data), chunk_size=7).sha256 == expected  # type: ignore[arg-type]
    assert pdq.exact_hashes(path).sha256 == expected
    assert pdq.exact_hashes(str(path)).size == len(data)


def test_exact_hashes_refuses_a_non_positive_chunk_size():
    with pytest.raises(ValueError, match="positive"):
        pdq.exact_hashes(io.BytesIO(b""), chunk_size=0)


# --------------------------------------------------------------------------- helpers

hex64 = st.binary(min_size=32, max_size=32).map(bytes.hex)


@given(hex64, hex64)
def test_hamming_counts_differing_bits_and_is_symmetric(a, b):
    expected = sum(bin(x ^ y).count("1") for x, y in zip(bytes.fromhex(a), bytes.fromhex(b), strict=True))
    assert pdq.hamming(a, b) == expected == pdq.hamming(b, a)
    assert pdq.hamming(a, a) == 0


def test_hamming_refuses_hashes_of_different_lengths():
    with pytest.raises(ValueError, match="different lengths"):
        pdq.hamming("ab", "abcd")


@given(st.lists(hex64, max_size=20))
def test_hex_and_byte_rows_round_trip(hashes):
    rows = pdq.hex_to_bytes(hashes)
    assert rows.shape == (len(hashes), 32)
    assert [pdq.bytes_to_hex(row) for row in rows] == hashes


def test_bits_to_hex_is_most_significant_bit_first():
    bits = np.zeros(256, dtype=np.uint8)
    bits[0] = 1
    assert pdq.bits_to_hex(bits) == "8" + "0" * 63


@given(st.text(max_size=80))
def test_normalise_pdq_hex_accepts_only_64_hex_digits(text):
    if pdq.is_pdq_hex(text.strip()):
        assert pdq.normalise_pdq_hex(text) == text.strip().lower()
    else:
        with pytest.raises(ValueError, match="64 hexadecimal"):
            pdq.normalise_pdq_hex(text)


@pytest.mark.parametrize(
    ("fmt", "options"),
    [("JPEG", {}), ("PNG", {}), ("GIF", {}), ("BMP", {}), ("TIFF", {}), ("WEBP", {}), ("ICO", {})],
)
def test_image_formats_are_recognised_by_their_first_bytes(fmt, options, tmp_path):
    data = encode(textured(1, 64), fmt, **options).getvalue()
    assert pdq.is_image(data[: pdq.HEADER_BYTES])
    path = tmp_path / "no-extension"
    path.write_bytes(data)
    assert pdq.is_image(path)
    stream = io.BytesIO(data)
    assert pdq.is_image(pdq.read_header(stream))
    assert stream.tell() == 0


def test_non_images_and_missing_files_are_not_images(tmp_path):
    assert not pdq.is_image(b"%PDF-1.7 synthetic")
    assert not pdq.is_image(b"")
    assert not pdq.is_image(tmp_path / "missing.jpg")
    text = tmp_path / "photo.jpg"  # the name says image; the content does not
    text.write_text("hello")
    assert not pdq.is_image(text)


@given(st.binary(max_size=64))
def test_is_image_never_raises_on_any_header(header):
    assert isinstance(pdq.is_image(header), bool)
