"""Backups that restore: `amparo backup create|verify|restore|prune` (decision 0019).

One backup is one directory, ``amparo-backup-<UTC time>``, inside the directory the operator names:

* ``database.enc``: the database (PostgreSQL through ``pg_dump --format=custom``, SQLite through its
  online backup API), sealed as it is written (`amparo.lib.sealed_stream`), so no plaintext dump ever
  touches the disk on PostgreSQL;
* one ``<name>.enc`` per registered file source (the evidence store's local files: `register_files`),
  a tar stream sealed the same way, and ``<name>-manifest.enc``, the source's own list of what it holds
  (for an S3 store, which keeps its objects itself, the list is all there is);
* ``manifest.json``: the Amparo version, the migrations applied, the audit heads, and for every file its
  size and SHA-256 (sealed bytes and plaintext), authenticated by an HMAC under a key derived from the
  backup key.

Everything is sealed under ``AMPARO_BACKUP_KEY``, which must differ from the master key; the master key is
never written into a backup (restoring needs it from its escrow). A backup is written under a ``.partial``
name and renamed only when every file is written and synced: a directory without ``.partial`` is
complete.

Restoring refuses a non-empty installation unless told (`force`), then runs the registered checks: the
audit chains verify and end at the heads the manifest recorded, every encrypted field decrypts, and every
registered store re-verifies its files (the evidence vault: each file's SHA-256).

Other apps plug in through `register_files` and `register_check` (core imports no app above it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO

from django.apps import apps
from django.conf import settings
from django.db import connection, connections, transaction
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from amparo.core import audit, crypto
from amparo.core.fields import encrypted_fields
from amparo.core.health import version
from amparo.core.models import AuditEntry, AuditHead, User
from amparo.lib import sealed_stream
from amparo.lib.env import ConfigError, decode_key, env_secret

FORMAT = "amparo-backup/1"
PREFIX = "amparo-backup-"
PARTIAL = ".partial"
STAMP = "%Y%m%dT%H%M%SZ"
MANIFEST = "manifest.json"
DATABASE_FILE = "database.enc"
COPY_BYTES = 1 << 20
_FILE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*\.enc$")

Progress = Callable[[int], None]


class BackupAudit(StrEnum):
    CREATE = "core:backup:create"
    RESTORE = "core:backup:restore"


class BackupError(Exception):
    """A backup could not be written, read or restored; the message says what to do next."""


# ---------------------------------------------------------------------------
# What other apps contribute


@dataclass(frozen=True)
class FileSource:
    """Files kept outside the database (the evidence store), copied into a backup and written back.

    `manifest()` describes what the source holds (kept in every backup, even when `files()` yields
    nothing because the store is backed up by its own means, as an S3 bucket with versioning is);
    `files()` yields (key, size) of the files to copy, `open(key)` reads one, `write(key, stream)` writes
    one back on restore, and `is_empty()` says whether restoring would overwrite anything."""

    name: str
    manifest: Callable[[], dict[str, Any]]
    files: Callable[[], Iterator[tuple[str, int]]]
    open: Callable[[str], BinaryIO]
    write: Callable[[str, BinaryIO], None]
    is_empty: Callable[[], bool]


@dataclass(frozen=True)
class RestoreCheck:
    """A check run after a restore: `total()` items, `run(progress)` returns the problems found."""

    name: str
    total: Callable[[], int]
    run: Callable[[Progress], list[str]]


_FILE_SOURCES: dict[str, FileSource] = {}
_CHECKS: dict[str, RestoreCheck] = {}


def register_files(source: FileSource) -> None:
    _FILE_SOURCES[source.name] = source


def register_check(check: RestoreCheck) -> None:
    _CHECKS[check.name] = check


# ---------------------------------------------------------------------------
# Keys


def backup_key() -> bytes:
    raw = env_secret("AMPARO_BACKUP_KEY")
    if not raw:
        raise BackupError(
            "AMPARO_BACKUP_KEY (or AMPARO_BACKUP_KEY_FILE) is not set: backups are encrypted with it. "
            'Generate one with `python -c "import base64, os; print(base64.b64encode(os.urandom(32)).decode())"` '
            "and keep it apart from the master key (see docs/operations.md, Backups)."
        )
    try:
        key = decode_key("AMPARO_BACKUP_KEY", raw)
    except ConfigError as exc:
        raise BackupError(str(exc)) from None
    if hmac.compare_digest(key, settings.AMPARO_MASTER_KEY):
        raise BackupError(
            "AMPARO_BACKUP_KEY is the master key: a backup must not open with the key that protects the "
            "live data. Generate a separate backup key."
        )
    return key


def _manifest_mac(key: bytes, body: dict[str, Any]) -> str:
    mac_key = hashlib.sha256(b"amparo backup manifest\x00" + key).digest()
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return hmac.new(mac_key, canonical, hashlib.sha256).hexdigest()


# ---------------------------------------------------------------------------
# Writing sealed files


class _HashingFile:
    """A file being written that hashes what passes through it (the sealed bytes)."""

    def __init__(self, path: Path) -> None:
        self.handle = open(path, "xb")  # noqa: SIM115 - closed by close()
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self.handle.write(data)

    def close(self) -> None:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()


@dataclass
class _Written:
    name: str
    size: int = 0
    sha256: str = ""
    plain_size: int = 0
    plain_sha256: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "sha256": self.sha256,
            "plain_size": self.plain_size,
            "plain_sha256": self.plain_sha256,
        }


class _Sealed:
    """`with _Sealed(dir, name, key) as out: out.write(...)`: one sealed file in the backup."""

    def __init__(self, directory: Path, name: str, key: bytes) -> None:
        self.target = _HashingFile(directory / name)
        self.writer = sealed_stream.SealingWriter(self.target, key, name)  # type: ignore[arg-type]
        self.result = _Written(name)

    def __enter__(self) -> sealed_stream.SealingWriter:
        return self.writer

    def __exit__(self, *exc: object) -> None:
        self.writer.close()
        self.target.close()
        self.result.size, self.result.sha256 = self.target.size, self.target.digest.hexdigest()
        self.result.plain_size, self.result.plain_sha256 = self.writer.plain_size, self.writer.plain_sha256


def _copy(source: BinaryIO, target: Any, progress: Progress | None = None) -> None:
    while data := source.read(COPY_BYTES):
        target.write(data)
        if progress:
            progress(len(data))


# ---------------------------------------------------------------------------
# The database


def _pg_environment(alias: str = "default") -> dict[str, str]:
    db = connections[alias].settings_dict
    env = dict(os.environ)
    for name, value in (
        ("PGHOST", db.get("HOST")),
        ("PGPORT", db.get("PORT")),
        ("PGUSER", db.get("USER")),
        ("PGPASSWORD", db.get("PASSWORD")),
        ("PGDATABASE", db.get("NAME")),
        ("PGSSLMODE", (db.get("OPTIONS") or {}).get("sslmode")),
    ):
        if value:
            env[name] = str(value)
    return env


def _need(program: str) -> str:
    path = shutil.which(program)
    if not path:
        raise BackupError(
            f"{program} is not installed: backups of a PostgreSQL database need Debian's postgresql-client "
            "(`apt-get install postgresql-client`), of the same major version as the server or newer."
        )
    return path


def _tail(errors: BinaryIO) -> str:
    """The end of a client program's error output (its messages name tables, never values)."""
    errors.seek(0)
    return errors.read().decode(errors="replace").strip()[-500:]


