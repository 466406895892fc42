"""`amparo evidence scan PATH... [--json] [--workers N] [--resume FILE] [--exact-pdq]`: triage of
seized media.

Hashes every file under the paths (recursively, symbolic links not followed) without storing anything,
and says for each which hash lists know it: size, SHA-256 and MD5 always, the media type sniffed from
the file's first bytes, PDQ and its quality for images (the fast, reduced decode; `--exact-pdq` for the
full-resolution reference decode a court report may need), vPDQ for videos, and the matches (list,
hash type, distance, category; for videos the shares of matching frames). Files' contents are never
printed.

Hashing runs in a pool of child processes (default: one per core), each under an address-space limit
(AMPARO_HASH_MEMORY_MB), so a hostile file fails alone and the scan goes on. Matches are looked up in
batches. With --json: one JSON object per file on stdout, then one `{"summary": ...}` object, and no
progress bar; otherwise a line per file, a progress bar (files/s, ETA) on a terminal and a summary.
Ctrl+C stops the scan, prints what it has, and `--resume FILE` (the --json output of the interrupted
scan) skips the files already scanned.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from amparo.core.management.commands.audit_verify import progress_bar
from amparo.evidence import hashing, matching
from amparo.lib.env import env_int

MATCH_BATCH = 256  # files looked up together
MATCH_EVERY_S = 1.0  # ...or whatever is waiting after this long


def walk(paths: list[str]) -> Iterator[Path]:
    for name in paths:
        root = Path(name)
        if root.is_file():
            yield root
            continue
        for folder, dirs, files in os.walk(root, followlinks=False):
            dirs.sort()
            for file in sorted(files):
                path = Path(folder) / file
                if path.is_file() and not path.is_symlink():
                    yield path


def already_scanned(resume: str) -> set[str]:
    """The paths an earlier --json output lists (its summary line and a torn last line are ignored)."""
    done: set[str] = set()
    try:
        with open(resume, encoding="utf-8") as handle:
            for line in handle:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict) and isinstance(record.get("path"), str):
                    done.add(record["path"])
    except OSError as exc:
        raise CommandError(
            f"Cannot read {resume} ({exc.strerror}). Pass the file the interrupted scan's --json output "
            "went to."
        ) from None
    return done


class Scan:
    """One scan: files in flight in the pool, results waiting for a batched look-up, the tallies."""

    def __init__(self, command: BaseCommand, *, workers: int, exact_pdq: bool, as_json: bool, bar: Any):
        self.command = command
        self.exact_pdq = exact_pdq
        self.as_json = as_json
        self.bar = bar
        self.workers = workers
        self.seconds_per_hash = float(env_int("AMPARO_VPDQ_SECONDS_PER_HASH", 1, minimum=1))
        self.hasher = hashing.BoundedHasher(
            workers=workers,
            memory_mb=env_int("AMPARO_HASH_MEMORY_MB", hashing.DEFAULT_MEMORY_MB, minimum=256),
            timeout=env_int("AMPARO_HASH_TIMEOUT_SECONDS", int(hashing.DEFAULT_TIMEOUT_S), minimum=10),
        )
        self.waiting: list[tuple[str, hashing.FileHashes]] = []
        self.first_waiting = 0.0
        self.files = 0
        self.hashed = 0
        self.known = 0
        self.matched: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()

    # -- hashing

    def run(self, files: list[str]) -> None:
        in_flight: dict[cf.Future, str] = {}
        queue = iter(files)
        window = 4 * self.workers
        exhausted = False
        while True:
            while not exhausted and len(in_flight) < window:
                path = next(queue, None)
                if path is None:
                    exhausted = True
                    break
                in_flight[self._submit(path)] = path
            if not in_flight:
                break
            done, _ = cf.wait(in_flight, timeout=self.hasher.timeout, return_when=cf.FIRST_COMPLETED)
            if not done:  # nothing finished in time: some child is stuck on a hostile file
                self._retry_alone(list(in_flight.values()))
                in_flight.clear()
                continue
            broken = []
            for future in done:
                path = in_flight.pop(future)
                try:
                    self._add(path, future.result())
                except cf.process.BrokenProcessPool:
                    broken.append(path)
            if broken:  # a child died: every file in flight failed with it; find the culprit alone
                self._retry_alone(broken + list(in_flight.values()))
                in_flight.clear()
            self._flush_if_due()
        self._flush()

    def _submit(self, path: str) -> cf.Future:
        return self.hasher.submit(
            hashing.hash_file, path, exact_pdq=self.exact_pdq, seconds_per_hash=self.seconds_per_hash
        )

    def _retry_alone(self, paths: list[str]) -> None:
        self.hasher.reset()
        for path in paths:
            try:
                found = self.hasher.run(
                    hashing.hash_file, path, exact_pdq=self.exact_pdq, seconds_per_hash=self.seconds_per_hash
                )
            except hashing.HashingFailed as exc:
                found = hashing.FileHashes(not_hashed=exc.reason)
            self._add(path, found)

    def _add(self, path: str, found: hashing.FileHashes) -> None:
        if not self.waiting:
            self.first_waiting = time.monotonic()
        self.waiting.append((path, found))

    # -- matching and output

    def _flush_if_due(self) -> None:
        if len(self.waiting) >= MATCH_BATCH or (
            self.waiting and time.monotonic() - self.first_waiting >= MATCH_EVERY_S
        ):
            self._flush()

    def _flush(self) -> None:
        if not self.waiting:
            return
        batch, self.waiting = self.waiting, []
        queries = [
            matching.Query(
                found.sha256 or "",
                found.sha1 or "",
                found.md5 or "",
                found.dihedral,
                found.quality,
                found.vpdq,
            )
            for _, found in batch
        ]
        for (path, found), candidates in zip(batch, matching.candidates_for_many(queries), strict=True):
            self._emit(path, found, [c.as_json() for c in candidates])

    def _emit(self, path: str, found: hashing.FileHashes, matches: list[dict[str, Any]]) -> None:
        record = {"path": path} | found.as_json() | {"matches": matches}
        if found.quality is not None and found.quality < 50:
            record["low_quality"] = True
        self.files += 1
        self.hashed += found.sha256 is not None
        if found.error:
            self.skipped["unreadable"] += 1
        elif found.not_hashed and found.not_hashed != hashing.NOT_HASHED_UNSUPPORTED:
            self.skipped[found.not_hashed] += 1
        elif found.not_hashed:
            self.skipped["perceptual hash: " + found.not_hashed] += 1
        if matches:
            self.known += 1
            for m in {(m["list"], m["category"]) for m in matches}:
                self.matched[f"{m[0]} / {m[1] or '-'}"] += 1
        out = self.command.stdout
        if self.as_json:
            out.write(json.dumps(record, ensure_ascii=False))
        else:
            labels = ", ".join(
                f"{m['list']} {m['hash_type']} d={m['distance']} {m['category']}".strip() for m in matches
            )
            note = f"  not hashed: {found.not_hashed}" if found.not_hashed else ""
            note += f"  {found.error}" if found.error else ""
            out.write(f"{'KNOWN ' if labels else '      '}{path}  {found.sha256 or '-'}  {labels}{note}")
        self.bar.update(1)

    def summary(self, elapsed: float, *, resumed: int, interrupted: bool) -> dict[str, Any]:
        return {
            "files": self.files,
            "hashed": self.hashed,
            "known": self.known,
            "matched": dict(sorted(self.matched.items())),
            "skipped": dict(sorted(self.skipped.items())),
            "already_scanned": resumed,
            "elapsed_s": round(elapsed, 1),
            "files_per_s": round(self.files / elapsed, 1) if elapsed > 0 else None,
            "interrupted": interrupted,
        }


class Command(BaseCommand):
    help = "Triage: hash files against the hash lists without storing them (amparo evidence scan PATH...)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        scan = sub.add_parser("scan", help="Hash every file under PATH... and show which are known.")
        scan.add_argument("paths", nargs="+", metavar="PATH")
        scan.add_argument(
            "--json", action="store_true", dest="as_json", help="One JSON object per file, then a summary."
        )
        scan.add_argument(
            "--workers", type=int, default=os.cpu_count() or 1, help="Hashing processes (default: cores)."
        )
        scan.add_argument(
            "--resume",
            metavar="FILE",
            help="Skip the files listed in FILE (an interrupted scan's --json output).",
        )
        scan.add_argument(
            "--exact-pdq",
            action="store_true",
            help="Decode images at full resolution (reproduces the PDQ reference exactly; about 30x slower).",
        )

    def handle(
        self,
        *args: Any,
        action: str,
        paths: list[str],
        as_json: bool,
        workers: int,
        resume: str | None,
        exact_pdq: bool,
        **options: Any,
    ) -> None:
        missing = [p for p in paths if not os.path.exists(p)]
        if missing:
            raise CommandError(
                f"Not found: {', '.join(missing)}. Check the paths (a mounted copy of the drive)."
            )
        if workers < 1:
            raise CommandError("--workers must be at least 1.")
        done = already_scanned(resume) if resume else set()
        matching.current_index()  # build the PDQ index once, before the first file
        files = [str(p) for p in walk(paths)]
        todo = [p for p in files if p not in done]
        start = time.monotonic()
        interrupted = False
        with progress_bar(self, total=len(todo), desc="scan", quiet=as_json, unit="file") as bar:
            scan = Scan(self, workers=workers, exact_pdq=exact_pdq, as_json=as_json, bar=bar)
            try:
                scan.run(todo)
            except KeyboardInterrupt:
                interrupted = True
                scan.hasher.reset()
                scan._flush()
            finally:
                scan.hasher.close()
        summary = scan.summary(
            time.monotonic() - start, resumed=len(files) - len(todo), interrupted=interrupted
        )
        if as_json:
            self.stdout.write(json.dumps({"summary": summary}, ensure_ascii=False))
        else:
            self._print_summary(summary)
        if interrupted:
            self.stderr.write(
                "Interrupted: the files above are scanned. To go on, run the scan again with --json "
                "redirected to a new file and --resume <the earlier --json output>."
            )

    def _print_summary(self, summary: dict[str, Any]) -> None:
        self.stdout.write(
            f"{summary['files']} files scanned, {summary['known']} known "
            f"({summary['hashed']} hashed, {summary['elapsed_s']} s, {summary['files_per_s']} files/s)."
        )
        for label, count in summary["matched"].items():
            self.stdout.write(f"  matched {label}: {count}")
        for reason, count in summary["skipped"].items():
            self.stdout.write(f"  not hashed ({reason}): {count}")
        if summary["already_scanned"]:
            self.stdout.write(f"  already scanned before (--resume): {summary['already_scanned']}")
