"""`amparo evidence scan PATH... [--json]`: triage of seized media.

Hashes every file under the paths (recursively) without storing anything, and says for each which
hash lists know it: SHA-256 and MD5 always, PDQ and its quality for images, and the matches (list,
hash type, distance, category). Files' contents are never printed. With --json: one JSON object per
file on stdout and nothing else; otherwise a line per file and a progress bar on a terminal.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from amparo.core.management.commands.audit_verify import progress_bar
from amparo.evidence import matching, pdq


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


def scan_file(path: Path) -> dict[str, Any]:
    """One file's hashes and matches (no content)."""
    result: dict[str, Any] = {"path": str(path), "sha256": None, "md5": None, "pdq": None, "quality": None}
    try:
        exact = pdq.exact_hashes(path)
    except OSError as exc:
        return result | {"matches": [], "error": f"unreadable ({exc.strerror or type(exc).__name__})"}
    result |= {"sha256": exact.sha256, "md5": exact.md5}
    dihedral: list[str] = []
    if pdq.is_image(path):
        try:
            found, dihedral = pdq.pdq_all(path)
            result |= {"pdq": found.hash_hex, "quality": found.quality}
            if not found.matchable:
                result["low_quality"] = True
        except pdq.PdqError:
            result["error"] = "looks like an image but could not be decoded"
    found_matches = matching.candidates_for(
        sha256=exact.sha256, sha1=exact.sha1, md5=exact.md5, pdq_hashes=dihedral, quality=result["quality"]
    )
    result["matches"] = [c.as_json() for c in found_matches]
    return result


class Command(BaseCommand):
    help = "Triage: hash files against the hash lists without storing them (amparo evidence scan PATH...)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        scan = sub.add_parser("scan", help="Hash every file under PATH... and show which are known.")
        scan.add_argument("paths", nargs="+", metavar="PATH")
        scan.add_argument(
            "--json", action="store_true", dest="as_json", help="One JSON object per file; nothing else."
        )

    def handle(self, *args: Any, action: str, paths: list[str], as_json: bool, **options: Any) -> None:
        missing = [p for p in paths if not os.path.exists(p)]
        if missing:
            raise CommandError(
                f"Not found: {', '.join(missing)}. Check the paths (a mounted copy of the drive)."
            )
        matching.current_index()  # build the PDQ index once, before the first file
        files = list(walk(paths))
        known = 0
        with progress_bar(self, total=len(files), desc="scan", quiet=as_json, unit="file") as bar:
            for path in files:
                result = scan_file(path)
                known += bool(result["matches"])
                if as_json:
                    self.stdout.write(json.dumps(result, ensure_ascii=False))
                else:
                    labels = ", ".join(
                        f"{m['list']} {m['hash_type']} d={m['distance']} {m['category']}".strip()
                        for m in result["matches"]
                    )
                    self.stdout.write(
                        f"{'KNOWN ' if labels else '      '}{result['path']}  {result['sha256']}  {labels}"
                    )
                bar.update(1)
        if not as_json:
            self.stdout.write(f"{len(files)} files scanned, {known} known.")
