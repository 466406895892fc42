"""vPDQ: the video PDQ of ThreatExchange, over PyAV's decoder and the ``pdqhash`` binding (no Django).

A video's vPDQ is the PDQ hash and quality of frames sampled every ``seconds_per_hash`` seconds
(default 1; 0 hashes every frame), each with its frame number and timestamp (frame number divided by
the stream's average frame rate), as the reference ``vpdq`` library computes them: frames are
decoded in order, converted to RGB at their own resolution, and frame ``k`` is hashed when
``k % int(seconds_per_hash * fps) == 0``.

Two videos match as vPDQ defines it: the frames of quality >= 50 on each side are compared; a frame
counts as matched when some frame on the other side lies within the distance (the reference counts
a distance strictly below 31); the share of matched frames is computed on both sides, and the videos
match when both shares reach their thresholds (default 80% and 80%).

Text format (the reference's per-frame lines, one per sampled frame)::

    frame_number,quality,pdq_hex,timestamp

Memory: one decoded frame at a time, and streams whose frames exceed ``MAX_FRAME_PIXELS`` are
refused before decoding (``TooLargeToDecode``).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from amparo.evidence.pdq import (
    MIN_QUALITY,
    PdqError,
    TooLargeToDecode,
    hamming,
    normalise_pdq_hex,
    pdq_from_array,
)

DEFAULT_SECONDS_PER_HASH = 1.0
# The reference's tolerance: frames closer than this (strictly) match.
DISTANCE_TOLERANCE = 31
QUALITY_TOLERANCE = MIN_QUALITY
DEFAULT_QUERY_SHARE = 80.0
DEFAULT_TARGET_SHARE = 80.0
# 8K UHD is 33 M pixels; one RGB frame of it is 100 MB.
MAX_FRAME_PIXELS = 40_000_000
# Hashing stops after this many sampled frames (a 10-hour video at one a second).
MAX_FRAMES = 36_000


class VideoError(PdqError):
    """A file cannot be vPDQ-hashed (not a video, no video stream, corrupt)."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One sampled frame: its number in decoding order, PDQ quality, hash and timestamp (seconds)."""

    frame_number: int
    quality: int
    hash_hex: str
    timestamp: float

    def line(self) -> str:
        return f"{self.frame_number},{self.quality},{self.hash_hex},{self.timestamp:.3f}"


@dataclass(frozen=True, slots=True)
class VideoMatch:
    """The share (percent) of the query's and of the target's good frames that found a match."""

    query_share: float
    target_share: float

    def matches(
        self, query_threshold: float = DEFAULT_QUERY_SHARE, target_threshold: float = DEFAULT_TARGET_SHARE
    ) -> bool:
        return self.query_share >= query_threshold and self.target_share >= target_threshold


def hash_video(
    video: str | os.PathLike[str] | BinaryIO | bytes,
    seconds_per_hash: float = DEFAULT_SECONDS_PER_HASH,
    *,
    max_frame_pixels: int = MAX_FRAME_PIXELS,
) -> list[Frame]:
    """The vPDQ frames of a video file, stream or bytes. Raises ``VideoError`` or ``TooLargeToDecode``."""
    if seconds_per_hash < 0:
        raise ValueError("seconds_per_hash must not be negative.")
    import av

    source = io.BytesIO(video) if isinstance(video, bytes | bytearray) else video
    if isinstance(source, str | os.PathLike):
        source = os.fspath(source)
    try:
        container = av.open(source, mode="r", metadata_errors="ignore")
    except (av.FFmpegError, ValueError, OSError) as exc:
        raise VideoError(f"The file is not a video FFmpeg can read ({type(exc).__name__}).") from None
    try:
        return list(_frames(container, seconds_per_hash, max_frame_pixels))
    except MemoryError:
        raise TooLargeToDecode("The video ran out of memory while decoding.") from None
    except (av.FFmpegError, ValueError, OSError) as exc:
        raise VideoError(f"The video could not be decoded ({type(exc).__name__}).") from None
    finally:
        container.close()


