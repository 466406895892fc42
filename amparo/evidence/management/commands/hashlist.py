"""`amparo hashlist import|export`: hash lists ("banks") of known material.

    amparo hashlist import --name NAME --source SOURCE [--format csv|pdq|vics] [--delete] FILE
    amparo hashlist import --name NAME --source SOURCE --format vpdq [--category C] FILE|FOLDER
    amparo hashlist export --case REF --format vics|csv [--region Default] -o FILE

Import streams the file (a 10-million-line list is never held whole), writes entries in batches and
then matches only the new entries against the vault. `--delete` tombstones the listed hashes instead.
It prints records read, hashes read and added per type, records skipped per reason, hashes of types not
kept (PhotoDNA) and the peak memory; a file that yields no hash is an error and makes no list.
`--format vpdq` reads listed videos in the vPDQ reference's text format (one file per video, a line
per sampled frame: `frame_number,quality,pdq_hex,timestamp`); a folder is read file by file (*.txt),
each file's name (without .txt) kept as the entry's id at the source.
Export writes a case's hashes (never its files) for international cooperation: VICS 2.0, one Media
record per distinct MD5; it is audited and adds an "exported" custody event to every item.
"""

from __future__ import annotations

import itertools
import json
import os
import resource
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from amparo.cases.models import Case
from amparo.core import audit
from amparo.core.management.commands.audit_verify import progress_bar
from amparo.core.models import User
from amparo.evidence import actions, formats
from amparo.evidence.models import EvidenceItem, HashSource

BATCH = 5000
VPDQ_FORMAT = "vpdq"

SHAPES = {
    "csv": "A csv list holds lines 'hash_type,hash,category' (md5, sha1, sha256 or pdq).",
    "pdq": "A pdq list holds lines 'pdq <64 hexadecimal digits>'.",
    "vics": f"A VICS file is a JSON object: {formats.VICS_SHAPES}",
}


