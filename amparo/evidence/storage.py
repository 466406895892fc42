"""Where the vault's sealed bytes live, behind one small Protocol.

* ``local`` (default): files under ``AMPARO_EVIDENCE_DIR`` (default ``AMPARO_DATA_DIR/evidence``),
  written to a temporary name and renamed into place, so a crash never leaves half a file under a key.
* ``memory``: a process-local dictionary, for tests and scripts.
* ``s3``: an S3-compatible object store (AWS S3, MinIO, Ceph) through boto3: multipart upload in parts of
  ``PART_BYTES`` (completed only at the end, aborted on any error, so nothing half-written is ever
  visible under a key), streaming reads (``get_object``'s body, never the whole object in memory).

Only ciphertext ever reaches a back-end.

Settings are read from the environment at call time (this app cannot edit settings.py):
``AMPARO_EVIDENCE_STORAGE``, ``AMPARO_EVIDENCE_DIR``, ``AMPARO_EVIDENCE_MAX_BYTES``, and for ``s3``
``AMPARO_S3_BUCKET``, ``AMPARO_S3_PREFIX``, ``AMPARO_S3_ENDPOINT_URL``, ``AMPARO_S3_REGION``,
``AMPARO_S3_ACCESS_KEY_ID`` and ``AMPARO_S3_SECRET_ACCESS_KEY`` (both also as ``…_FILE``).
"""

from __future__ import annotations

import functools
import io
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, Protocol, runtime_checkable

from django.conf import settings

from amparo.lib.env import ConfigError, env_int, env_secret, env_str
from amparo.lib.private_files import open_private, private_dir

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
        private_dir(path.parent)  # 0700 from the vault's root down, whatever the umask
        if path.exists():
            raise StorageError("a stored file already has this key")
        tmp = path.with_name(f".{path.name}.partial")
        handle = open_private(tmp, exclusive=False)  # 0600; closed below, renamed only on success
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


PART_BYTES = 8 * 1024 * 1024  # S3 needs at least 5 MiB per part but the last


class _MultipartWriter(io.RawIOBase):
    """A writable stream that uploads to S3 in parts; `complete()` or `abort()` ends it."""

    def __init__(self, client: Any, bucket: str, key: str) -> None:
        self.client, self.bucket, self.key = client, bucket, key
        self.buffer = bytearray()
        self.upload_id: str | None = None
        self.parts: list[dict[str, Any]] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.buffer += data
        while len(self.buffer) >= PART_BYTES:
            self._upload_part(bytes(self.buffer[:PART_BYTES]))
            del self.buffer[:PART_BYTES]
        return len(data)

    def _upload_part(self, body: bytes) -> None:
        if self.upload_id is None:
            self.upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=self.key)["UploadId"]
        number = len(self.parts) + 1
        answer = self.client.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=body
        )
        self.parts.append({"ETag": answer["ETag"], "PartNumber": number})

    def complete(self) -> None:
        if self.upload_id is None:  # small enough for one request
            self.client.put_object(Bucket=self.bucket, Key=self.key, Body=bytes(self.buffer))
            return
        if self.buffer:
            self._upload_part(bytes(self.buffer))
        self.client.complete_multipart_upload(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, MultipartUpload={"Parts": self.parts}
        )

    def abort(self) -> None:
        if self.upload_id is not None:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id)


class S3Storage:
    def __init__(self, client: Any, bucket: str, prefix: str = "evidence/") -> None:
        self.client, self.bucket, self.prefix = client, bucket, prefix

    @classmethod
    def from_environment(cls) -> S3Storage:
        bucket = env_str("AMPARO_S3_BUCKET", "")
        if not bucket:
            raise ConfigError("AMPARO_EVIDENCE_STORAGE=s3 needs AMPARO_S3_BUCKET (the bucket's name).")
        return _s3_storage(
            bucket,
            env_str("AMPARO_S3_PREFIX", "evidence/"),
            env_str("AMPARO_S3_ENDPOINT_URL", "") or None,
            env_str("AMPARO_S3_REGION", "") or None,
            env_secret("AMPARO_S3_ACCESS_KEY_ID"),
            env_secret("AMPARO_S3_SECRET_ACCESS_KEY"),
        )

    def _key(self, key: str) -> str:
        return self.prefix + _check_key(key)

    def _missing(self, exc: Exception) -> bool:
        code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
        return code in {"404", "NoSuchKey", "NotFound"}

    def _head(self, key: str) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if self._missing(exc):
                return None
            raise StorageError(f"the object store answered {type(exc).__name__}") from None

    @contextmanager
    def open_write(self, key: str) -> Iterator[BinaryIO]:
        full = self._key(key)
        if self._head(key) is not None:
            raise StorageError("a stored file already has this key")
        writer = _MultipartWriter(self.client, self.bucket, full)
        try:
            yield writer  # type: ignore[misc]
            writer.complete()
        except BaseException:
            writer.abort()
            raise

    def open_read(self, key: str) -> BinaryIO:
        from botocore.exceptions import ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        except ClientError as exc:
            if self._missing(exc):
                raise StorageError("the stored file is missing") from None
            raise StorageError(f"the object store answered {type(exc).__name__}") from None

    def exists(self, key: str) -> bool:
        return self._head(key) is not None

    def size(self, key: str) -> int:
        head = self._head(key)
        if head is None:
            raise StorageError("the stored file is missing")
        return int(head["ContentLength"])

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))


@functools.lru_cache(maxsize=2)
def _s3_storage(
    bucket: str, prefix: str, endpoint: str | None, region: str | None, key_id: str | None, secret: str | None
) -> S3Storage:
    """One client per configuration (creating a boto3 client costs tens of milliseconds)."""
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
    )
    return S3Storage(client, bucket, prefix)


def get_storage() -> EvidenceStorage:
    """The configured back-end (AMPARO_EVIDENCE_STORAGE: local, memory or s3)."""
    kind = env_str("AMPARO_EVIDENCE_STORAGE", "local")
    if kind == "local":
        root = env_str("AMPARO_EVIDENCE_DIR", "") or str(Path(settings.DATA_DIR) / "evidence")
        return LocalStorage(Path(root))
    if kind == "memory":
        return _memory
    if kind == "s3":
        return S3Storage.from_environment()
    raise ConfigError(f"AMPARO_EVIDENCE_STORAGE must be local, memory or s3; got {kind!r}.")
