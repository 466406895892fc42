"""`amparo upgrade [--check] [--json]`: plan and run a database upgrade.

    amparo upgrade --check      # the pending migrations and which may take long; exit 1 when any is pending
    amparo upgrade              # back up first (a backup younger than a day is required), migrate, verify

See amparo.core.upgrade and docs/operations.md (Upgrades).
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from amparo.core import backup, upgrade

BACKUP_MAX_AGE = 24 * 3600


class Command(BaseCommand):
    help = "Say which migrations an upgrade will run and which may take long (--check), or run them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--check", action="store_true", help="Only report; change nothing.")
        parser.add_argument(
            "--without-backup",
            action="store_true",
            help="Upgrade even though no backup was made in the last 24 hours.",
        )
        parser.add_argument("--json", action="store_true", dest="as_json", help="Print one JSON object.")

    def handle(self, *args: Any, check: bool, without_backup: bool, as_json: bool, **options: Any) -> None:
        steps = upgrade.pending()
        plan = {"pending": [s.as_dict() for s in steps], "long": any(s.long for s in steps)}
        if check:
            if as_json:
                self.stdout.write(json.dumps(plan, sort_keys=True))
            else:
                self._print(steps)
            if steps:
                sys.exit(1)
            return
        if not as_json:
            self._print(steps)
        age = backup.last_backup_age()
        if steps and not without_backup and (age is None or age > BACKUP_MAX_AGE):
            raise CommandError(
                "No backup was made in the last 24 hours: run `amparo backup create -o DIR --verify` first "
                "(or pass --without-backup if you have another copy of the database)."
            )
        if steps:
            call_command("migrate", interactive=False, verbosity=0 if as_json else 1)
        # Whatever was migrated, the audit chain must still verify.
        out = io.StringIO()
        with contextlib.suppress(SystemExit):
            call_command("audit_verify", as_json=True, stdout=out)
        audit = json.loads(out.getvalue())
        if as_json:
            self.stdout.write(json.dumps({**plan, "migrated": bool(steps), "audit": audit}, sort_keys=True))
        elif audit["ok"]:
            self.stdout.write(
                f"Upgraded; the audit log verifies ({sum(c['entries_checked'] for c in audit['chains'].values())} entries)."
            )
        else:
            for problem in audit["problems"]:
                self.stderr.write(problem["message"])
        if not audit["ok"]:
            sys.exit(1)

    def _print(self, steps: list[upgrade.Step]) -> None:
        if not steps:
            self.stdout.write("The database is up to date: no migration is pending.")
            return
        long = [s for s in steps if s.long]
        self.stdout.write(
            f"{len(steps)} migration(s) pending; {len(long)} may take long on this database "
            f"(tables of {upgrade.LARGE_TABLE_ROWS:,}+ rows rewritten, scanned or locked)."
        )
        for step in steps:
            flag = "LONG " if step.long else "     "
            tables = ", ".join(f"{t} ~{n if n is not None else '?'} rows" for t, n in step.tables.items())
            self.stdout.write(
                f"  {flag}{step.app}.{step.name}: {', '.join(step.operations)}"
                + (f" [{tables}]" if tables else "")
            )
            for reason in step.reasons:
                self.stdout.write(f"         - {reason}")
            if step.note:
                self.stdout.write(f"         note: {step.note}")
        if long:
            self.stdout.write(
                "Plan a maintenance window for the LONG ones, and back up first (docs/operations.md, Upgrades)."
            )