def peak_memory_mb() -> float:
    """The process's peak resident memory so far, in MB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def _counts(counter: Any) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(counter.items())) or "none"


def _no_hashes_message(file: str, fmt: str, size: int, report: formats.ReadReport) -> str:
    if size == 0:
        return f"{file} is empty: no hashes, so no list was made. Check that the download is complete."
    unit = "records" if fmt == "vics" else "lines"
    skipped = f" ({_counts(report.skipped_by_reason)})" if report.skipped else ""
    return (
        f"No hashes found in {file} read as {fmt}: {report.records} {unit} with hashes, {report.skipped} "
        f"skipped{skipped}. {SHAPES[fmt]} Nothing was imported and no list was made; check --format."
    )


def _actor(username: str | None, channel: str) -> Any:
    if not username:
        return audit.Actor.system(channel)
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise CommandError(f"No active user is called {username!r}. Check the name, or leave out --user.")
    return user


def case_entries(items: list[EvidenceItem]) -> Iterator[formats.HashEntry]:
    """Each item's hashes as consecutive entries sharing the item's id (one VICS Media record per item)."""
    for item in items:
        category = (item.categories or [None])[0]
        for kind in ("md5", "sha1", "sha256", "pdq"):
            value = getattr(item, kind)
            if value:
                yield formats.HashEntry(kind, value, category, str(item.pk))


def case_media(items: list[EvidenceItem]) -> Iterator[formats.VicsMedia]:
    """One VICS Media record per distinct file (items with the same MD5 merged; an item without an MD5
    is a record of its own), numbered 1, 2, ... in the order received. Every hash of every merged item
    is kept: a second SHA-1, SHA-256 or PDQ goes to AlternativeHashes."""
    groups: dict[str, list[EvidenceItem]] = {}
    for item in items:
        groups.setdefault(item.md5 or f"item:{item.pk}", []).append(item)
    for number, group in enumerate(groups.values(), start=1):
        first = group[0]
        alternatives: list[tuple[str, str]] = []
        for item in group:
            for kind, value in (("sha1", item.sha1), ("sha256", item.sha256), ("pdq", item.pdq)):
                if (
                    value
                    and (kind, value) not in alternatives
                    and not (kind == "sha1" and value == first.sha1)
                ):
                    alternatives.append((kind, value))
        yield formats.VicsMedia(
            media_id=number,
            md5=first.md5 or None,
            sha1=first.sha1 or None,
            size=first.size,
            category=formats.vics_category(label for item in group for label in item.classification_labels),
            alternatives=tuple(alternatives),
        )


class Command(BaseCommand):
    help = "Import a hash list of known material, or export a case's hashes (never its files)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="Import (or with --delete, tombstone) the hashes in FILE.")
        imp.add_argument("--name", required=True, help="The list's name, e.g. 'ICSE 2026-11'.")
        imp.add_argument("--source", required=True, choices=HashSource.values)
        imp.add_argument(
            "--format",
            choices=(*formats.FORMATS, VPDQ_FORMAT),
            help="Default: guessed from the first bytes (vpdq: listed videos, never guessed).",
        )
        imp.add_argument("--category", default="", help="With --format vpdq: the category of every video.")
        imp.add_argument("--permission-note", default="", help="Under what permission the list may be used.")
        imp.add_argument(
            "--pdq-threshold",
            type=int,
            help="PDQ distance that still counts as a match (default 31, at most 52).",
        )
        imp.add_argument(
            "--delete", action="store_true", help="Tombstone the listed hashes instead of adding them."
        )
        imp.add_argument("--user", help="Act as this user (their rights apply); default: the system.")
        imp.add_argument(
            "--json", action="store_true", dest="as_json", help="Print one JSON object; no progress bar."
        )
        imp.add_argument("file")
        exp = sub.add_parser("export", help="Write a case's hashes to a file.")
        exp.add_argument("--case", required=True, dest="reference")
        exp.add_argument("--format", required=True, choices=("vics", "csv"))
        exp.add_argument("-o", "--output", required=True)
        exp.add_argument(
            "--region",
            default="Default",
            help="VICS region in the file's @odata.context (Default, US, UK, ...); default: Default.",
        )
        exp.add_argument("--user", help="Act as this user (their rights apply); default: the system.")
        exp.add_argument("--json", action="store_true", dest="as_json", help="Print one JSON object.")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        try:
            if action == "import":
                self._import(**options)
            else:
                self._export(**options)
        except PermissionDenied:
            raise CommandError(
                "That user may not do this: hash lists are kept by investigators with a national scope."
            ) from None
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None

    def _import(
        self, *, name: str, source: str, format: str | None, file: str, as_json: bool, **options: Any
    ) -> None:
        if format == VPDQ_FORMAT:
            self._import_vpdq(name=name, source=source, file=file, as_json=as_json, **options)
            return
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{file} is not a readable file. Check the path.")
        fmt = format
        if os.path.getsize(path) == 0:
            raise CommandError(_no_hashes_message(file, fmt or "csv", 0, formats.ReadReport()))
        if fmt is None:
            with open(path, "rb") as head:
                fmt = formats.guess_format(head.read(4096))
            if fmt is None:
                raise CommandError("Cannot tell the list's format: pass --format csv, pdq or vics.")
        actor = _actor(options.get("user"), "cli:hashlist")
        deleting = bool(options.get("delete"))
        size = os.path.getsize(path)
        report = formats.ReadReport()
        with (
            open(path, "rb") as stream,
            progress_bar(self, total=size, desc=name, quiet=as_json, unit="B") as bar,
        ):
            entries = formats.read_entries(stream, fmt, strict=False, report=report)
            try:
                # The first hash is read before the list is made: a file with none leaves nothing behind.
                first = next(entries, None)
            except formats.FormatError as exc:
                raise CommandError(f"{exc} Nothing was imported. {SHAPES[fmt]}") from None
            if first is None:
                raise CommandError(_no_hashes_message(file, fmt, size, report))
            hash_list = actions.get_or_create_hash_list(
                actor,
                name,
                source,
                permission_note=options.get("permission_note") or "",
                pdq_threshold=options.get("pdq_threshold"),
            )
            last = [0]

            def rows() -> Iterator[actions.ListRow]:
                for entry in itertools.chain([first], entries):
                    yield actions.ListRow(
                        entry.hash_type, entry.hash, entry.category or "", entry.entry_id or "", deleting
                    )

            def advance(_n: int) -> None:
                position = stream.tell()
                bar.update(position - last[0])
                last[0] = position

            try:
                result = actions.import_rows(actor, hash_list, rows(), batch_size=BATCH, progress=advance)
            except formats.FormatError as exc:
                raise CommandError(
                    f"{exc} Fix the file and import it again; entries already read are kept."
                ) from None
        summary = {
            "list": hash_list.name,
            "format": fmt,
            "records_read": report.records,
            "hashes_read": report.read,
            "hashes_read_by_type": dict(sorted(report.by_type.items())),
            "added": result.added,
            "added_by_type": result.added_by_type,
            "tombstoned": result.tombstoned,
            "skipped_lines": report.skipped,
            "skipped_by_reason": dict(sorted(report.skipped_by_reason.items())),
            "hashes_not_kept": dict(sorted(report.not_kept.items())),
            "new_matches": result.matches,
            "peak_memory_mb": peak_memory_mb(),
            "problems": report.problems[:10],
        }
        if as_json:
            self.stdout.write(json.dumps(summary))
            return
        unit = "records" if fmt == "vics" else "lines"
        self.stdout.write(
            f"{hash_list.name}: {report.records} {unit} read, {report.read} hashes "
            f"({_counts(report.by_type)}); {result.added} added ({_counts(result.added_by_type)}), "
            f"{result.tombstoned} tombstoned; {result.matches} new matches in the vault."
        )
        self.stdout.write(
            f"Skipped {report.skipped} {unit}"
            + (f" ({_counts(report.skipped_by_reason)})." if report.skipped else ".")
        )
        if report.not_kept:
            self.stdout.write(f"Hashes of types Amparo does not match, not kept: {_counts(report.not_kept)}.")
        self.stdout.write(f"Peak memory: {summary['peak_memory_mb']} MB.")
        for problem in report.problems[:10]:
            self.stderr.write(problem)

    def _import_vpdq(self, *, name: str, source: str, file: str, as_json: bool, **options: Any) -> None:
        from amparo.evidence import vpdq

        root = Path(file)
        files = sorted(root.glob("*.txt")) if root.is_dir() else [root]
        if not root.exists() or not files:
            raise CommandError(f"{file} is not a vPDQ file nor a folder of them (*.txt). Check the path.")
        videos = []
        for path in files:
            try:
                frames = vpdq.parse_lines(path.read_text(encoding="utf-8-sig"))
            except (ValueError, UnicodeDecodeError) as exc:
                raise CommandError(
                    f"{path.name}: {exc} Fix the file and import again; nothing was imported."
                ) from None
            if not frames:
                raise CommandError(f"{path.name} lists no frame. Fix the file; nothing was imported.")
            videos.append((path.stem, options.get("category") or "", frames))
        actor = _actor(options.get("user"), "cli:hashlist")
        hash_list = actions.get_or_create_hash_list(
            actor, name, source, permission_note=options.get("permission_note") or ""
        )
        result = actions.import_vpdq(actor, hash_list, videos)
        summary = {
            "list": hash_list.name,
            "added": result.added,
            "already_listed": result.skipped,
            "new_matches": result.matches,
        }
        if as_json:
            self.stdout.write(json.dumps(summary))
        else:
            self.stdout.write(
                f"{hash_list.name}: {result.added} videos added, {result.skipped} already listed; "
                f"{result.matches} new matches in the vault."
            )

    def _export(
        self, *, reference: str, format: str, output: str, as_json: bool, region: str, **options: Any
    ) -> None:
        try:
            formats.vics_context(region)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        case = Case.objects.filter(reference=reference.strip().upper()).first()
        if case is None:
            raise CommandError(f"No case has the reference {reference!r}. Check it (e.g. AMP-7K3Q-X9D2).")
        actor = _actor(options.get("user"), "cli:hashlist")
        items = list(actions.export_case_hashes(actor, case))
        target = Path(output)
        tmp = target.with_name(f".{target.name}.partial")
        with open(tmp, "w", encoding="utf-8", newline="") as out:
            if format == "vics":
                records = list(case_media(items))
                formats.write_vics_media(records, out, case_name=case.reference, region=region)
                count = sum(record.hash_count for record in records)
            else:
                count = formats.write_csv(case_entries(items), out)
        os.replace(tmp, target)
        summary: dict[str, Any] = {"case": case.reference, "items": len(items), "hashes": count}
        if format == "vics":
            summary["media_records"] = len(records)
        summary["file"] = str(target)
        if as_json:
            self.stdout.write(json.dumps(summary))
        else:
            records_note = f" in {len(records)} Media records" if format == "vics" else ""
            self.stdout.write(
                f"{case.reference}: {count} hashes of {len(items)} items{records_note} written to {target}."
            )
        if sys.stdout.isatty():
            self.stderr.write("The file holds hashes only, never evidence.")
