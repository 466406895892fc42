"""Sealed files read back exactly, and any truncation, extension, reordering, relabelling or other key fails."""

from __future__ import annotations

import io
import os

import pytest

from amparo.lib import sealed_stream as ss

KEY = os.urandom(32)


def seal(data: bytes, label: str = "database.enc") -> bytes:
    sink = io.BytesIO()
    writer = ss.SealingWriter(sink, KEY, label)
    for i in range(0, len(data), 300_000):  # written in pieces that do not line up with chunks
        writer.write(data[i : i + 300_000])
    writer.close()
    return sink.getvalue()


def unseal(sealed: bytes, label: str = "database.enc", key: bytes = KEY) -> bytes:
    return ss.OpeningReader(io.BytesIO(sealed), key, label).read()


@pytest.mark.parametrize("size", [0, 1, ss.CHUNK - 1, ss.CHUNK, ss.CHUNK + 1, 2 * ss.CHUNK + 5])
def test_round_trip_at_every_chunk_boundary(size):
    data = os.urandom(size)
    assert unseal(seal(data)) == data


def test_the_plaintext_never_appears_in_the_sealed_bytes():
    data = b"Ana Teste, 14, Pemba " * 1000
    assert b"Ana Teste" not in seal(data)


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[: -(ss.SEALED_CHUNK // 2)],  # tail cut inside the final chunk
        lambda b: b[: len(ss.MAGIC) + 16 + ss.SEALED_CHUNK],  # final chunk dropped
        lambda b: b + b"\x00" * 40,  # bytes appended
        lambda b: b[:100] + bytes([b[100] ^ 1]) + b[101:],  # one bit flipped
    ],
)
def test_damage_fails_to_authenticate(damage):
    sealed = seal(os.urandom(ss.CHUNK + 1000))
    with pytest.raises(ss.SealedStreamError):
        unseal(damage(sealed))


def test_chunks_swapped_between_places_fail():
    sealed = seal(os.urandom(3 * ss.CHUNK))
    head = len(ss.MAGIC) + 16
    first, second = (
        sealed[head : head + ss.SEALED_CHUNK],
        sealed[head + ss.SEALED_CHUNK : head + 2 * ss.SEALED_CHUNK],
    )
    swapped = sealed[:head] + second + first + sealed[head + 2 * ss.SEALED_CHUNK :]
    with pytest.raises(ss.SealedStreamError, match="chunk 0"):
        unseal(swapped)


def test_a_file_read_under_another_label_or_key_fails():
    sealed = seal(b"x" * 10)
    with pytest.raises(ss.SealedStreamError):
        unseal(sealed, label="evidence.enc")
    with pytest.raises(ss.SealedStreamError):
        unseal(sealed, key=os.urandom(32))


def test_a_file_that_is_not_sealed_says_so():
    with pytest.raises(ss.SealedStreamError, match="not a sealed Amparo file"):
        unseal(b"PGDMP" + b"\x00" * 100)
