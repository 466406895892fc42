"""Benign synthetic videos for tests and benchmarks, encoded with PyAV (no Django; nothing fetched)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image


def scene(seed: int, width: int, height: int, frames: int) -> Iterator[np.ndarray]:
    """A pan over a random texture, with a cut to another texture halfway: frames with PDQ quality
    100 that change over time."""
    rng = np.random.default_rng(seed)
    for part in range(2):
        big = _texture(rng, width * 2, height)
        half = frames // 2 if part == 0 else frames - frames // 2
        for k in range(half):
            x = int(k * width / max(half, 1))
            yield np.ascontiguousarray(big[:height, x : x + width])


def _texture(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Random colour fields summed over several scales: energy in every frequency PDQ keeps, so its
    bits survive re-encoding (one smooth field leaves many coefficients near the median)."""
    total = np.zeros((height, width, 3))
    for cells, weight in ((3, 1.0), (6, 0.8), (12, 0.6)):
        coarse = rng.integers(0, 256, (cells, cells * width // height, 3), dtype=np.uint8)
        total += weight * np.asarray(
            Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC), dtype=np.float64
        )
    total = (total - total.min()) / (total.max() - total.min()) * 255
    return total.astype(np.uint8)


def write_video(
    path: Path,
    frames: Iterable[np.ndarray],
    *,
    fps: int = 10,
    codec: str = "libx264",
    bit_rate: int | None = None,
    size: tuple[int, int] | None = None,
    container: str | None = None,
) -> Path:
    """Encode RGB frames (optionally scaled to ``size``) into ``path``."""
    import av

    frames = iter(frames)
    first = next(frames)
    with av.open(str(path), mode="w", format=container) as out:
        stream = out.add_stream(codec, rate=fps)
        height, width = first.shape[:2]
        stream.width, stream.height = size or (width, height)
        stream.pix_fmt = "yuv420p"
        if bit_rate:
            stream.bit_rate = bit_rate
        for rgb in itertools.chain([first], frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            if size:
                frame = frame.reformat(width=size[0], height=size[1])
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path
