"""The evidence store's part in backups (`amparo.core.backup`): its files, and their check on restore.

A local store's sealed files are copied into the backup as they are (they stay encrypted under their
own keys inside the backup's encryption). An S3-compatible store keeps its objects itself (bucket
versioning and replication, docs/operations.md): the backup then holds only the list of what it should
contain, and the check after a restore reads every object back.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

from amparo.core.backup import COPY_BYTES, FileSource, Progress, RestoreCheck
from amparo.evidence import vault
from amparo.evidence.models import EvidenceItem
from amparo.evidence.storage import LocalStorage, get_storage
from amparo.lib.env import env_str


def _kind() -> str:
    return env_str("AMPARO_EVIDENCE_STORAGE", "local")


def _live_items() -> Any:
    return EvidenceItem.objects.filter(destroyed_at__isnull=True).order_by("received_at", "id")


def manifest() -> dict[str, Any]:
    storage = get_storage()
    items = []
    for key, size, sha256 in (
        _live_items().values_list("storage_key", "size", "sha256").iterator(chunk_size=2000)
    ):
        items.append({"key": key, "plain_size": size, "sha256": sha256, "stored": storage.exists(key)})
    return {"store": _kind(), "items": items}


def files() -> Iterator[tuple[str, int]]:
    storage = get_storage()
    if not isinstance(storage, LocalStorage):
        return
    for key in _live_items().values_list("storage_key", flat=True).iterator(chunk_size=2000):
        if storage.exists(key):  # a file missing now is reported by the check after a restore
            yield key, storage.size(key)


def open_file(key: str) -> BinaryIO:
    return get_storage().open_read(key)


def write_file(key: str, stream: BinaryIO) -> None:
    storage = get_storage()
    if storage.exists(key):  # only reached with --force: the backup's copy wins
        storage.delete(key)
    with storage.open_write(key) as target:
        while data := stream.read(COPY_BYTES):
            target.write(data)


def is_empty() -> bool:
    storage = get_storage()
    if not isinstance(storage, LocalStorage):
        return True  # nothing of an S3 store is written on restore
    return not storage.root.exists() or not any(p.is_file() for p in storage.root.rglob("*"))


def check_total() -> int:
    return _live_items().count()


def check_run(progress: Progress) -> list[str]:
    """Every live item's file decrypts and matches its recorded SHA-256 (an alarm is recorded if not)."""
    problems = []
    storage = get_storage()
    for item in _live_items().iterator(chunk_size=200):
        try:
            vault.verify(item, storage=storage)
        except vault.IntegrityAlarm as exc:
            problems.append(str(exc))
        progress(1)
    return problems


SOURCE = FileSource("evidence", manifest, files, open_file, write_file, is_empty)
CHECK = RestoreCheck("evidence", check_total, check_run)
