"""`amparo hashlist import|export`: hash lists ("banks") of known material.

    amparo hashlist import --name NAME --source SOURCE [--format csv|pdq|vics] [--delete] FILE
    amparo hashlist export --case REF --format vics|csv -o FILE

Import streams the file (a 10-million-line list is never held whole), writes entries in batches and
then matches only the new entries against the vault. `--delete` tombstones the listed hashes instead.
Export writes a case's hashes (never its files) for international cooperation; it is audited and adds
an "exported" custody event to every item.
"""

from __future__ import annotations

import json
import os
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


class Command(BaseCommand):
    help = "Import a hash list of known material, or export a case's hashes (never its files)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="Import (or with --delete, tombstone) the hashes in FILE.")
        imp.add_argument("--name", required=True, help="The list's name, e.g. 'ICSE 2026-11'.")
        imp.add_argument("--source", required=True, choices=HashSource.values)
        imp.add_argument("--format", choices=formats.FORMATS, help="Default: guessed from the first bytes.")
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
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{file} is not a readable file. Check the path.")
        fmt = format
        if fmt is None:
            with open(path, "rb") as head:
                fmt = formats.guess_format(head.read(4096))
            if fmt is None:
                raise CommandError("Cannot tell the list's format: pass --format csv, pdq or vics.")
        actor = _actor(options.get("user"), "cli:hashlist")
        hash_list = actions.get_or_create_hash_list(
            actor,
            name,
            source,
            permission_note=options.get("permission_note") or "",
            pdq_threshold=options.get("pdq_threshold"),
        )
        deleting = bool(options.get("delete"))
        size = os.path.getsize(path)
        report = formats.ReadReport()
        # Opened as text here, so that the reader does not wrap (and later close) the file itself.
        text = open(path, encoding="utf-8-sig", errors="strict", newline="")  # noqa: SIM115 - closed below
        stream = text.buffer
        with text, progress_bar(self, total=size, desc=name, quiet=as_json, unit="B") as bar:
            last = [0]

            def rows() -> Iterator[actions.ListRow]:
                for entry in formats.read_entries(text, fmt, strict=False, report=report):
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
                    f"{exc}. Fix the file and import it again; entries already read are kept."
                ) from None
        summary = {
            "list": hash_list.name,
            "added": result.added,
            "tombstoned": result.tombstoned,
            "skipped_lines": report.skipped,
            "new_matches": result.matches,
            "problems": report.problems[:10],
        }
        if as_json:
            self.stdout.write(json.dumps(summary))
            return
        self.stdout.write(
            f"{hash_list.name}: {result.added} entries added, {result.tombstoned} tombstoned, "
            f"{report.skipped} lines skipped; {result.matches} new matches in the vault."
        )
        for problem in report.problems[:10]:
            self.stderr.write(problem)

    def _export(self, *, reference: str, format: str, output: str, as_json: bool, **options: Any) -> None:
        case = Case.objects.filter(reference=reference.strip().upper()).first()
        if case is None:
            raise CommandError(f"No case has the reference {reference!r}. Check it (e.g. AMP-7K3Q-X9D2).")
        actor = _actor(options.get("user"), "cli:hashlist")
        items = list(actions.export_case_hashes(actor, case))
        target = Path(output)
        tmp = target.with_name(f".{target.name}.partial")
        with open(tmp, "w", encoding="utf-8", newline="") as out:
            if format == "vics":
                count = formats.write_vics(case_entries(items), out, case_name=case.reference)
            else:
                count = formats.write_csv(case_entries(items), out)
        os.replace(tmp, target)
        if as_json:
            self.stdout.write(
                json.dumps(
                    {"case": case.reference, "items": len(items), "hashes": count, "file": str(target)}
                )
            )
        else:
            self.stdout.write(f"{case.reference}: {count} hashes of {len(items)} items written to {target}.")
        if sys.stdout.isatty():
            self.stderr.write("The file holds hashes only, never evidence.")