def _dump_database(out: Any, work: Path) -> None:
    if connection.vendor == "postgresql":
        with (
            tempfile.TemporaryFile() as errors,
            subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
                [_need("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", "--compress=6"],
                stdout=subprocess.PIPE,
                stderr=errors,
                env=_pg_environment(),
            ) as process,
        ):
            assert process.stdout is not None
            _copy(process.stdout, out)
            if process.wait() != 0:
                raise BackupError(f"pg_dump failed: {_tail(errors)}")
        return
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        snapshot = work / "database.sqlite3"
        target = sqlite3.connect(snapshot)
        try:
            connection.connection.backup(target)  # the online backup API: a consistent copy
        finally:
            target.close()
        try:
            with open(snapshot, "rb") as source:
                _copy(source, out)
        finally:
            snapshot.unlink()
        return
    raise BackupError(f"Backups support PostgreSQL and SQLite, not {connection.vendor}.")


def migration_state() -> dict[str, list[str]]:
    applied: dict[str, list[str]] = {}
    for app_label, name in sorted(MigrationRecorder(connection).applied_migrations()):
        applied.setdefault(app_label, []).append(name)
    return applied


def audit_heads() -> dict[str, dict[str, Any]]:
    return {
        head.chain: {"last_id": head.last_id, "last_hash": head.last_hash, "count": head.count}
        for head in AuditHead.objects.order_by("chain")
    }


