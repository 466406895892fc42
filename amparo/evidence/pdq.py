"""Exact and perceptual (PDQ) hashing of evidence files, with no Django dependency.

``exact_hashes`` streams any file through SHA-256, SHA-1 and MD5 at once (MD5 and
SHA-1 only for interchange with hash lists that still use them). ``pdq_hash`` and
``pdq_dihedral`` compute Meta's PDQ perceptual hash through the ``pdqhash`` binding
of the reference implementation, over Pillow's full-resolution decode converted to
RGB, which reproduces ThreatExchange's published vectors bit for bit.

Hashes travel as 64 lower-case hex digits, most significant bit first (the order of
``numpy.packbits`` over the 256-bit vector), which is how ThreatExchange, VICS and
our CSV lists write them.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

PDQ_HEX_LENGTH = 64
PDQ_BITS = 256
PDQ_BYTES = 32
# Meta's guidance: a distance of 31 or less is a match; quality below 50 is too
# featureless to match automatically.
DEFAULT_THRESHOLD = 31
MAX_THRESHOLD = 52
MIN_QUALITY = 50

# Decompression bombs (docs/security.md, "Hostile files"): the pixels a decode would produce are
# read from the header and refused above a budget before any pixel is decoded. JPEGs are reduced
# in the DCT domain first (a 108 MP phone photo decodes to under 7 MP on the fast path), so the
# budget bites only on what would really be decoded: ~3 bytes a pixel, 64 M pixels ~ 200 MB.
MAX_DECODE_PIXELS = 64_000_000
# The fast path decodes to the smallest size with at least this many pixels on the short side.
FAST_SHORT_SIDE = 512

_HEX_DIGITS = frozenset("0123456789abcdef")


class PdqError(ValueError):
    """A file cannot be PDQ-hashed (not an image, truncated, or too large)."""

    reason = "could not be decoded"


class TooLargeToDecode(PdqError):
    """The image would decode to more pixels than the budget allows (a decompression bomb or a
    legitimate giant): its exact hashes stand, its perceptual hash is not computed."""

    reason = "too large to decode safely"


@dataclass(frozen=True, slots=True)
class ExactHashes:
    """Hex digests of one file's bytes, and its size in bytes."""

    sha256: str
    sha1: str
    md5: str
    size: int


@dataclass(frozen=True, slots=True)
class PdqResult:
    """A PDQ hash (64 lower-case hex digits) and its quality score (0-100)."""

    hash_hex: str
    quality: int

    @property
    def matchable(self) -> bool:
        """Whether the quality is high enough for automatic matching (>= 50)."""
        return self.quality >= MIN_QUALITY


PathOrStream = str | os.PathLike[str] | BinaryIO


def exact_hashes(stream: BinaryIO | str | os.PathLike[str], chunk_size: int = 1 << 20) -> ExactHashes:
    """Hash a stream (or a path) in chunks of ``chunk_size`` bytes, never holding it whole.

    A stream is read from its current position to its end and not closed.
    """
    if chunk_size <= 0:
        raise ValueError("chunk_size must be positive.")
    if isinstance(stream, str | os.PathLike):
        with open(stream, "rb") as handle:
            return exact_hashes(handle, chunk_size)
    sha256 = hashlib.sha256()
    sha1 = hashlib.sha1(usedforsecurity=False)
    md5 = hashlib.md5(usedforsecurity=False)
    size = 0
    buffer = bytearray(chunk_size)
    view = memoryview(buffer)
    readinto = getattr(stream, "readinto", None)
    while True:
        if readinto is not None:
            n = readinto(buffer)
            if not n:
                break
            chunk = view[:n]
        else:
            data = stream.read(chunk_size)
            if not data:
                break
            n = len(data)
            chunk = data
        sha256.update(chunk)
        sha1.update(chunk)
        md5.update(chunk)
        size += n
    return ExactHashes(sha256.hexdigest(), sha1.hexdigest(), md5.hexdigest(), size)


def _register_heif() -> None:
    """HEIC/HEIF (iPhone photos) through pillow-heif, registered with Pillow once."""
    global _heif_registered
    if not _heif_registered:
        try:
            from pillow_heif import register_heif_opener
        except ImportError:  # pragma: no cover - pillow-heif is a dependency; without it HEIC is unsupported
            pass
        else:
            register_heif_opener()
        _heif_registered = True


_heif_registered = False


