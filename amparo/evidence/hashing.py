"""Hashing one evidence file, in a child process under a memory limit (no Django).

``hash_file`` and ``hash_bytes`` give what the vault and ``amparo evidence scan`` record for a file:
size, SHA-256, SHA-1 and MD5 of its bytes (read once), the media type sniffed from its first bytes
(never its name), and for images the PDQ hash, quality and 8 dihedral hashes (the fast, reduced
decode unless ``exact_pdq``), for videos the vPDQ frames. A file that cannot be hashed perceptually
keeps its exact hashes and says why in ``not_hashed`` ("unsupported format", "could not be decoded",
"too large to decode safely", ...).

``BoundedHasher`` runs these in a pool of child processes, each under ``RLIMIT_AS`` (an address
space limit): a decompression bomb or a hostile video can fail, and the child may even die, but the
caller (a report worker, the scan command) carries on. A child that dies or overruns its time limit
is replaced; the file it held is reported as not hashed.
"""

from __future__ import annotations

import atexit
import concurrent.futures as cf
import io
import multiprocessing
import os
import resource
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from amparo.evidence import pdq

# Images larger than this (in bytes) get exact hashes only: no phone photo comes near it.
IMAGE_MAX_BYTES = 256 * 1024 * 1024
DEFAULT_MEMORY_MB = 1536
DEFAULT_TIMEOUT_S = 300.0

NOT_HASHED_UNSUPPORTED = "unsupported format"
NOT_HASHED_UNDECODABLE = "could not be decoded"
NOT_HASHED_TOO_LARGE = "too large to decode safely"
NOT_HASHED_EMPTY = "empty file"
NOT_HASHED_CRASHED = "the hashing process failed on it"
NOT_HASHED_TIMEOUT = "took too long to decode"

_HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"})