# ---------------------------------------------------------------------------
# create


@dataclass
class Created:
    path: Path
    manifest: dict[str, Any]


def create(root: Path, actor: Any = None, *, progress: Progress | None = None) -> Created:
    """Write one backup into a new directory inside `root`; return it with its manifest."""
    key = backup_key()
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    started = timezone.now()
    name = PREFIX + started.astimezone(dt.UTC).strftime(STAMP)
    final = root / name
    partial = root / (name + PARTIAL)
    if final.exists() or partial.exists():
        raise BackupError(f"{final} already exists; wait a second and run the command again.")
    partial.mkdir(mode=0o700)
    try:
        files: dict[str, dict[str, Any]] = {}
        writer = _Sealed(partial, DATABASE_FILE, key)
        with writer as out:
            _dump_database(out, partial)
        files[DATABASE_FILE] = writer.result.as_dict()
        sources: dict[str, dict[str, Any]] = {}
        for source in _FILE_SOURCES.values():
            listing = source.manifest()
            listing_name = f"{source.name}-manifest.enc"
            writer = _Sealed(partial, listing_name, key)
            with writer as out:
                out.write(json.dumps(listing, sort_keys=True).encode())
            files[listing_name] = writer.result.as_dict()
            archive_name = f"{source.name}.enc"
            writer = _Sealed(partial, archive_name, key)
            copied = 0
            with writer as out, tarfile.open(fileobj=out, mode="w|") as archive:  # type: ignore[call-overload]
                for file_key, size in source.files():
                    info = tarfile.TarInfo(file_key)
                    info.size, info.mode, info.mtime = size, 0o600, 0
                    with source.open(file_key) as stream:
                        archive.addfile(info, stream)
                    copied += 1
                    if progress:
                        progress(1)
            files[archive_name] = writer.result.as_dict()
            sources[source.name] = {"files": copied, "store": listing.get("store", "")}
        body = {
            "format": FORMAT,
            "created_at": started.astimezone(dt.UTC).isoformat(timespec="seconds"),
            "amparo_version": version(),
            "origin": settings.ORIGIN,
            # Which master key the data needs (a fingerprint, not the key): restore checks it is configured.
            "master_key_id": crypto.current_master_id(),
            "database": {"vendor": connection.vendor},
            "migrations": migration_state(),
            "audit_heads": audit_heads(),
            "sources": sources,
            "files": files,
        }
        manifest = {**body, "mac": _manifest_mac(key, body)}
        _write_json(partial / MANIFEST, manifest)
        os.replace(partial, final)
        _fsync_dir(root)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    with transaction.atomic():
        audit.record(actor or audit.Actor.system("backup"), BackupAudit.CREATE, ("core.backup", name))
    return Created(final, manifest)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    with open(path, "x", encoding="utf-8") as handle:
        json.dump(data, handle, sort_keys=True, indent=1)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------
# verify