def _draft_size(width: int, height: int) -> tuple[int, int]:
    """The size to ask JPEG's DCT-domain reduction for: the short side no smaller than FAST_SHORT_SIDE."""
    short = min(width, height)
    if short <= FAST_SHORT_SIDE:
        return width, height
    ratio = FAST_SHORT_SIDE / short
    return max(1, int(width * ratio)), max(1, int(height * ratio))


def _load_rgb(image: PathOrStream, exact: bool = True) -> np.ndarray:
    """Decode an image into an RGB ``uint8`` array of shape (h, w, 3).

    ``exact``: at full resolution (reproduces ThreatExchange's reference hashes bit for bit).
    Otherwise the fast path: JPEGs reduced while decoding (1/2, 1/4 or 1/8 in the DCT domain) to
    the smallest size with a short side of at least 512 pixels, other formats box-reduced after
    decoding; PDQ filters every image down to 64 x 64, so the hash moves by a few bits at most.

    Raises ``TooLargeToDecode`` before decoding when the decode would exceed
    ``MAX_DECODE_PIXELS``, and ``PdqError`` for anything else that is not a decodable image.
    """
    import warnings

    from PIL import Image, UnidentifiedImageError

    _register_heif()
    try:
        with warnings.catch_warnings():
            # Our own budget (below) is stricter than Pillow's bomb warning; Pillow's note that
            # palette images with transparency "should be converted to RGBA" does not apply (PDQ
            # hashes RGB).
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            warnings.filterwarnings(
                "ignore", message="Palette images with Transparency", category=UserWarning
            )
            with Image.open(image) as img:
                width, height = img.size
                if width < 1 or height < 1:
                    raise PdqError("The image has no pixels.")
                if not exact and img.format == "JPEG":
                    img.draft(img.mode, _draft_size(width, height))
                    width, height = img.size  # what the decoder will really produce
                if width * height > MAX_DECODE_PIXELS:
                    raise TooLargeToDecode(
                        f"The image would decode to {width} x {height} pixels, more than the budget of "
                        f"{MAX_DECODE_PIXELS}."
                    )
                # Only the first frame of an animation is hashed.
                img.seek(0)
                rgb = img.convert("RGB")
                if not exact:
                    factor = min(rgb.size) // FAST_SHORT_SIDE
                    if factor >= 2:
                        rgb = rgb.reduce(factor)
                return np.asarray(rgb, dtype=np.uint8)
    except PdqError:
        raise
    except MemoryError:
        raise TooLargeToDecode("The image ran out of memory while decoding.") from None
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise PdqError(f"The file is not an image Pillow can decode ({type(exc).__name__}).") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        # Truncated or corrupt data: say which kind of error without echoing content.
        raise PdqError(f"The image could not be decoded ({type(exc).__name__}).") from None


def bits_to_hex(bits: np.ndarray) -> str:
    """A 256-element 0/1 vector to 64 hex digits, most significant bit first."""
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex()


def pdq_from_array(rgb: np.ndarray) -> PdqResult:
    """PDQ of an already decoded RGB ``uint8`` array of shape (h, w, 3)."""
    import pdqhash

    bits, quality = pdqhash.compute(np.ascontiguousarray(rgb, dtype=np.uint8))
    return PdqResult(bits_to_hex(bits), int(quality))


def pdq_dihedral_from_array(rgb: np.ndarray) -> tuple[list[str], int]:
    """The 8 dihedral PDQ hashes of a decoded RGB array, and the quality score.

    The first hash is the original orientation (equal to ``pdq_from_array``), followed
    by the rotations and mirror images in the binding's order.
    """
    import pdqhash

    hashes, quality = pdqhash.compute_dihedral(np.ascontiguousarray(rgb, dtype=np.uint8))
    return [bits_to_hex(h) for h in hashes], int(quality)


def pdq_hash(image: PathOrStream, *, exact: bool = True) -> PdqResult:
    """PDQ hash and quality of an image file or binary stream (``exact``: full-resolution decode).

    Raises ``PdqError`` if the data is not a decodable image.
    """
    return pdq_from_array(_load_rgb(image, exact))


def pdq_dihedral(image: PathOrStream, *, exact: bool = True) -> list[str]:
    """The 8 dihedral PDQ hashes (rotations and mirrors) of an image; the first is the original."""
    return pdq_dihedral_from_array(_load_rgb(image, exact))[0]


