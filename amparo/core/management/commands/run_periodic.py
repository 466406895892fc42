"""`amparo run_periodic`: run the periodic jobs that are due, once, in this process (amparo.core.schedule).

For cron, or a machine that runs no worker; `amparo worker` runs them by itself. `--list` shows every
registered job with its interval, next due time and last run, and runs nothing.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from amparo.core import schedule
from amparo.core.models import PeriodicJobState


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


class Command(BaseCommand):
    help = "Run the periodic jobs that are due (once), or list them with --list."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--list", action="store_true", dest="listing", help="List the jobs; run nothing.")
        parser.add_argument("--json", action="store_true", dest="as_json", help="Print JSON.")

    def handle(self, *args: Any, listing: bool, as_json: bool, **options: Any) -> None:
        if listing:
            states = {s.name: s for s in PeriodicJobState.objects.all()}
            rows = []
            for job in schedule.periodic_jobs():
                state = states.get(job.name)
                rows.append(
                    {
                        "name": job.name,
                        "every_seconds": int(job.every.total_seconds()),
                        "next_due_at": _iso(state and state.next_due_at),
                        "last_finished_at": _iso(state and state.last_finished_at),
                        "last_ok": state.last_ok if state else None,
                        "runs": state.runs if state else 0,
                    }
                )
            if as_json:
                self.stdout.write(json.dumps(rows, indent=2))
            else:
                for row in rows:
                    self.stdout.write(
                        f"{row['name']}: every {row['every_seconds']} s, next due {row['next_due_at'] or 'now'}, "
                        f"{row['runs']} runs, last {row['last_finished_at'] or 'never'}"
                    )
            return
        ran = schedule.run_due()
        if as_json:
            self.stdout.write(json.dumps({"ran": ran}))
        else:
            self.stdout.write(f"Ran {len(ran)} periodic job(s)" + (f": {', '.join(ran)}." if ran else "."))