def media_type(header: bytes) -> str | None:
    """The media type of a file from its first 32 bytes: the images PDQ hashes and the videos vPDQ
    hashes (MP4, MOV, 3GP, AVI, MKV, WebM), else None."""
    if header[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if header[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if header[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if header[:4] == b"RIFF" and header[8:12] == b"WEBP":
        return "image/webp"
    if header[:4] == b"RIFF" and header[8:12] == b"AVI ":
        return "video/x-msvideo"
    if header[:4] == b"\x1a\x45\xdf\xa3":
        return "video/webm" if b"webm" in header else "video/x-matroska"
    if header[4:8] == b"ftyp":
        brand = header[8:12]
        if brand in _HEIF_BRANDS:
            return "image/heic"
        if brand.startswith(b"3g"):
            return "video/3gpp"
        if brand == b"qt  ":
            return "video/quicktime"
        return "video/mp4"
    if pdq.is_image(header):  # BMP, TIFF, ICO
        return "image/other"
    return None


@dataclass
class FileHashes:
    """What hashing one file found; ``as_json`` is the scan's line (minus path and matches)."""

    size: int = 0
    sha256: str | None = None
    sha1: str | None = None
    md5: str | None = None
    media_type: str | None = None
    pdq: str | None = None
    quality: int | None = None
    dihedral: list[str] = field(default_factory=list)
    vpdq: list[str] = field(default_factory=list)  # frame lines: frame,quality,hash,timestamp
    not_hashed: str | None = None
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("dihedral")
        data.pop("sha1")
        data["vpdq_frames"] = len(data.pop("vpdq"))
        return data


def _perceptual(result: FileHashes, source: Any, *, exact_pdq: bool, seconds_per_hash: float) -> None:
    kind = result.media_type
    if result.size == 0:
        result.not_hashed = NOT_HASHED_EMPTY
        return
    if kind is None:
        result.not_hashed = NOT_HASHED_UNSUPPORTED
        return
    try:
        if kind.startswith("image/"):
            if result.size > IMAGE_MAX_BYTES:
                result.not_hashed = NOT_HASHED_TOO_LARGE
                return
            found, dihedral = pdq.pdq_all(source, exact=exact_pdq)
            result.pdq, result.quality, result.dihedral = found.hash_hex, found.quality, dihedral
        else:
            from amparo.evidence import vpdq

            frames = vpdq.hash_video(source, seconds_per_hash)
            result.vpdq = [f.line() for f in frames]
            if not frames:
                result.not_hashed = NOT_HASHED_UNDECODABLE
    except pdq.TooLargeToDecode:
        result.not_hashed = NOT_HASHED_TOO_LARGE
    except MemoryError:
        result.not_hashed = NOT_HASHED_TOO_LARGE
    except pdq.PdqError:
        result.not_hashed = NOT_HASHED_UNDECODABLE


def hash_bytes(data: bytes, *, exact_pdq: bool = False, seconds_per_hash: float = 1.0) -> FileHashes:
    """Hash a file held in memory (the vault's decrypted plaintext)."""
    exact = pdq.exact_hashes(io.BytesIO(data))
    result = FileHashes(exact.size, exact.sha256, exact.sha1, exact.md5, media_type(data[: pdq.HEADER_BYTES]))
    _perceptual(result, io.BytesIO(data), exact_pdq=exact_pdq, seconds_per_hash=seconds_per_hash)
    return result


def hash_file(
    path: str | os.PathLike[str], *, exact_pdq: bool = False, seconds_per_hash: float = 1.0
) -> FileHashes:
    """Hash a file on disk: an image is read once (hashed and decoded from memory); other files are
    streamed for their exact hashes, and a video is then decoded from the file."""
    try:
        with open(path, "rb") as handle:
            header = handle.read(pdq.HEADER_BYTES)
            kind = media_type(header)
            size = os.fstat(handle.fileno()).st_size
            if kind is not None and kind.startswith("image/") and size <= IMAGE_MAX_BYTES:
                data = header + handle.read()
                result = hash_bytes(data, exact_pdq=exact_pdq)
                return result
            handle.seek(0)
            exact = pdq.exact_hashes(handle)
    except OSError as exc:
        return FileHashes(error=f"unreadable ({exc.strerror or type(exc).__name__})")
    result = FileHashes(exact.size, exact.sha256, exact.sha1, exact.md5, kind)
    _perceptual(result, Path(path), exact_pdq=exact_pdq, seconds_per_hash=seconds_per_hash)
    return result


# --------------------------------------------------------------------------- previews

PREVIEW_KEYFRAMES = 6


def _blurred(image: Any, size: int, blur: float) -> Any:
    from PIL import ImageFilter

    small = image.convert("L")
    small.thumbnail((size, size))
    return small.filter(ImageFilter.GaussianBlur(blur))


def preview_png(data: bytes, size: int = 160, blur: float = 6) -> bytes:
    """A small, blurred, greyscale PNG of an image, or for a video a strip of its first blurred
    keyframes, made in memory (run it in a ``BoundedHasher``: it decodes a stranger's file). The
    image goes through the same pixel budget as PDQ. Raises ``pdq.PdqError`` (or ``TooLargeToDecode``)."""
    from PIL import Image

    kind = media_type(data[: pdq.HEADER_BYTES])
    if kind is None:
        raise pdq.PdqError("Neither an image nor a video.")
    if kind.startswith("image/"):
        frames = [_blurred(Image.fromarray(pdq._load_rgb(io.BytesIO(data), exact=False)), size, blur)]
    else:
        from amparo.evidence import vpdq

        frames = [_blurred(f, size, blur) for f in vpdq.keyframes(data, PREVIEW_KEYFRAMES)]
        if not frames:
            raise vpdq.VideoError("The video has no frame to show.")
    strip = Image.new(
        "L", (sum(f.width for f in frames) + 4 * (len(frames) - 1), max(f.height for f in frames))
    )
    x = 0
    for frame in frames:
        strip.paste(frame, (x, 0))
        x += frame.width + 4
    out = io.BytesIO()
    strip.save(out, format="PNG")
    return out.getvalue()


# --------------------------------------------------------------------------- the bounded pool


def _limit_memory(megabytes: int) -> None:
    """Pool initializer: cap this child's address space, so an allocation past it fails with
    MemoryError (caught and reported) instead of exhausting the machine."""
    limit = megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # One thread per child for the libraries that would start more (OpenMP, OpenBLAS).
    os.environ.setdefault("OMP_NUM_THREADS", "1")


class BoundedHasher:
    """A pool of ``workers`` child processes, each under an address-space limit of ``memory_mb``.

    ``run(func, *args)`` returns ``func(*args)`` computed in a child, or raises ``HashingFailed``
    when the child died or overran ``timeout`` seconds (the pool is then replaced). ``submit`` gives
    a future for callers that keep several files in flight (``amparo evidence scan``).
    """

    def __init__(
        self, workers: int = 1, memory_mb: int = DEFAULT_MEMORY_MB, timeout: float = DEFAULT_TIMEOUT_S
    ):
        self.workers = max(1, workers)
        self.memory_mb = memory_mb
        self.timeout = timeout
        self._lock = threading.Lock()
        self._pool: cf.ProcessPoolExecutor | None = None

    def _executor(self) -> cf.ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = cf.ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_limit_memory,
                    initargs=(self.memory_mb,),
                )
            return self._pool

    def submit(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> cf.Future:
        return self._executor().submit(func, *args, **kwargs)

    def reset(self) -> None:
        """Replace the pool: kill its children (one may be stuck on a hostile file)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is None:
            return
        # ProcessPoolExecutor has no public way to kill a stuck child before Python 3.14
        # (``kill_workers``); its ``_processes`` map is the documented-in-source handle to them.
        for process in list(getattr(pool, "_processes", {}).values()):
            if process.is_alive():
                process.kill()
        pool.shutdown(wait=True, cancel_futures=True)

    def run(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        future = self.submit(func, *args, **kwargs)
        try:
            return future.result(timeout=self.timeout)
        except cf.TimeoutError:
            self.reset()
            raise HashingFailed(NOT_HASHED_TIMEOUT) from None
        except cf.process.BrokenProcessPool:
            self.reset()
            raise HashingFailed(NOT_HASHED_CRASHED) from None

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> BoundedHasher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_shared: BoundedHasher | None = None
_shared_lock = threading.Lock()


def shared_hasher() -> BoundedHasher:
    """This process's one child for hashing and previews (the vault's worker, the web process),
    under AMPARO_HASH_MEMORY_MB of address space and AMPARO_HASH_TIMEOUT_SECONDS per file."""
    global _shared
    from amparo.lib.env import env_int

    with _shared_lock:
        if _shared is None:
            _shared = BoundedHasher(
                workers=1,
                memory_mb=env_int("AMPARO_HASH_MEMORY_MB", DEFAULT_MEMORY_MB, minimum=256),
                timeout=env_int("AMPARO_HASH_TIMEOUT_SECONDS", int(DEFAULT_TIMEOUT_S), minimum=10),
            )
            atexit.register(_shared.close)
        return _shared


class HashingFailed(RuntimeError):
    """The child hashing a file died or ran out of time; ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
