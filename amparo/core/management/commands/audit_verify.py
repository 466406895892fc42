"""`amparo audit_verify [--chain NAME] [--json]`: check every audit chain end to end.

Exit status 0 when every chain is intact, 1 when one is broken (the first bad entry of each broken
chain is named). Verification only reads: it records nothing in the audit log.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count
from tqdm import tqdm

from amparo.core import audit
from amparo.core.models import AuditEntry


def progress_bar(command: BaseCommand, *, total: int, desc: str, quiet: bool, unit: str) -> tqdm:
    """A tqdm bar on the command's stderr, only when that is a terminal and output is for humans."""
    stream = getattr(command.stderr, "_out", sys.stderr)
    disable = quiet or not (hasattr(stream, "isatty") and stream.isatty())
    return tqdm(
        total=total, desc=desc, unit=unit, file=stream, disable=disable, leave=False, dynamic_ncols=True
    )


class Command(BaseCommand):
    help = (
        "Verify the hash chains of the audit log; exit status 1 names the first bad entry of a broken chain."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--chain", help="Verify only this chain (default: every chain).")
        parser.add_argument(
            "--json",
            action="store_true",
            dest="as_json",
            help="Print the result as one JSON object on stdout.",
        )

    def handle(self, *args: Any, chain: str | None, as_json: bool, **options: Any) -> None:
        names = audit.chains()
        if chain:
            if chain not in names:
                raise CommandError(f"There is no audit chain named {chain!r}.")
            names = [chain]
        sizes = dict(
            AuditEntry.objects.filter(chain__in=names).order_by().values_list("chain").annotate(n=Count("id"))
        )
        checked = dict.fromkeys(names, 0)
        problems: list[audit.ChainProblem] = []
        with progress_bar(self, total=sum(sizes.values()), desc="audit", quiet=as_json, unit="entry") as bar:

            def advance(name: str, n: int) -> None:
                checked[name] += n
                bar.update(n)

            for name in names:
                bar.set_description(f"audit {name}")
                problems.extend(audit.verify(name, progress=advance))

        if as_json:
            self._print_json(checked, problems)
        elif problems:
            for problem in problems:
                self.stderr.write(str(problem))
        else:
            total = sum(checked.values())
            per_chain = "; ".join(f"{name}: {n}" for name, n in checked.items()) or "no chains"
            self.stdout.write(f"Audit log intact: {total} entries checked ({per_chain}).")
        if problems:
            sys.exit(1)

    def _print_json(self, checked: dict[str, int], problems: list[audit.ChainProblem]) -> None:
        broken = {p.chain for p in problems}
        result = {
            "ok": not problems,
            # For a broken chain, the entries found intact before the first bad one.
            "chains": {name: {"ok": name not in broken, "entries_checked": n} for name, n in checked.items()},
            "problems": [
                {"chain": p.chain, "entry_id": p.entry_id, "reason": p.reason, "message": str(p)}
                for p in problems
            ],
        }
        self.stdout.write(json.dumps(result, sort_keys=True, ensure_ascii=False))
