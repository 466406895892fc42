"""`amparo seed_demo`: demo users for every role and synthetic cases, for AMPARO_DEMO=1 only."""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext
from tqdm import tqdm

from amparo.cases.actions import create_demo_services
from amparo.demo import actions, generate
from amparo.intake.demo import seed_demo_channels
from amparo.outreach import seed as outreach_seed


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(
            _("--today takes a date such as 2026-11-24; got %(value)r.") % {"value": value}
        ) from None


class Command(BaseCommand):
    help = (
        "Create demo users (one per role, sharing one printed password) and synthetic OCSEA cases spread over "
        "the last 24 months, through the audited actions. Demo mode (AMPARO_DEMO=1) only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--cases",
            type=int,
            default=generate.DEFAULT_CASES,
            help="How many synthetic cases (default: %(default)s).",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=generate.DEFAULT_SEED,
            help="Seed: the same seed gives the same content.",
        )
        parser.add_argument(
            "--once",
            action="store_true",
            help="If demo data already exists, only print the logins (for `make demo` on every start).",
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object instead of a table.")
        parser.add_argument(
            "--today",
            type=_date,
            default=None,
            help="The last day of the 24 months (default: today in Maputo).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEMO:
            raise CommandError(
                _(
                    "seed_demo creates users with a published password; it runs only in demo mode (AMPARO_DEMO=1)."
                )
            )
        n: int = options["cases"]
        if n < 0:
            raise CommandError(_("--cases cannot be negative."))
        as_json: bool = options["json"]

        if actions.demo_data_exists():
            if not options["once"]:
                raise CommandError(
                    _(
                        "Demo data already exists. Use --once to print the logins, or start from an empty database."
                    )
                )
            self._report(created=False, cases=0, seed=options["seed"], seconds=None, as_json=as_json)
            return

        today = options["today"] or timezone.localdate(timezone=generate.TZ)
        started = time.perf_counter()
        try:
            actions.ensure_demo_agencies(actions.SYSTEM)
            users = actions.create_demo_users(actions.SYSTEM)
            seed_demo_channels()  # one SMS and one USSD channel on the `log` provider
            create_demo_services(actions.SYSTEM)  # invented, marked services in each provincial capital
        except actions.DemoConflict as exc:
            raise CommandError(str(exc)) from None
        plan = generate.generate_cases(
            n, seed=options["seed"], today=today, geography=actions.load_geography()
        )
        quiet = as_json or not sys.stderr.isatty()
        with tqdm(total=n, unit="case", desc="seed_demo", file=sys.stderr, disable=quiet) as bar:
            actions.seed_cases(actions.SYSTEM, plan, users, progress=bar.update)
        # Awareness material (approved by the national coordinator) and invented community sessions.
        outreach_seed.seed(actions.SYSTEM, approver=users["coordenador"])
        outreach_seed.demo_sessions(users["assistente.social"], count=40, seed=options["seed"], today=today)
        seconds = time.perf_counter() - started
        self._report(
            created=True,
            cases=n,
            seed=options["seed"],
            seconds=seconds,
            as_json=as_json,
            today=today,
            signature=generate.plan_signature(plan),
        )

    def _report(
        self,
        *,
        created: bool,
        cases: int,
        seed: int,
        seconds: float | None,
        as_json: bool,
        today: dt.date | None = None,
        signature: str = "",
    ) -> None:
        logins = actions.demo_logins()
        if as_json:
            payload = {
                "created": created,
                "cases": cases,
                "seed": seed if created else None,
                "today": today.isoformat() if today else None,
                "signature": signature or None,
                "seconds": round(seconds, 2) if seconds is not None else None,
                "password": generate.DEMO_PASSWORD,
                "logins": logins,
            }
            self.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2))
            return
        if created:
            self.stdout.write(
                ngettext(
                    "Created %(cases)d synthetic demo case (seed %(seed)d) in %(seconds).1f s.",
                    "Created %(cases)d synthetic demo cases (seed %(seed)d) in %(seconds).1f s.",
                    cases,
                )
                % {"cases": cases, "seed": seed, "seconds": seconds or 0.0}
            )
        else:
            self.stdout.write(_("Demo data already exists; nothing was created."))
        self.stdout.write(_("Demo logins (demo mode only; every user shares the password below):"))
        headers = (
            pgettext("seed_demo logins", "Username"),
            pgettext("seed_demo logins", "Password"),
            pgettext("seed_demo logins", "Agency"),
            pgettext("seed_demo logins", "Roles"),
            pgettext("seed_demo logins", "Scope"),
        )
        rows = [
            (row["username"], row["password"], row["agency"], ", ".join(row["roles"]), row["scope"])
            for row in logins
        ]
        widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
        for line in (headers, tuple("-" * w for w in widths), *rows):
            self.stdout.write(
                "  ".join(str(cell).ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
            )
