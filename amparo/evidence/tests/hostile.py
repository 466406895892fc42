"""Hostile files for tests, made on the fly (nothing fetched, nothing real)."""

from __future__ import annotations

import struct
import zlib

BOMB_SIDE = 13_000


def png_bomb(side: int = BOMB_SIDE) -> bytes:
    """A ~20 KB one-bit greyscale PNG of side x side pixels (169 M pixels at the default): Pillow
    would decode it to 169 MB, and to half a gigabyte as RGB, before PDQ saw a pixel."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + b"\x00" * ((side + 7) // 8)  # filter byte + one bit per pixel, all black
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


# Work for a test's child process (this module has no Django import, so a spawned child can load it).


def allocate(megabytes: int) -> int:
    """Allocate (and touch) ``megabytes`` of memory; the size in bytes."""
    block = bytearray(megabytes * 1024 * 1024)
    return len(block)


def die() -> None:
    """Kill the calling process at once, as a crashing decoder would."""
    import os
    import signal

    os.kill(os.getpid(), signal.SIGKILL)
