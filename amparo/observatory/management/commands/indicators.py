"""`amparo indicators list|export|refresh`: the indicator registry from the command line.

    amparo indicators list [--json]
    amparo indicators export --indicator OCSEA.REPORTS.RECEIVED --period 2026 --by province \
        [--by channel] [--agency sernic] --format csv|json [-o FILE]
    amparo indicators refresh [--period 2026-10 ...] [--json]

Every figure written has been through disclosure control (counts 1-4 shown as "<5"). Exports are
audited, as the system acting through the command line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from amparo.core import audit
from amparo.core.management.commands.audit_verify import progress_bar
from amparo.core.models import Agency
from amparo.observatory import compute as c
from amparo.observatory import exports
from amparo.observatory import indicators as reg
from amparo.observatory.tasks import refresh_snapshots

ACTOR = audit.Actor.system("cli:indicators")


class Command(BaseCommand):
    help = "List the observatory's indicators, export one (CSV or JSON, protected), or refresh the snapshots."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="List indicator codes and names.")
        listing.add_argument("--json", action="store_true", dest="as_json", help="Print JSON on stdout.")
        export = sub.add_parser("export", help="Export one indicator for one period.")
        export.add_argument(
            "--indicator", required=True, help="An indicator code (see `amparo indicators list`)."
        )
        export.add_argument(
            "--period", required=True, help="2026-10 (month), 2026Q3 (quarter) or 2026 (year)."
        )
        export.add_argument(
            "--by",
            action="append",
            default=[],
            help="A disaggregation, or two joined by a comma (province,sex); repeat for several views.",
        )
        export.add_argument(
            "--agency", help="Limit to one agency's cases (its code); default: the whole country."
        )
        export.add_argument("--format", choices=exports.FORMATS, default="csv", dest="fmt")
        export.add_argument("-o", "--output", help="Write to this file instead of standard output.")
        refresh = sub.add_parser("refresh", help="Recompute the stored snapshots now.")
        refresh.add_argument(
            "--period",
            action="append",
            default=[],
            help="A period to refresh (default: current and previous).",
        )
        refresh.add_argument("--json", action="store_true", dest="as_json", help="Print JSON on stdout.")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        getattr(self, f"_{action}")(**options)

    def _list(self, as_json: bool, **options: Any) -> None:
        items = [
            {
                "code": i.code,
                "name": str(i.name),
                "unit": i.unit,
                "disaggregations": list(i.disaggregations),
                "available": i.available,
                "version": i.version,
            }
            for i in reg.all_indicators()
        ]
        if as_json:
            self.stdout.write(json.dumps(items, ensure_ascii=False, indent=2))
            return
        width = max(len(i["code"]) for i in items)
        for item in items:
            flag = "" if item["available"] else "  (source not yet recorded)"
            self.stdout.write(f"{item['code']:<{width}}  {item['name']}{flag}")

    def _export(
        self,
        indicator: str,
        period: str,
        by: list[str],
        agency: str | None,
        fmt: str,
        output: str | None,
        **options: Any,
    ) -> None:
        if indicator not in reg.REGISTRY:
            raise CommandError(
                f"Unknown indicator {indicator!r}: run `amparo indicators list` for the codes."
            )
        try:
            chosen_period = c.Period.parse(period)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        views = [tuple(part.strip() for part in item.split(",") if part.strip()) for item in by] or [()]
        chosen_agency = None
        if agency:
            chosen_agency = Agency.objects.filter(code=agency).first()
            if chosen_agency is None:
                raise CommandError(f"Unknown agency {agency!r}: give an agency code such as sernic.")
        try:
            text = exports.export(ACTOR, indicator, chosen_period, views, fmt, agency=chosen_agency)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if output:
            Path(output).write_text(text, encoding="utf-8")
            self.stderr.write(f"Wrote {output}.")
        else:
            sys.stdout.flush()
            self.stdout.write(text, ending="")

    def _refresh(self, period: list[str], as_json: bool, **options: Any) -> None:
        try:
            periods = [c.Period.parse(p) for p in period] or c.current_periods()
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        count = sum(1 for i in reg.all_indicators() if i.available) * len(periods)
        with progress_bar(self, total=count, desc="indicators", quiet=as_json, unit="indicator") as bar:
            written = refresh_snapshots(ACTOR, periods, progress=bar.update)
        if as_json:
            self.stdout.write(json.dumps({"periods": [p.key() for p in periods], "views": written}))
        else:
            self.stdout.write(
                f"Refreshed {written} indicator views for {', '.join(p.key() for p in periods)}."
            )