def pdq_all(image: PathOrStream, *, exact: bool = True) -> tuple[PdqResult, list[str]]:
    """Decode once and return both the PDQ result and the 8 dihedral hashes (for ingest).

    ``exact=False`` is the fast path (reduced decode) the vault and ``amparo evidence scan`` use.
    """
    rgb = _load_rgb(image, exact)
    hashes, quality = pdq_dihedral_from_array(rgb)
    return PdqResult(hashes[0], quality), hashes


def is_pdq_hex(value: str) -> bool:
    """Whether ``value`` is exactly 64 lower- or upper-case hex digits."""
    return isinstance(value, str) and len(value) == PDQ_HEX_LENGTH and set(value.lower()) <= _HEX_DIGITS


def normalise_pdq_hex(value: str) -> str:
    """Strip and lower-case a PDQ hex string, raising ``ValueError`` if it is not 64 hex digits."""
    cleaned = value.strip().lower()
    if not is_pdq_hex(cleaned):
        raise ValueError("A PDQ hash must be exactly 64 hexadecimal digits.")
    return cleaned


def hamming(a_hex: str, b_hex: str) -> int:
    """Number of differing bits between two hex hashes of the same length."""
    if len(a_hex) != len(b_hex):
        raise ValueError("Hashes of different lengths cannot be compared.")
    return (int(a_hex, 16) ^ int(b_hex, 16)).bit_count()


def hex_to_bytes(hashes: Iterable[str]) -> np.ndarray:
    """Hex PDQ hashes to a ``uint8`` array of shape (n, 32)."""
    rows = [bytes.fromhex(normalise_pdq_hex(h)) for h in hashes]
    if not rows:
        return np.zeros((0, PDQ_BYTES), dtype=np.uint8)
    return np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(len(rows), PDQ_BYTES).copy()


def bytes_to_hex(row: np.ndarray | bytes) -> str:
    """One (32,) ``uint8`` row (or 32 bytes) to 64 hex digits."""
    return bytes(np.asarray(row, dtype=np.uint8).tobytes()).hex()


# Magic numbers of the image formats Pillow decodes that evidence commonly holds.
_IMAGE_SIGNATURES: tuple[tuple[int, bytes], ...] = (
    (0, b"\xff\xd8\xff"),  # JPEG
    (0, b"\x89PNG\r\n\x1a\n"),  # PNG
    (0, b"GIF87a"),
    (0, b"GIF89a"),
    (0, b"BM"),  # BMP
    (0, b"II*\x00"),  # TIFF little-endian
    (0, b"MM\x00*"),  # TIFF big-endian
    (0, b"\x00\x00\x01\x00"),  # ICO
)
HEADER_BYTES = 32


def _is_image_header(header: bytes) -> bool:
    for offset, signature in _IMAGE_SIGNATURES:
        if header[offset : offset + len(signature)] == signature:
            return True
    # WebP: RIFF....WEBP
    return header[:4] == b"RIFF" and header[8:12] == b"WEBP"


def is_image(path_or_header: str | os.PathLike[str] | bytes | bytearray | memoryview) -> bool:
    """Whether a file (by path) or its first bytes look like an image we can PDQ-hash.

    Sniffs magic numbers only (JPEG, PNG, GIF, BMP, TIFF, ICO, WebP); never trusts the
    file name. Unreadable paths are not images.
    """
    if isinstance(path_or_header, bytes | bytearray | memoryview):
        return _is_image_header(bytes(path_or_header[:HEADER_BYTES]))
    try:
        with open(path_or_header, "rb") as handle:
            return _is_image_header(handle.read(HEADER_BYTES))
    except OSError:
        return False


def read_header(stream: BinaryIO) -> bytes:
    """Peek the first bytes of a seekable stream for ``is_image`` and rewind it."""
    position = stream.tell()
    header = stream.read(HEADER_BYTES)
    stream.seek(position, io.SEEK_SET)
    return header


__all__ = [
    "DEFAULT_THRESHOLD",
    "MAX_THRESHOLD",
    "MIN_QUALITY",
    "ExactHashes",
    "PdqError",
    "PdqResult",
    "bits_to_hex",
    "bytes_to_hex",
    "exact_hashes",
    "hamming",
    "hex_to_bytes",
    "is_image",
    "is_pdq_hex",
    "normalise_pdq_hex",
    "pdq_all",
    "pdq_dihedral",
    "pdq_from_array",
    "pdq_hash",
    "read_header",
]
