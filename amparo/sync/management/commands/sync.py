"""`amparo sync` (once), `amparo sync --watch` (continuously), `amparo sync status [--json]`."""

from __future__ import annotations

import json
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from amparo.sync import client
from amparo.sync.protocol import ProtocolError


class Command(BaseCommand):
    help = "Synchronise this district node with the national server."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("what", nargs="?", choices=["status"], help="'status' prints the node's state.")
        parser.add_argument(
            "--watch", action="store_true", help="Keep synchronising every AMPARO_SYNC_INTERVAL seconds."
        )
        parser.add_argument("--json", action="store_true", help="Print JSON.")

    def handle(self, *args: Any, what: str | None, watch: bool, json: bool, **options: Any) -> None:  # noqa: A002
        if what == "status":
            data = client.status()
            if json:
                self.stdout.write(_dumps(data))
            else:
                for key, value in data.items():
                    self.stdout.write(f"{key}: {value}")
            return
        if settings.NODE_ROLE != "district":
            raise CommandError("`amparo sync` runs on a district node (AMPARO_NODE_ROLE=district).")
        while True:
            try:
                report = client.sync_once()
            except (client.SyncFailed, ProtocolError) as exc:
                if not watch:
                    raise CommandError(str(exc)) from exc
                self.stderr.write(str(exc))
            else:
                if json:
                    self.stdout.write(_dumps(report.as_dict()))
                elif report.wiped:
                    self.stdout.write("This node's credential was revoked: its case data has been erased.")
                else:
                    self.stdout.write(
                        f"Sent {report.pushed_changes} changes ({report.pushed_entries} audit entries), received "
                        f"{report.pulled_objects} records; {report.conflicts} new conflicts; "
                        f"{report.bytes_sent + report.bytes_received} bytes."
                    )
                if report.wiped:
                    return
            if not watch:
                return
            time.sleep(settings.SYNC_INTERVAL)


def _dumps(data: Any) -> str:
    return json.dumps(data, indent=2, default=str)