@dataclass
class Verified:
    path: Path
    manifest: dict[str, Any]
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def read_manifest(path: Path, key: bytes) -> dict[str, Any]:
    path = Path(path)
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        found = (
            sorted(p.name for p in path.glob(PREFIX + "*") if (p / MANIFEST).is_file())
            if path.is_dir()
            else []
        )
        hint = f" It holds backups; name one, the newest is {path / found[-1]}." if found else ""
        raise BackupError(f"{path} is not a backup (it has no {MANIFEST}).{hint}")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(f"{manifest_path} cannot be read ({type(exc).__name__}).") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{manifest_path} is not an {FORMAT} manifest.")
    body = {k: v for k, v in manifest.items() if k != "mac"}
    if not all(_FILE_NAME.match(str(name)) for name in manifest.get("files", {})):
        raise BackupError(f"{manifest_path} names a file outside the backup.")
    if not hmac.compare_digest(str(manifest.get("mac", "")), _manifest_mac(key, body)):
        raise BackupError(
            f"{manifest_path} does not authenticate under this AMPARO_BACKUP_KEY: either the key is not the "
            "one that made the backup, or the manifest was altered."
        )
    return manifest


def verify(path: Path, *, progress: Progress | None = None) -> Verified:
    """Check every file's size and SHA-256, then decrypt it fully and check its plaintext's."""
    key = backup_key()
    path = Path(path)
    manifest = read_manifest(path, key)
    result = Verified(path, manifest)
    for name, expected in sorted(manifest["files"].items()):
        file_path = path / name
        if not file_path.is_file():
            result.problems.append(f"{name} is missing.")
            continue
        digest = hashlib.sha256()
        with open(file_path, "rb") as handle:
            while data := handle.read(COPY_BYTES):
                digest.update(data)
        if file_path.stat().st_size != expected["size"] or digest.hexdigest() != expected["sha256"]:
            result.problems.append(f"{name} does not match its checksum in the manifest.")
            continue
        plain = hashlib.sha256()
        size = 0
        try:
            with open(file_path, "rb") as handle:
                for chunk in sealed_stream.open_chunks(handle, key, name):
                    plain.update(chunk)
                    size += len(chunk)
                    if progress:
                        progress(len(chunk))
        except sealed_stream.SealedStreamError as exc:
            result.problems.append(str(exc))
            continue
        if size != expected["plain_size"] or plain.hexdigest() != expected["plain_sha256"]:
            result.problems.append(f"{name} decrypts, but not to the content the manifest recorded.")
    return result


def total_plain_bytes(manifest: dict[str, Any]) -> int:
    return sum(int(f["plain_size"]) for f in manifest["files"].values())


# ---------------------------------------------------------------------------
# restore


def database_is_empty() -> bool:
    """No tables at all, or Amparo's tables with no user and no audit entry (a fresh `migrate`)."""
    tables = set(connection.introspection.table_names())
    if not tables:
        return True
    if not {AuditEntry._meta.db_table, User._meta.db_table} <= tables:
        return False
    return not AuditEntry.objects.exists() and not User.objects.exists()


def _unknown_migrations(manifest: dict[str, Any]) -> list[str]:
    known = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    return [
        f"{app}.{name}"
        for app, names in manifest["migrations"].items()
        for name in names
        if (app, name) not in known
    ]


@dataclass
class Restored:
    path: Path
    checks: dict[str, dict[str, Any]]
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def _open_sealed(path: Path, name: str, key: bytes) -> sealed_stream.OpeningReader:
    return sealed_stream.OpeningReader(open(path / name, "rb"), key, name)  # noqa: SIM115


def _restore_database(path: Path, key: bytes, manifest: dict[str, Any], work: Path, *, clean: bool) -> None:
    vendor = manifest["database"]["vendor"]
    if vendor != connection.vendor:
        raise BackupError(
            f"This backup holds a {vendor} database; this installation uses {connection.vendor}. Point "
            "DATABASE_URL at an empty database of the same kind."
        )
    if vendor == "postgresql":
        command = [
            _need("pg_restore"),
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
        ]
        if clean:
            command += ["--clean", "--if-exists"]
        env = _pg_environment()
        command += ["--dbname", env.get("PGDATABASE", "")]
        connections.close_all()
        with (
            tempfile.TemporaryFile() as errors,
            subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
                command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errors, env=env
            ) as process,
        ):
            assert process.stdin is not None
            try:
                with _open_sealed(path, DATABASE_FILE, key) as reader:
                    _copy(reader, process.stdin)
            finally:
                process.stdin.close()
            if process.wait() != 0:
                raise BackupError(f"pg_restore failed (nothing was restored): {_tail(errors)}")
        return
    snapshot = work / "database.sqlite3"
    with _open_sealed(path, DATABASE_FILE, key) as reader, open(snapshot, "xb") as out:
        _copy(reader, out)
    target_name = connection.settings_dict["NAME"]
    connections.close_all()
    source = sqlite3.connect(snapshot)
    target = sqlite3.connect(target_name)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
        snapshot.unlink()


