"""Streaming authenticated encryption of whole files (no Django): used for backups.

A sealed file is a header and a series of chunks. The header is ``MAGIC`` followed by 16 random bytes
that name this file; every chunk is sealed with AES-256-GCM under the key with its own random nonce and,
as associated data, the header, the file's label (its name inside the backup), the chunk's index and
whether it is the last one. A chunk moved to another place or another file, a dropped tail or bytes
appended after the end therefore all fail to authenticate. Non-final chunks hold exactly ``CHUNK``
bytes of plaintext; the final one holds fewer (possibly none), so a reader knows where the end is.

Nothing holds more than one chunk in memory.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from typing import BinaryIO

from amparo.lib import envelope

MAGIC = b"AMPARO-SEALED-1\n"
CHUNK = 1 << 20
SEALED_CHUNK = CHUNK + envelope.NONCE_BYTES + 16


class SealedStreamError(Exception):
    """The sealed file was altered, truncated, or made under another key or for another label."""


def _aad(header: bytes, label: str, index: int, final: bool) -> bytes:
    return (
        header + label.encode("utf-8") + b"\x00" + index.to_bytes(8, "big") + (b"\x01" if final else b"\x00")
    )


class SealingWriter(io.RawIOBase):
    """A writable stream that seals what is written to `sink`; `close()` writes the final chunk.

    `plain_sha256` and `plain_size` describe the plaintext once closed."""

    def __init__(self, sink: BinaryIO, key: bytes, label: str) -> None:
        super().__init__()
        self.sink, self.key, self.label = sink, key, label
        self.header = MAGIC + os.urandom(16)
        self.sink.write(self.header)
        self.buffer = bytearray()
        self.index = 0
        self.digest = hashlib.sha256()
        self.plain_size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self.buffer += data
        self.digest.update(data)
        self.plain_size += len(data)
        while len(self.buffer) >= CHUNK:
            self._emit(bytes(self.buffer[:CHUNK]), final=False)
            del self.buffer[:CHUNK]
        return len(data)

    def _emit(self, chunk: bytes, *, final: bool) -> None:
        self.sink.write(envelope.seal(self.key, chunk, _aad(self.header, self.label, self.index, final)))
        self.index += 1

    def close(self) -> None:
        if not self.closed:
            self._emit(bytes(self.buffer), final=True)
            self.buffer.clear()
        super().close()

    @property
    def plain_sha256(self) -> str:
        return self.digest.hexdigest()


def read_exactly(stream: BinaryIO, n: int) -> bytes:
    """`n` bytes from `stream`, fewer only at its end (a pipe or socket may return less per read)."""
    parts, left = [], n
    while left > 0:
        data = stream.read(left)
        if not data:
            break
        parts.append(data)
        left -= len(data)
    return b"".join(parts)


def open_chunks(source: BinaryIO, key: bytes, label: str) -> Iterator[bytes]:
    """The plaintext of a sealed file, chunk by chunk; raises SealedStreamError on any change."""
    header = read_exactly(source, len(MAGIC) + 16)
    if len(header) != len(MAGIC) + 16 or not header.startswith(MAGIC):
        raise SealedStreamError(f"{label} is not a sealed Amparo file (its header is wrong)")
    index = 0
    while True:
        sealed = read_exactly(source, SEALED_CHUNK)
        final = len(sealed) < SEALED_CHUNK
        if not sealed:
            raise SealedStreamError(f"{label} is truncated (its final chunk is missing)")
        try:
            chunk = envelope.open_sealed(key, sealed, _aad(header, label, index, final))
        except envelope.DecryptionError:
            raise SealedStreamError(
                f"chunk {index} of {label} failed authentication (wrong key, altered or truncated)"
            ) from None
        yield chunk
        if final:
            return
        index += 1


class OpeningReader(io.RawIOBase):
    """A readable stream of the plaintext of a sealed file (for tarfile and pg_restore's stdin)."""

    def __init__(self, source: BinaryIO, key: bytes, label: str) -> None:
        super().__init__()
        self.source = source
        self.chunks = open_chunks(source, key, label)
        self.pending = b""

    def close(self) -> None:
        """Closes the sealed file too."""
        if not self.closed:
            self.source.close()
        super().close()

    def readable(self) -> bool:
        return True

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self.pending:
            try:
                self.pending = next(self.chunks)
            except StopIteration:
                return 0
            if not self.pending:
                return 0
        n = min(len(target), len(self.pending))
        target[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n
