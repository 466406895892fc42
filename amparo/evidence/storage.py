"""Where the vault's sealed bytes live, behind one small Protocol.

* ``local`` (default): files under ``AMPARO_EVIDENCE_DIR`` (default ``AMPARO_DATA_DIR/evidence``),
  written to a temporary name and renamed into place, so a crash never leaves half a file under a key.
* ``memory``: a process-local dictionary, for tests and scripts.

An S3-compatible back-end (django-storages or boto3) is not installed; one more class with these five
methods is all it takes (multipart upload in ``open_write``, ranged GETs not needed: reads stream).
Only ciphertext ever reaches a back-end.

Settings are read from the environment at call time (this app cannot edit settings.py):
``AMPARO_EVIDENCE_STORAGE``, ``AMPARO_EVIDENCE_DIR``, ``AMPARO_EVIDENCE_MAX_BYTES``.
"""

from __future__ import annotations

import io
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from django.conf import settings

from amparo.lib.env import ConfigError, env_int, env_str

DEFAULT_MAX_BYTES = 2 * 1024**3  # 2 GiB
_KEY = re.compile(r"^[a-z0-9][a-z0-9/_-]{0,199}$")


def max_bytes() -> int:
    """Largest file the vault accepts (AMPARO_EVIDENCE_MAX_BYTES, default 2 GiB)."""
    return env_int("AMPARO_EVIDENCE_MAX_BYTES", DEFAULT_MAX_BYTES, minimum=1)


class StorageError(Exception):
    """The storage back-end could not store or return sealed bytes."""


@runtime_checkable
class EvidenceStorage(Protocol):
    def open_write(self, key: str):  # noqa: ANN201 - a context manager yielding a writable binary stream
        ...

    def open_read(self, key: str) -> BinaryIO: ...

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int: ...

    def delete(self, key: str) -> None: ...


def _check_key(key: str) -> str:
    if not _KEY.match(key) or ".." in key:
        raise StorageError("invalid storage key")
    return key


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)

    @contextmanager
    def open_write(self, key: str) -> Iterator[BinaryIO]:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if path.exists():
            raise StorageError("a stored file already has this key")
        tmp = path.with_name(f".{path.name}.partial")
        handle = open(tmp, "wb")  # noqa: SIM115 - closed below, renamed only on success
        try:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
            os.replace(tmp, path)
        except BaseException:
            handle.close()
            tmp.unlink(missing_ok=True)
            raise

    def open_read(self, key: str) -> BinaryIO:
        try:
            return open(self._path(key), "rb")  # noqa: SIM115 - the caller closes it
        except FileNotFoundError:
            raise StorageError("the stored file is missing") from None

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            raise StorageError("the stored file is missing") from None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


class MemoryStorage:
    """Keeps sealed bytes in a dictionary (tests, scripts). Not for production: nothing persists."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self._lock = threading.Lock()

    @contextmanager
    def open_write(self, key: str) -> Iterator[BinaryIO]:
        _check_key(key)
        with self._lock:
            if key in self.files:
                raise StorageError("a stored file already has this key")
        buffer = io.BytesIO()
        yield buffer
        with self._lock:
            self.files[key] = buffer.getvalue()

    def open_read(self, key: str) -> BinaryIO:
        with self._lock:
            data = self.files.get(_check_key(key))
        if data is None:
            raise StorageError("the stored file is missing")
        return io.BytesIO(data)

    def exists(self, key: str) -> bool:
        return _check_key(key) in self.files

    def size(self, key: str) -> int:
        return len(self.open_read(key).getvalue())  # type: ignore[attr-defined]

    def delete(self, key: str) -> None:
        with self._lock:
            self.files.pop(_check_key(key), None)


_memory = MemoryStorage()


def get_storage() -> EvidenceStorage:
    """The configured back-end (AMPARO_EVIDENCE_STORAGE: local or memory)."""
    kind = env_str("AMPARO_EVIDENCE_STORAGE", "local")
    if kind == "local":
        root = env_str("AMPARO_EVIDENCE_DIR", "") or str(Path(settings.DATA_DIR) / "evidence")
        return LocalStorage(Path(root))
    if kind == "memory":
        return _memory
    raise ConfigError(f"AMPARO_EVIDENCE_STORAGE must be local or memory; got {kind!r}.")