def _restore_files(path: Path, key: bytes, source: FileSource, progress: Progress | None) -> int:
    name = f"{source.name}.enc"
    restored = 0
    with _open_sealed(path, name, key) as reader, tarfile.open(fileobj=reader, mode="r|") as archive:
        for member in archive:
            if not member.isfile():
                raise BackupError(f"{name} holds something that is not a file ({member.name!r}).")
            stream = archive.extractfile(member)
            assert stream is not None
            try:
                source.write(member.name, stream)  # the store checks the key (no path ever leaves its root)
            except Exception as exc:
                raise BackupError(
                    f"{name}: a file could not be written back to the {source.name} store ({type(exc).__name__}: "
                    f"{exc}). Check the store is reachable and writable, then restore again with --force."
                ) from None
            restored += 1
            if progress:
                progress(1)
    return restored


def restore(
    path: Path,
    actor: Any = None,
    *,
    force: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> Restored:
    """Restore the backup at `path` into this installation, then check everything it holds.

    `progress(stage, done, total)` reports each stage ("verify", "database", a source's name, a check's)."""
    key = backup_key()
    path = Path(path)

    def report(stage: str, total: int) -> Progress:
        done = [0]

        def advance(n: int) -> None:
            done[0] += n
            if progress:
                progress(stage, done[0], total)

        return advance

    manifest = read_manifest(path, key)
    verified = verify(path, progress=report("verify", total_plain_bytes(manifest)))
    if not verified.ok:
        raise BackupError("The backup does not verify, nothing was restored: " + " ".join(verified.problems))
    needed = manifest.get("master_key_id")
    if needed and needed not in crypto.master_keys():
        raise BackupError(
            f"This backup's data is protected by the master key {needed}, which is not configured here "
            f"(AMPARO_MASTER_KEY is {crypto.current_master_id()}). Set AMPARO_MASTER_KEY to the escrowed key "
            "of that time (or list it in AMPARO_OLD_MASTER_KEYS); nothing was restored."
        )
    unknown = _unknown_migrations(manifest)
    if unknown:
        raise BackupError(
            f"This backup was made by a newer Amparo ({manifest['amparo_version']}: {', '.join(unknown[:3])} "
            "are unknown here). Install that version (or a later one) first, then restore."
        )
    tables_exist = bool(connection.introspection.table_names())
    if not force:
        if not database_is_empty():
            raise BackupError(
                "The database is not empty: restoring would replace what it holds. Point DATABASE_URL at an "
                "empty database, or pass --force if replacing it is what you want."
            )
        for source in _FILE_SOURCES.values():
            if not source.is_empty():
                raise BackupError(
                    f"The {source.name} store is not empty. Restore into an empty one, or pass --force."
                )
    with tempfile.TemporaryDirectory(prefix="amparo-restore-", dir=settings.DATA_DIR) as work:
        os.chmod(work, 0o700)
        _restore_database(path, key, manifest, Path(work), clean=tables_exist)
    for source in _FILE_SOURCES.values():
        expected = manifest["sources"].get(source.name, {}).get("files", 0)
        _restore_files(path, key, source, report(source.name, expected))

    checks: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    heads = audit_heads()
    for chain, head in manifest["audit_heads"].items():
        if heads.get(chain) != head:
            problems.append(f"The audit chain {chain} does not end where the backup recorded it.")
    for check in _CHECKS.values():
        total = check.total()
        found = check.run(report(check.name, total))
        checks[check.name] = {"ok": not found, "checked": total, "problems": found[:20]}
        problems.extend(found)
    with transaction.atomic():
        audit.record(actor or audit.Actor.system("backup"), BackupAudit.RESTORE, ("core.backup", path.name))
    return Restored(path, checks, problems)


# The checks core itself knows: the audit chains, and every encrypted field of every model.


def _audit_total() -> int:
    return AuditEntry.objects.count()


def _audit_run(progress: Progress) -> list[str]:
    return [str(p) for p in audit.verify(progress=lambda _chain, n: progress(n))]


def _encrypted_models() -> list[tuple[type, list[str]]]:
    found = []
    for model in apps.get_models():
        names = [f.name for f in encrypted_fields(model)]
        if names and model._meta.managed and not model._meta.proxy:
            found.append((model, names))
    return found


def _encrypted_total() -> int:
    return sum(model._default_manager.count() for model, _names in _encrypted_models())


def _encrypted_run(progress: Progress) -> list[str]:
    from amparo.core.crypto import IntegrityAlarm

    problems = []
    for model, names in _encrypted_models():
        rows = model._default_manager.order_by("pk").values_list("pk", flat=True)
        for pk in rows.iterator(chunk_size=500):
            try:
                model._default_manager.filter(pk=pk).values_list(*names).get()
            except IntegrityAlarm as exc:
                problems.append(f"{model._meta.label_lower} {pk}: {exc}")
            progress(1)
    return problems


register_check(RestoreCheck("audit", _audit_total, _audit_run))
register_check(RestoreCheck("encrypted_fields", _encrypted_total, _encrypted_run))


# ---------------------------------------------------------------------------
# prune


@dataclass(frozen=True)
class Backup:
    path: Path
    at: dt.datetime


def list_backups(root: Path) -> list[Backup]:
    """Complete backups in `root`, newest first (a `.partial` directory is not a backup)."""
    found = []
    for child in Path(root).glob(PREFIX + "*"):
        if child.name.endswith(PARTIAL) or not (child / MANIFEST).is_file():
            continue
        try:
            at = dt.datetime.strptime(child.name[len(PREFIX) :], STAMP).replace(tzinfo=dt.UTC)
        except ValueError:
            continue
        found.append(Backup(child, at))
    return sorted(found, key=lambda b: b.at, reverse=True)


def retained(backups: list[Backup], *, daily: int, weekly: int, monthly: int) -> set[Path]:
    """The backups a daily/weekly/monthly policy keeps: the newest of each of the last `daily` days that
    have a backup, of the last `weekly` ISO weeks, of the last `monthly` months (restic's and borg's
    rule). The newest backup is always kept."""
    keep: set[Path] = set()
    for count, period in (
        (daily, lambda at: at.date()),
        (weekly, lambda at: at.isocalendar()[:2]),
        (monthly, lambda at: (at.year, at.month)),
    ):
        seen: list[Any] = []
        for backup in backups:  # newest first
            bucket = period(backup.at)
            if bucket in seen:
                continue
            if len(seen) >= count:
                break
            seen.append(bucket)
            keep.add(backup.path)
    if backups:
        keep.add(backups[0].path)
    return keep


def prune(
    root: Path, *, daily: int, weekly: int, monthly: int, dry_run: bool = False
) -> tuple[list[Path], list[Path]]:
    """Delete the backups the policy does not keep; return (kept, deleted), newest first."""
    backups = list_backups(root)
    keep = retained(backups, daily=daily, weekly=weekly, monthly=monthly)
    kept = [b.path for b in backups if b.path in keep]
    deleted = [b.path for b in backups if b.path not in keep]
    if not dry_run:
        for path in deleted:
            shutil.rmtree(path)
    return kept, deleted


def last_backup_age() -> float | None:
    """Seconds since the last successful backup (its audit entry), or None if there never was one."""
    at = (
        AuditEntry.objects.filter(action=BackupAudit.CREATE.value)
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    return None if at is None else max(0.0, (timezone.now() - at).total_seconds())
