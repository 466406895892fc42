"""`amparo cybertip import PATH [--json] [--user NAME]`: import an NCMEC CyberTipline referral.

PATH is the folder (or a zip of it) that NCMEC's case-management tool delivers: one report XML and a
`Media/` folder. The case's reference is printed; importing the same report again prints the same
reference. Media files show a progress bar on a terminal; `--json` prints one JSON object and no bar:
the case `reference`, its `priority`, `report_id`, `created`, `files` (stored) and `file_details`: for
each declared file its `file_name`, `file_id`, whether the package holds it (`found`) and whether the
MD5 the report declares matches it (`md5_ok`: true, false, or null when none was declared or the file
is missing).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from amparo.core import audit
from amparo.core.management.commands.audit_verify import progress_bar
from amparo.core.models import User
from amparo.intake import cybertip
from amparo.lib.cybertip import CyberTipError


def _actor(username: str | None) -> Any:
    if not username:
        return audit.Actor.system("cybertip_import")
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise CommandError(f"No active user is called {username!r}. Check the name, or leave out --user.")
    return user


class Command(BaseCommand):
    help = (
        "Import an NCMEC CyberTipline referral package (folder or zip) into an international-referral case."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="Import one package; prints the case reference.")
        imp.add_argument("path", help="The package folder, its zip, or a lone report XML.")
        imp.add_argument("--user", help="Act as this user (their rights apply); default: the system.")
        imp.add_argument(
            "--json", action="store_true", dest="as_json", help="Print one JSON object; no progress bar."
        )

    def handle(
        self, *args: Any, action: str, path: str, user: str | None, as_json: bool, **options: Any
    ) -> None:
        actor = _actor(user)
        bar = None

        def on_total(total: int) -> None:
            nonlocal bar
            bar = progress_bar(self, total=total, desc="media", quiet=as_json, unit="B")

        def progress(n: int) -> None:
            if bar is not None:
                bar.update(n)

        try:
            result = cybertip.import_package(actor, path, progress=progress, on_total=on_total)
        except CyberTipError as exc:
            raise CommandError(f"{exc}") from None
        except PermissionDenied:
            raise CommandError(
                "This user may not import CyberTipline referrals: it takes an intake officer, investigator "
                "or supervisor of the receiving agency (AMPARO_CYBERTIP_AGENCY)."
            ) from None
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        finally:
            if bar is not None:
                bar.close()
        if as_json:
            self.stdout.write(
                json.dumps(
                    {
                        "reference": result.case.reference,
                        "priority": result.case.priority,
                        "report_id": result.referral.external_id,
                        "created": result.created,
                        "files": result.files,
                        "file_details": [outcome.as_json() for outcome in result.file_outcomes],
                    }
                )
            )
            return
        if result.created:
            self.stdout.write(
                f"{result.case.reference}: report {result.referral.external_id} imported "
                f"with {result.files} file(s), priority {result.case.priority}."
            )
        else:
            self.stdout.write(
                f"{result.case.reference}: report {result.referral.external_id} was already imported."
            )
        for outcome in result.file_outcomes:
            state = "in the package" if outcome.found else "NOT in the package (ask NCMEC for it)"
            check = {True: "declared MD5 matches", False: "declared MD5 DOES NOT MATCH", None: "no MD5 check"}
            self.stdout.write(
                f"  {outcome.file_name or outcome.file_id or '-'}: {state}; {check[outcome.md5_ok]}."
            )
