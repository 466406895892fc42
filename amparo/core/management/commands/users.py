"""`amparo users list [--json]`: staff users with their agency, roles, scope and two-factor enrolment.

Never prints password hashes, TOTP secrets or tokens. The JSON form is for scripts, e.g. to choose
the service account for `amparo api_token create --user USERNAME`.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django_otp.plugins.otp_totp.models import TOTPDevice

from amparo.core.models import User


def describe(user: User, enrolled: set[Any]) -> dict[str, Any]:
    level, province, district = user.effective_scope()
    return {
        "username": user.get_username(),
        "agency": user.agency.code,
        "roles": sorted(user.roles),
        "scope": {"level": level or "", "province": province, "district": district},
        "active": user.is_active,
        "two_factor": user.pk in enrolled,
        "demo": user.is_demo,
    }


class Command(BaseCommand):
    help = "List staff users with agency, roles, scope, whether active and whether two-factor is enrolled."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        listing = sub.add_parser("list", help="Every user (no secrets).")
        listing.add_argument("--agency", default=None, help="Only users of this agency (its code).")
        listing.add_argument("--json", action="store_true", dest="as_json", help="Print JSON on stdout.")

    def handle(self, *args: Any, subcommand: str, **options: Any) -> None:
        getattr(self, f"do_{subcommand}")(**options)

    def do_list(self, *, agency: str | None, as_json: bool, **_options: Any) -> None:
        qs = User.objects.select_related("agency").prefetch_related("role_grants").order_by("username")
        if agency:
            qs = qs.filter(agency__code=agency)
        enrolled = set(TOTPDevice.objects.filter(confirmed=True).values_list("user_id", flat=True))
        users = []
        for user in qs:
            # Roles from the prefetched grants (User.roles would query once per user).
            user.__dict__["roles"] = frozenset(g.role for g in user.role_grants.all())
            users.append(describe(user, enrolled))
        if as_json:
            self.stdout.write(json.dumps({"users": users}, indent=2, ensure_ascii=False))
            return
        if not users:
            self.stdout.write("No users yet.")
            return
        self.stdout.write(f"{'username':<32}{'agency':<26}{'scope':<18}{'active':<8}{'2FA':<5}roles")
        for u in users:
            scope = u["scope"]["district"] or u["scope"]["province"] or u["scope"]["level"] or "-"
            self.stdout.write(
                f"{u['username']:<32}{u['agency']:<26}{scope:<18}{'yes' if u['active'] else 'no':<8}"
                f"{'yes' if u['two_factor'] else 'no':<5}{', '.join(u['roles']) or '-'}"
            )
