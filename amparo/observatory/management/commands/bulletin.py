"""amparo bulletin --month 2026-10 --lang pt -o bulletin.pdf"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from amparo.core.models import Agency
from amparo.observatory import bulletin, compute


class Command(BaseCommand):
    help = "Write the monthly observatory bulletin (PDF, Portuguese or English)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", help="The month, as 2026-10 or 202610 (default: last month).")
        parser.add_argument("--lang", default="pt", choices=bulletin.LANGUAGES, help="Language (default pt).")
        parser.add_argument("-o", "--output", required=True, help="Where to write the PDF ('-' for stdout).")
        parser.add_argument(
            "--agency", help="Limit to one agency's cases (its code); default: the whole country."
        )
        parser.add_argument("--json", action="store_true", help="Print a JSON summary instead of progress.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            period = (
                compute.Period.parse(options["month"]) if options["month"] else bulletin.last_complete_month()
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if period.kind != "month":
            raise CommandError("The bulletin is monthly: give --month as 2026-10.")
        agency = None
        if options["agency"]:
            agency = Agency.objects.filter(code=options["agency"]).first()
            if agency is None:
                raise CommandError(
                    f"No agency has the code {options['agency']!r}; see the admin's agency list."
                )
        show = not options["json"] and sys.stderr.isatty()
        with tqdm(total=2, desc="bulletin", unit="step", file=sys.stderr, disable=not show) as bar:
            body = bulletin.render(period, lang=options["lang"], agency=agency)
            bar.update(1)
            if options["output"] == "-":
                sys.stdout.buffer.write(body)
            else:
                try:
                    Path(options["output"]).write_bytes(body)
                except OSError as exc:
                    raise CommandError(
                        f"Cannot write {options['output']}: {exc.strerror}. Choose a writable path with -o."
                    ) from None
            bar.update(1)
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "month": period.key(),
                        "lang": options["lang"],
                        "output": options["output"],
                        "bytes": len(body),
                        "agency": agency.code if agency else "",
                    }
                )
            )
        elif options["output"] != "-":
            self.stdout.write(
                f"Wrote the {period.key()} bulletin ({options['lang']}) to {options['output']}."
            )