def _frames(container, seconds_per_hash: float, max_frame_pixels: int) -> Iterator[Frame]:  # noqa: ANN001
    if not container.streams.video:
        raise VideoError("The file holds no video stream.")
    stream = container.streams.video[0]
    width, height = stream.codec_context.width, stream.codec_context.height
    if width * height > max_frame_pixels:
        raise TooLargeToDecode(
            f"The video's frames are {width} x {height} pixels, more than the budget of {max_frame_pixels}."
        )
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    fps = float(rate) if rate else 0.0
    if fps <= 0:
        raise VideoError("The video's frame rate is unknown.")
    every = max(1, int(seconds_per_hash * fps))
    # One decoding thread: a scan runs one hashing process per core already, and frame threads would
    # hold several decoded frames at once.
    stream.codec_context.thread_count = 1
    sampled = 0
    for number, frame in enumerate(container.decode(stream)):
        if number % every:
            continue
        if frame.width * frame.height > max_frame_pixels:
            raise TooLargeToDecode("A frame of the video is larger than the pixel budget.")
        rgb = frame.to_ndarray(format="rgb24")
        if rgb.shape[0] < 5 or rgb.shape[1] < 5:  # the reference's smallest hashable frame
            result_hash, quality = "0" * 64, 0
        else:
            result = pdq_from_array(rgb)
            result_hash, quality = result.hash_hex, result.quality
        yield Frame(number, quality, result_hash, round(number / fps, 3))
        sampled += 1
        if sampled >= MAX_FRAMES:
            return


def keyframes(video: bytes, limit: int, *, max_frame_pixels: int = MAX_FRAME_PIXELS) -> list:
    """The first ``limit`` keyframes of a video as Pillow images (for the blurred preview strip)."""
    import av

    try:
        with av.open(io.BytesIO(video), mode="r", metadata_errors="ignore") as container:
            if not container.streams.video:
                raise VideoError("The file holds no video stream.")
            stream = container.streams.video[0]
            if stream.codec_context.width * stream.codec_context.height > max_frame_pixels:
                raise TooLargeToDecode("The video's frames are larger than the pixel budget.")
            stream.codec_context.skip_frame = "NONKEY"
            stream.codec_context.thread_count = 1
            images = []
            for frame in container.decode(stream):
                images.append(frame.to_image())
                if len(images) >= limit:
                    break
            return images
    except (av.FFmpegError, ValueError, OSError) as exc:
        raise VideoError(f"The video could not be decoded ({type(exc).__name__}).") from None


def _good(frames: Iterable[Frame], quality_tolerance: int) -> list[Frame]:
    return [f for f in frames if f.quality >= quality_tolerance]


def _words(frames: Sequence[Frame]) -> np.ndarray:
    """Frames' hashes as a (n, 4) native ``uint64`` array."""
    raw = b"".join(bytes.fromhex(f.hash_hex) for f in frames)
    return np.frombuffer(raw, dtype=">u8").reshape(-1, 4).astype(np.uint64)


def _share_matched(mine: np.ndarray, other: np.ndarray, distance_tolerance: int) -> float:
    """Percent of the rows of ``mine`` closer than ``distance_tolerance`` to some row of ``other``."""
    matched = 0
    for row in mine:
        distances = np.bitwise_count(other ^ row[None, :]).sum(axis=1)
        matched += bool((distances < distance_tolerance).any())
    return matched * 100.0 / len(mine)


def match(
    query: Sequence[Frame],
    target: Sequence[Frame],
    *,
    distance_tolerance: int = DISTANCE_TOLERANCE,
    quality_tolerance: int = QUALITY_TOLERANCE,
) -> VideoMatch:
    """The reference's brute-force match: shares of good frames on each side within the distance."""
    q = _good(query, quality_tolerance)
    t = _good(target, quality_tolerance)
    if not q or not t:
        return VideoMatch(0.0, 0.0)
    q_words, t_words = _words(q), _words(t)
    return VideoMatch(
        _share_matched(q_words, t_words, distance_tolerance),
        _share_matched(t_words, q_words, distance_tolerance),
    )


def parse_line(line: str) -> Frame:
    """One ``frame_number,quality,pdq_hex,timestamp`` line (timestamp optional, as in older files)."""
    parts = [p.strip() for p in line.strip().split(",")]
    if len(parts) not in (3, 4):
        raise ValueError("A vPDQ line has four fields: frame number, quality, PDQ hash, timestamp.")
    try:
        number, quality = int(parts[0]), int(parts[1])
        timestamp = float(parts[3]) if len(parts) == 4 else 0.0
    except ValueError:
        raise ValueError(
            "A vPDQ line's frame number and quality are whole numbers, its timestamp a number."
        ) from None
    if number < 0 or not 0 <= quality <= 100 or timestamp < 0:
        raise ValueError("A vPDQ line has a negative frame number or timestamp, or a quality outside 0-100.")
    return Frame(number, quality, normalise_pdq_hex(parts[2]), timestamp)


def parse_lines(text: str | Iterable[str]) -> list[Frame]:
    lines = text.splitlines() if isinstance(text, str) else text
    return [parse_line(line) for line in lines if line.strip()]


def format_lines(frames: Iterable[Frame]) -> str:
    return "".join(f.line() + "\n" for f in frames)


def distance(a: Frame, b: Frame) -> int:
    return hamming(a.hash_hex, b.hash_hex)
