"""Streaming encryption of evidence files.

Each file gets a fresh AES-256-GCM data key, stored only wrapped by the master key (whose id is
recorded, so that rotation can find it: `rewrap_all`). The plaintext is cut into chunks of
``CHUNK_SIZE`` bytes; each chunk is sealed with its own random nonce and, as associated data, the
item's id, the chunk's index and whether it is the last one, so that a chunk moved to another item or
another place, a dropped tail or an appended chunk all fail to authenticate. Nothing holds more than
one chunk of a file at a time. The SHA-256 of the plaintext is computed while sealing and recomputed on
every read; any mismatch raises `IntegrityAlarm` and records an integrity-alarm custody event.

Stored form, per chunk: nonce (12 bytes) + ciphertext + tag (16 bytes).
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction

from amparo.core import audit, crypto
from amparo.evidence.storage import EvidenceStorage, StorageError, get_storage, max_bytes
from amparo.lib import envelope
from amparo.lib.sealed_stream import read_exactly as _read_exactly

CHUNK_SIZE = 1 << 20  # 1 MiB of plaintext per sealed chunk
OVERHEAD = envelope.NONCE_BYTES + 16
_AAD_LABEL = b"amparo evidence chunk v1\x00"


class IntegrityAlarm(Exception):
    """Stored evidence failed verification (altered, truncated, reordered, or its key is missing)."""


class Destroyed(Exception):
    """The item was destroyed: its file and key are gone (its record and custody remain)."""


class TooLarge(Exception):
    """The file is larger than AMPARO_EVIDENCE_MAX_BYTES."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the file is larger than the limit of {limit} bytes")
        self.limit = limit


@dataclass(frozen=True)
class Sealed:
    item_id: uuid.UUID
    storage_key: str
    size: int
    sha256: str
    chunk_count: int
    chunk_size: int
    wrapped_key: bytes
    master_key_id: str


def _aad(item_id: uuid.UUID, index: int, final: bool) -> bytes:
    return _AAD_LABEL + item_id.bytes + index.to_bytes(8, "big") + (b"\x01" if final else b"\x00")


def _pieces(source: Any) -> Iterator[bytes]:
    """Bytes from an UploadedFile (`chunks()`), a binary stream (`read`) or an iterable of bytes."""
    if hasattr(source, "chunks"):
        yield from source.chunks(CHUNK_SIZE)
    elif hasattr(source, "read"):
        while True:
            data = source.read(CHUNK_SIZE)
            if not data:
                return
            yield data
    else:
        yield from source


def storage_key_for(item_id: uuid.UUID) -> str:
    hexid = item_id.hex
    return f"{hexid[:2]}/{hexid[2:4]}/{hexid}"


class Sealer:
    """Push-style sealing: `write()` plaintext as it arrives (an upload handler's chunks), then `close()`
    for the `Sealed` record, or `abort()` to remove what was written. Holds at most one chunk."""

    def __init__(
        self,
        item_id: uuid.UUID,
        *,
        storage: EvidenceStorage | None = None,
        limit: int | None = None,
        chunk_size: int = CHUNK_SIZE,
    ) -> None:
        self.item_id = item_id
        self.storage = storage or get_storage()
        self.limit = max_bytes() if limit is None else limit
        self.chunk_size = chunk_size
        self.key = storage_key_for(item_id)
        self._data_key = envelope.new_key()
        self._digest = hashlib.sha256()
        self._buffer = bytearray()
        self.size = 0
        self.count = 0
        self._context = self.storage.open_write(self.key)
        self._out = self._context.__enter__()

    def _emit(self, chunk: bytes, final: bool) -> None:
        self._out.write(envelope.seal(self._data_key, chunk, _aad(self.item_id, self.count, final)))
        self.count += 1

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            self.abort()
            raise TooLarge(self.limit)
        self._digest.update(data)
        self._buffer += data
        # Keep the last full chunk back: only at close() is it known whether it is the final one.
        while len(self._buffer) > self.chunk_size:
            self._emit(bytes(self._buffer[: self.chunk_size]), final=False)
            del self._buffer[: self.chunk_size]

    def close(self) -> Sealed:
        if len(self._buffer) == self.chunk_size:
            self._emit(bytes(self._buffer), final=False)
            self._buffer.clear()
        self._emit(bytes(self._buffer), final=True)
        self._buffer.clear()
        self._context.__exit__(None, None, None)
        return Sealed(
            item_id=self.item_id,
            storage_key=self.key,
            size=self.size,
            sha256=self._digest.hexdigest(),
            chunk_count=self.count,
            chunk_size=self.chunk_size,
            wrapped_key=envelope.wrap_key(settings.AMPARO_MASTER_KEY, self._data_key),
            master_key_id=crypto.current_master_id(),
        )

    def abort(self) -> None:
        """Discard the partial file (nothing remains under the key)."""
        with contextlib.suppress(StorageError):
            self._context.__exit__(StorageError, StorageError("aborted"), None)
        self.storage.delete(self.key)


