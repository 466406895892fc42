"""`amparo dhis2 mapping load FILE | mapping check [FILE] | mapping example [-o FILE] | export --period P -o FILE |
push --period P [--now]`.

The mapping (indicator and disaggregation -> dataElement and categoryOptionCombo; country,
province or district -> orgUnit) is a JSON or CSV file: see amparo.observatory.dhis2.parse_mapping.
Suppressed values are never written or sent. `mapping check` refuses a mapping DHIS2 would add up
wrongly (a total and its breakdown on one data element). `push` queues the background task (which
retries); `--now` sends from this process and prints DHIS2's import summary: the counts and every
conflict.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from amparo.core import audit
from amparo.lib.env import ConfigError
from amparo.observatory import compute as c
from amparo.observatory import dhis2
from amparo.observatory.tasks import push_to_dhis2

ACTOR = audit.Actor.system("cli:dhis2")


def _period(text: str) -> c.Period:
    try:
        return c.Period.parse(text)
    except ValueError as exc:
        raise CommandError(str(exc)) from None


class Command(BaseCommand):
    help = "Load the DHIS2 mapping, write a dataValueSets file, or push a period to DHIS2."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        mapping = sub.add_parser("mapping", help="Manage the mapping.")
        mapping_sub = mapping.add_subparsers(dest="mapping_action", required=True)
        load = mapping_sub.add_parser("load", help="Replace the mapping with a JSON or CSV file.")
        load.add_argument("file")
        load.add_argument("--json", action="store_true", dest="as_json")
        check = mapping_sub.add_parser(
            "check", help="Check a mapping file (or, without one, the loaded mapping) without loading it."
        )
        check.add_argument("file", nargs="?")
        check.add_argument("--json", action="store_true", dest="as_json")
        example = mapping_sub.add_parser(
            "example", help="Print an example mapping (placeholder identifiers)."
        )
        example.add_argument("-o", "--output", help="Write to this file instead of standard output.")
        export = sub.add_parser("export", help="Write the dataValueSets JSON for one period.")
        export.add_argument("--period", required=True, help="202610, 2026Q3 or 2026 (or 2026-10).")
        export.add_argument("-o", "--output", help="Write to this file instead of standard output.")
        push = sub.add_parser("push", help="Send one period to DHIS2.")
        push.add_argument("--period", required=True)
        push.add_argument("--now", action="store_true", help="Send from this process instead of queueing.")
        push.add_argument("--json", action="store_true", dest="as_json")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        getattr(self, f"_{action}")(**options)

    def _mapping(self, mapping_action: str, **options: Any) -> None:
        if mapping_action == "example":
            text = json.dumps(dhis2.example_mapping(), indent=2) + "\n"
            if options.get("output"):
                Path(options["output"]).write_text(text, encoding="utf-8")
                self.stderr.write(
                    f"Wrote {options['output']}: replace the placeholder identifiers with your DHIS2 instance's, "
                    "then run `amparo dhis2 mapping load` on it."
                )
            else:
                self.stdout.write(text, ending="")
            return
        if mapping_action == "check":
            self._check(options.get("file"), options["as_json"])
            return
        self._load(options["file"], options["as_json"])

    def _check(self, file: str | None, as_json: bool) -> None:
        try:
            if file:
                path = Path(file)
                try:
                    text = path.read_text(encoding="utf-8")
                except OSError as exc:
                    raise CommandError(f"Cannot read {file}: {exc.strerror}.") from None
                elements, units = dhis2.parse_mapping(text, path.suffix.lower().lstrip("."))
                counts = (len(elements), len(units))
            else:
                counts = dhis2.check_loaded_mapping()
        except dhis2.MappingError as exc:
            raise CommandError(f"{file or _('The loaded mapping')}: {exc}") from None
        if as_json:
            self.stdout.write(json.dumps({"ok": True, "dataElements": counts[0], "orgUnits": counts[1]}))
        else:
            self.stdout.write(
                _(
                    "The mapping is valid: %(elements)s data element mappings and %(units)s organisation unit mappings."
                )
                % {"elements": counts[0], "units": counts[1]}
            )

    def _load(self, file: str, as_json: bool) -> None:
        path = Path(file)
        fmt = path.suffix.lower().lstrip(".")
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}.") from None
        try:
            elements, units = dhis2.load_mapping(ACTOR, text, fmt)
        except dhis2.MappingError as exc:
            raise CommandError(f"{file}: {exc} Nothing was loaded.") from None
        if as_json:
            self.stdout.write(json.dumps({"dataElements": elements, "orgUnits": units}))
        else:
            self.stdout.write(
                f"Loaded {elements} data element mappings and {units} organisation unit mappings."
            )

    def _export(self, period: str, output: str | None, **options: Any) -> None:
        chosen = _period(period)
        if not dhis2.mapping_loaded():
            self.stderr.write(
                "No DHIS2 mapping is loaded: the example mapping's placeholder identifiers are used. "
                "Load your instance's with `amparo dhis2 mapping load FILE` (start from `amparo dhis2 mapping example`)."
            )
        text = dhis2.export_json(ACTOR, chosen, example_if_unmapped=True)
        if output:
            Path(output).write_text(text, encoding="utf-8")
            count = len(json.loads(text)["dataValues"])
            self.stderr.write(f"Wrote {count} data values for {chosen.dhis2()} to {output}.")
        else:
            self.stdout.write(text, ending="")

    def _push(self, period: str, now: bool, as_json: bool, **options: Any) -> None:
        chosen = _period(period)
        if not dhis2.mapping_loaded():
            raise CommandError(
                "No DHIS2 mapping is loaded: load one with `amparo dhis2 mapping load FILE` first."
            )
        if not now:
            result = push_to_dhis2.enqueue(chosen.key())
            message = {"queued": True, "task": str(result.id)}
        else:
            try:
                outcome = dhis2.push(chosen)
            except dhis2.Dhis2Refused as exc:
                for line in _conflict_lines(exc.summary):
                    self.stderr.write(line)
                raise CommandError(
                    f"{exc} Fix the conflicts above (mapping or DHIS2 metadata) and run the push again."
                ) from None
            except (dhis2.Dhis2Error, ConfigError) as exc:
                raise CommandError(
                    f"{exc} Nothing more was sent; fix the cause and run the push again."
                ) from None
            summary = outcome.summary
            message = {
                "queued": False,
                "sent": outcome.sent,
                "status": outcome.status,
                "detail": outcome.detail,
                "import_status": summary.status if summary else None,
                "partial": outcome.partial,
                **(summary.counts() if summary else {}),
                "conflicts": [c.as_dict() for c in summary.conflicts] if summary else [],
            }
        if as_json:
            self.stdout.write(json.dumps(message))
        elif message["queued"]:
            self.stdout.write(f"Queued the DHIS2 push for {chosen.dhis2()} (task {message['task']}).")
        else:
            kind = "Partly imported" if message["partial"] else "Sent"
            self.stdout.write(
                f"{kind}: {message['sent']} data values for {chosen.dhis2()} ({message['detail'] or 'no detail'})."
            )
            if outcome.summary is not None:
                for line in _conflict_lines(outcome.summary):
                    self.stdout.write(line)


def _conflict_lines(summary: dhis2.ImportSummary) -> list[str]:
    lines = (
        [f"DHIS2 status {summary.status}; {len(summary.conflicts)} conflicts:"] if summary.conflicts else []
    )
    for conflict in summary.conflicts:
        code = f" [{conflict.error_code}]" if conflict.error_code else ""
        lines.append(f"  {conflict.object}{code}: {conflict.value}")
    return lines
