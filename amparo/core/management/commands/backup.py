"""`amparo backup create|verify|restore|prune`: encrypted backups that are proven to restore.

    amparo backup create -o /var/backups/amparo        # a new amparo-backup-<time> directory inside
    amparo backup verify /var/backups/amparo/amparo-backup-20261207T020000Z
    amparo backup restore /var/backups/amparo/amparo-backup-20261207T020000Z [--force]
    amparo backup prune /var/backups/amparo --keep-daily 7 --keep-weekly 5 --keep-monthly 12

Each prints a progress bar on a terminal and one JSON object with `--json`. Exit status 1 when a backup
does not verify or a check after a restore finds a problem. See amparo.core.backup and
docs/operations.md (Backups).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from amparo.core import backup
from amparo.core.management.commands.audit_verify import progress_bar


class Command(BaseCommand):
    help = "Create, verify, restore and prune encrypted backups (database, evidence files, audit heads)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="create|verify|restore|prune")
        create = sub.add_parser("create", help="Write a new backup into a directory of backups.")
        create.add_argument("-o", "--output", required=True, type=Path, help="The directory of backups.")
        create.add_argument("--verify", action="store_true", help="Verify the backup once it is written.")
        verify = sub.add_parser("verify", help="Check every checksum and that every file decrypts.")
        verify.add_argument("path", type=Path, help="One backup (an amparo-backup-… directory).")
        restore = sub.add_parser(
            "restore", help="Restore a backup onto an empty installation, then check it."
        )
        restore.add_argument("path", type=Path, help="One backup (an amparo-backup-… directory).")
        restore.add_argument(
            "--force", action="store_true", help="Replace what a non-empty database and evidence store hold."
        )
        prune = sub.add_parser("prune", help="Delete the backups a retention policy does not keep.")
        prune.add_argument("path", type=Path, help="The directory of backups.")
        prune.add_argument("--keep-daily", type=int, default=7, metavar="N")
        prune.add_argument("--keep-weekly", type=int, default=5, metavar="N")
        prune.add_argument("--keep-monthly", type=int, default=12, metavar="N")
        prune.add_argument(
            "--dry-run", action="store_true", help="Say what would be deleted; delete nothing."
        )
        for each in (create, verify, restore, prune):
            each.add_argument(
                "--json", action="store_true", dest="as_json", help="Print the result as one JSON object."
            )

    def handle(self, *args: Any, action: str, as_json: bool, **options: Any) -> None:
        self.as_json = as_json
        try:
            getattr(self, f"_{action}")(**options)
        except backup.BackupError as exc:
            if as_json:
                self._emit({"ok": False, "error": str(exc)})
                sys.exit(1)
            raise CommandError(str(exc)) from None

    def _emit(self, result: dict[str, Any]) -> None:
        self.stdout.write(json.dumps(result, sort_keys=True, ensure_ascii=False))

    def _create(self, output: Path, verify: bool, **options: Any) -> None:
        with progress_bar(self, total=None, desc="backup", quiet=self.as_json, unit="file") as bar:
            created = backup.create(output, progress=bar.update)
        files = created.manifest["files"]
        problems = backup.verify(created.path).problems if verify else []
        if self.as_json:
            self._emit(
                {
                    "ok": not problems,
                    "path": str(created.path),
                    "manifest": created.manifest,
                    "problems": problems,
                }
            )
        if problems:
            for problem in problems if not self.as_json else []:
                self.stderr.write(problem)
            sys.exit(1)
        if self.as_json:
            return
        size = sum(f["size"] for f in files.values())
        sources = "; ".join(f"{name}: {s['files']} files" for name, s in created.manifest["sources"].items())
        self.stdout.write(
            f"Backup written to {created.path} ({size / 1e6:.1f} MB; {sources or 'no file stores'}). "
            f"Check it with `amparo backup verify {created.path}`."
        )

    def _verify(self, path: Path, **options: Any) -> None:
        key = backup.backup_key()
        manifest = backup.read_manifest(path, key)
        total = backup.total_plain_bytes(manifest)
        with progress_bar(self, total=total, desc="verify", quiet=self.as_json, unit="B") as bar:
            result = backup.verify(path, progress=bar.update)
        if self.as_json:
            self._emit(
                {
                    "ok": result.ok,
                    "path": str(path),
                    "problems": result.problems,
                    "files": len(manifest["files"]),
                }
            )
        elif result.ok:
            self.stdout.write(
                f"Backup {path.name} verifies: {len(manifest['files'])} files, every checksum matches and "
                f"everything decrypts (made {manifest['created_at']} by Amparo {manifest['amparo_version']})."
            )
        else:
            for problem in result.problems:
                self.stderr.write(problem)
            self.stderr.write(
                "This backup cannot be trusted: restore from another one (`amparo backup verify` each)."
            )
        if not result.ok:
            sys.exit(1)

    def _restore(self, path: Path, force: bool, **options: Any) -> None:
        bars: dict[str, Any] = {}

        def progress(stage: str, done: int, total: int) -> None:
            bar = bars.get(stage)
            if bar is None:
                for other in bars.values():
                    other.close()
                bar = bars[stage] = progress_bar(self, total=total, desc=stage, quiet=self.as_json, unit="")
            bar.update(done - bar.n)

        try:
            result = backup.restore(path, force=force, progress=progress)
        finally:
            for bar in bars.values():
                bar.close()
        if self.as_json:
            self._emit(
                {
                    "ok": result.ok,
                    "path": str(path),
                    "checks": result.checks,
                    "problems": result.problems[:50],
                }
            )
        elif result.ok:
            checked = "; ".join(f"{name}: {c['checked']} checked" for name, c in result.checks.items())
            self.stdout.write(f"Restored {path.name}; every check passed ({checked}).")
        else:
            for problem in result.problems[:50]:
                self.stderr.write(problem)
            self.stderr.write(
                "The restore finished but the checks above failed: do not open this installation to users; "
                "try an earlier backup, and check AMPARO_MASTER_KEY is the escrowed one."
            )
        if not result.ok:
            sys.exit(1)

    def _prune(
        self, path: Path, keep_daily: int, keep_weekly: int, keep_monthly: int, dry_run: bool, **options: Any
    ) -> None:
        if min(keep_daily, keep_weekly, keep_monthly) < 0:
            raise CommandError("--keep-daily, --keep-weekly and --keep-monthly must be 0 or more.")
        if not path.is_dir():
            raise CommandError(f"{path} is not a directory of backups.")
        kept, deleted = backup.prune(
            path, daily=keep_daily, weekly=keep_weekly, monthly=keep_monthly, dry_run=dry_run
        )
        if self.as_json:
            self._emit(
                {
                    "ok": True,
                    "dry_run": dry_run,
                    "kept": [p.name for p in kept],
                    "deleted": [p.name for p in deleted],
                }
            )
            return
        verb = "Would delete" if dry_run else "Deleted"
        self.stdout.write(f"Kept {len(kept)} backups; {verb.lower()} {len(deleted)}.")
        for p in deleted:
            self.stdout.write(f"  {verb}: {p.name}")