def seal(
    item_id: uuid.UUID,
    source: Any,
    *,
    storage: EvidenceStorage | None = None,
    limit: int | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> Sealed:
    """Encrypt `source` (an UploadedFile, a binary stream or an iterable of bytes) into storage under a
    key derived from `item_id`, one chunk at a time."""
    sealer = Sealer(item_id, storage=storage, limit=limit, chunk_size=chunk_size)
    try:
        for piece in _pieces(source):
            sealer.write(piece)
    except TooLarge:
        raise
    except BaseException:
        sealer.abort()
        raise
    return sealer.close()


def _data_key(item: Any) -> bytes:
    master = crypto.master_keys().get(item.master_key_id)
    if master is None:
        raise IntegrityAlarm(
            f"evidence item {item.pk} is wrapped by master key {item.master_key_id}, which is not configured "
            "(list the old key in AMPARO_OLD_MASTER_KEYS until `rotate_keys` has re-wrapped every item)"
        )
    try:
        return envelope.unwrap_key(master, bytes(item.wrapped_key))
    except envelope.DecryptionError:
        raise IntegrityAlarm(f"the key of evidence item {item.pk} failed authentication") from None


def _decrypt_chunks(item: Any, storage: EvidenceStorage) -> Iterator[bytes]:
    key = _data_key(item)
    item_id = item.pk if isinstance(item.pk, uuid.UUID) else uuid.UUID(str(item.pk))
    sealed_size = item.chunk_size + OVERHEAD
    digest = hashlib.sha256()
    size = 0
    with storage.open_read(item.storage_key) as stream:
        for index in range(item.chunk_count):
            final = index == item.chunk_count - 1
            sealed = _read_exactly(stream, sealed_size)
            try:
                chunk = envelope.open_sealed(key, sealed, _aad(item_id, index, final))
            except envelope.DecryptionError:
                raise IntegrityAlarm(
                    f"chunk {index} of evidence item {item.pk} failed authentication "
                    "(altered, truncated or out of order)"
                ) from None
            digest.update(chunk)
            size += len(chunk)
            yield chunk
        if stream.read(1):
            raise IntegrityAlarm(f"evidence item {item.pk} has bytes after its last chunk")
    if size != item.size or digest.hexdigest() != item.sha256:
        raise IntegrityAlarm(f"the SHA-256 of evidence item {item.pk} does not match the one recorded")


def read_chunks(item: Any, *, storage: EvidenceStorage | None = None) -> Iterator[bytes]:
    """The item's plaintext, chunk by chunk, re-verified as it goes (the SHA-256 at the end).

    Any failure records an integrity-alarm custody event and raises IntegrityAlarm (callers read before
    opening their own transaction, so that the alarm is committed even though their action fails). A consumer must read to the end
    before trusting what it received: use `verify()` first when the bytes leave the process.
    """
    if getattr(item, "destroyed_at", None) is not None:
        raise Destroyed(f"evidence item {item.pk} was destroyed")
    storage = storage or get_storage()
    try:
        yield from _decrypt_chunks(item, storage)
    except IntegrityAlarm:
        _record_alarm(item)
        raise
    except OSError as exc:
        _record_alarm(item)
        raise IntegrityAlarm(f"evidence item {item.pk} could not be read ({type(exc).__name__})") from None
    except StorageError as exc:
        _record_alarm(item)
        raise IntegrityAlarm(f"evidence item {item.pk}: {exc}") from None


def verify(item: Any, *, storage: EvidenceStorage | None = None) -> str:
    """Read the whole item once, discarding the plaintext; return its SHA-256 or raise IntegrityAlarm."""
    for _chunk in read_chunks(item, storage=storage):
        pass
    return item.sha256


def read_all(item: Any, *, limit: int, storage: EvidenceStorage | None = None) -> bytes:
    """The whole plaintext in memory, for decoding an image (bounded by `limit`, verified before return)."""
    if item.size > limit:
        raise TooLarge(limit)
    return b"".join(read_chunks(item, storage=storage))


def _record_alarm(item: Any) -> None:
    from amparo.evidence.actions import record_integrity_alarm

    record_integrity_alarm(item)


def rewrap_rows(model: Any, *, batch: int = 200, progress: Callable[[int], None] | None = None) -> int:
    """Re-wrap the file key of every row of `model` (evidence items, sync pieces: rows with `wrapped_key`
    and `master_key_id`) not yet under the current master key, a batch per transaction; returns how many."""
    current = crypto.current_master_id()
    done = 0
    while True:
        with transaction.atomic():
            rows = list(
                model.objects.select_for_update()
                .exclude(master_key_id=current)
                .only("id", "wrapped_key", "master_key_id")[:batch]
            )
            if not rows:
                return done
            for row in rows:
                row.wrapped_key = envelope.wrap_key(settings.AMPARO_MASTER_KEY, _data_key(row))
                row.master_key_id = current
            model.objects.bulk_update(rows, ["wrapped_key", "master_key_id"])
            done += len(rows)
            if progress:
                progress(len(rows))


def rewrap_all(actor: Any = None, *, batch: int = 200, progress: Callable[[int], None] | None = None) -> int:
    """Re-wrap every item's file key under the current master key (called from `rotate_keys`).

    Items already under the current key are skipped, so re-running after an interruption carries on.
    Each batch runs in its own transaction. Returns the number of items re-wrapped.
    """
    from amparo.evidence.models import EvidenceItem
    from amparo.evidence.permissions import EvidenceAudit

    actor = actor or audit.Actor.system("rotate_keys")
    done = rewrap_rows(EvidenceItem, batch=batch, progress=progress)
    if done:
        with transaction.atomic():
            audit.record(actor, EvidenceAudit.KEYS_REWRAP, ("evidence.evidenceitem", ""), ["wrapped_key"])
    return done


def read_staged(record: Any, *, storage: EvidenceStorage | None = None) -> Iterator[bytes]:
    """The plaintext of a sealed record that is not an evidence item (a piece of a file still arriving
    from a district node: `amparo.sync.models.FilePiece`), verified like an item's. No custody event is
    recorded on failure (there is no item yet): the caller rejects the piece and asks for it again."""
    return _decrypt_chunks(record, storage or get_storage())
