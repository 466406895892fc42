"""`amparo rotate_keys [--data-key] [--master-key] [--index-key] [--json]`: rotate encryption keys.

With no option, rotates the field data key. See amparo.core.keys for what each rotation does and
docs/decisions/0002 for why the keys are separate.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from amparo.core import crypto, keys
from amparo.core.management.commands.audit_verify import progress_bar

MASTER_HELP = (
    "Re-wrap every data key under the current AMPARO_MASTER_KEY. First set the NEW key in AMPARO_MASTER_KEY "
    "and list the OLD one in AMPARO_OLD_MASTER_KEYS for every Amparo process (restart them), then run this; "
    "afterwards remove the old key from AMPARO_OLD_MASTER_KEYS."
)


class Command(BaseCommand):
    help = "Rotate encryption keys: the field data key (default), the master key or the blind-index key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--data-key",
            action="store_true",
            help="Create a new field key and re-encrypt every encrypted value under it (the default).",
        )
        parser.add_argument("--master-key", action="store_true", help=MASTER_HELP)
        parser.add_argument(
            "--index-key",
            action="store_true",
            help="Create a new blind-index key and recompute every blind index.",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=keys.BATCH_SIZE,
            help="Rows per transaction (default: %(default)s).",
        )
        parser.add_argument(
            "--json",
            action="store_true",
            dest="as_json",
            help="Print a summary as one JSON object on stdout.",
        )

    def handle(
        self,
        *args: Any,
        data_key: bool,
        master_key: bool,
        index_key: bool,
        batch_size: int,
        as_json: bool,
        **options: Any,
    ) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        if not (data_key or master_key or index_key):
            data_key = True
        # The master key first, so that the keys made next are born under it (they would be anyway).
        plan = [
            kind
            for kind, wanted in (("master-key", master_key), ("data-key", data_key), ("index-key", index_key))
            if wanted
        ]
        reports = []
        try:
            for kind in plan:
                reports.append(self._rotate(kind, batch_size, quiet=as_json))
        except keys.KeyRotationError as exc:
            raise CommandError(str(exc)) from None
        except crypto.IntegrityAlarm as exc:
            raise CommandError(
                f"{exc}. The rotation stopped; values already moved stay readable under the new key. "
                "Investigate the alarm (restore the altered rows from a backup), then run the rotation again."
            ) from None
        finally:
            crypto.clear_cache()
        if as_json:
            self.stdout.write(json.dumps({"rotations": [r.as_dict() for r in reports]}, sort_keys=True))
            return
        for report in reports:
            self.stdout.write(self._describe(report))

    def _rotate(self, kind: str, batch_size: int, *, quiet: bool) -> keys.RotationReport:
        if kind == "master-key":
            return keys.rotate_master_key()
        rotate = keys.rotate_data_key if kind == "data-key" else keys.rotate_index_key
        with progress_bar(self, total=keys.total_rows(kind), desc=kind, quiet=quiet, unit="row") as bar:
            return rotate(batch_size=batch_size, progress=bar.update)

    def _describe(self, report: keys.RotationReport) -> str:
        done = ", ".join(f"{label}: {n}" for label, n in report.models.items()) or "nothing to do"
        retired = (
            f"; retired key(s) {', '.join(map(str, report.retired_keys))}" if report.retired_keys else ""
        )
        if report.kind == "master-key":
            count = sum(report.models.values())
            hint = (
                " You may now remove the old key from AMPARO_OLD_MASTER_KEYS."
                if count
                else " Every data key was already under it: did you set the new AMPARO_MASTER_KEY?"
            )
            return f"Re-wrapped {count} data key(s) under master key {report.key} (audit entry #{report.audit_entry}).{hint}"
        what = "values re-encrypted" if report.kind == "data-key" else "indexes recomputed"
        return f"Rotated the {report.kind} to key {report.key}: {what} ({done}){retired} (audit entry #{report.audit_entry})."
