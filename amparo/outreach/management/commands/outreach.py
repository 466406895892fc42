"""`amparo outreach`: the education campaigns' work from the command line.

amparo outreach send_due [--json]                 send the SMS series messages due now
amparo outreach seed_content [--approve-as USER] [--json]   load the starter material (for expert review)
amparo outreach poster SLUG --lang pt -o poster.pdf   an approved poster as PDF
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from amparo.core import audit
from amparo.core.models import User
from amparo.core.policy import can
from amparo.outreach import posters, seed, tasks
from amparo.outreach.models import Format, Translation
from amparo.outreach.permissions import OutreachPermission

SYSTEM = audit.Actor.system("cli:outreach")


class Command(BaseCommand):
    help = "Send due SMS series messages, load the starter material, print posters."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        due = sub.add_parser(
            "send_due", help="Send every SMS series message due now (within the allowed hours)."
        )
        due.add_argument("--json", action="store_true", dest="as_json")
        load = sub.add_parser("seed_content", help="Load the starter material, sent for expert review.")
        load.add_argument(
            "--approve-as", default="", help="User name of an approver who signs it off (demos)."
        )
        load.add_argument("--json", action="store_true", dest="as_json")
        poster = sub.add_parser("poster", help="Write an approved poster as PDF.")
        poster.add_argument("slug")
        poster.add_argument("--lang", default="pt")
        poster.add_argument("-o", "--output", type=Path, required=True)

    def handle(self, *args: Any, subcommand: str, **options: Any) -> None:
        getattr(self, f"do_{subcommand}")(**options)

    def do_send_due(self, *, as_json: bool, **_options: Any) -> None:
        bar = None
        if not as_json and sys.stdout.isatty():
            from tqdm import tqdm

            bar = tqdm(desc="series messages", unit="sms")
        try:
            sent = tasks.send_due(progress=bar.update if bar else None)
        finally:
            if bar:
                bar.close()
        if as_json:
            self.stdout.write(json.dumps({"sent": sent}))
        else:
            self.stdout.write(f"{sent} series messages sent.")

    def do_seed_content(self, *, approve_as: str, as_json: bool, **_options: Any) -> None:
        approver = None
        if approve_as:
            approver = User.objects.filter(username=approve_as, is_active=True).first()
            if approver is None:
                raise CommandError(
                    f"There is no active user {approve_as!r}; create one or leave out --approve-as."
                )
            if not can(approver, OutreachPermission.CONTENT_APPROVE, seed.owner_probe()):
                raise CommandError(
                    f"{approve_as!r} may not approve the starter material: it needs the agency supervisor or "
                    f"national coordinator role in agency {seed.OWNER!r}."
                )
        result = seed.seed(SYSTEM, approver=approver)
        if as_json:
            self.stdout.write(json.dumps(result))
        else:
            self.stdout.write(
                f"{result['items_created']} of {result['items']} starter items created; "
                f"{result['translations_approved']} translations approved. "
                "Every text is marked for expert review."
            )

    def do_poster(self, *, slug: str, lang: str, output: Path, **_options: Any) -> None:
        tr = (
            Translation.objects.select_related("item")
            .filter(item__slug=slug, item__format=Format.POSTER, language=lang)
            .first()
        )
        if tr is None:
            raise CommandError(
                f"There is no poster {slug!r} in {lang!r}; list them at /outreach/content/?format=poster."
            )
        try:
            data = posters.render(tr)
        except posters.NotPublished:
            raise CommandError(
                f"The poster {slug!r} in {lang!r} is {tr.status}, not approved; an approver must approve it first."
            ) from None
        output.write_bytes(data)
        self.stdout.write(f"Wrote {output} ({len(data)} bytes).")
