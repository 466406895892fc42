"""`amparo api_token`: staff API tokens (decision 12).

    amparo api_token create --user USERNAME [--name NAME] [--days N] [--json]
        prints the new token: the only time it is shown (the database keeps its SHA-256)
    amparo api_token list [--user USERNAME] [--json]
        every token with its prefix, user, expiry, last use and status; never the token itself
    amparo api_token revoke PREFIX
        refuses the token from now on

The token acts as its user in /api/v1/: the same roles, scope and access policy. Give tokens to
service accounts (a user created for the other system, with the case roles it needs).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from amparo.core import audit, tokens
from amparo.core.actions import create_api_token, revoke_api_token
from amparo.core.models import ApiToken, User
from amparo.core.roles import CASE_ROLES

SYSTEM = audit.Actor.system("cli:api_token")


def describe(token: ApiToken) -> dict[str, Any]:
    return {
        "prefix": token.prefix,
        "user": token.user.get_username(),
        "agency": token.user.agency.code,
        "name": token.name,
        "created_at": token.created_at.isoformat(),
        "expires_at": token.expires_at.isoformat(),
        "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
        "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None,
        "status": tokens.status(token),
    }


class Command(BaseCommand):
    help = "Create, list and revoke staff API tokens (Authorization: Bearer <token> on /api/v1/)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        create = sub.add_parser("create", help="Create a token for a user and print it (shown only once).")
        create.add_argument("--user", required=True, dest="username", help="Username the token acts as.")
        create.add_argument("--name", default="", help="What the token is for, e.g. 'Primero sync'.")
        create.add_argument(
            "--days",
            type=int,
            default=tokens.DEFAULT_DAYS,
            help=f"Days until it expires (default {tokens.DEFAULT_DAYS}, at most {tokens.MAX_DAYS}).",
        )
        create.add_argument("--json", action="store_true", dest="as_json", help="Print JSON on stdout.")
        listing = sub.add_parser("list", help="List tokens (never the tokens themselves).")
        listing.add_argument("--user", dest="username", default=None, help="Only this user's tokens.")
        listing.add_argument("--json", action="store_true", dest="as_json", help="Print JSON on stdout.")
        revoke = sub.add_parser("revoke", help="Revoke a token by its prefix (see `amparo api_token list`).")
        revoke.add_argument("prefix")
        revoke.add_argument("--json", action="store_true", dest="as_json", help="Print JSON on stdout.")

    def handle(self, *args: Any, subcommand: str, **options: Any) -> None:
        getattr(self, f"do_{subcommand}")(**options)

    def _json(self, value: Any) -> None:
        self.stdout.write(json.dumps(value, indent=2, ensure_ascii=False))

    def _user(self, username: str) -> User:
        user = User.objects.select_related("agency").filter(username=username).first()
        if user is None:
            raise CommandError(f"There is no user {username!r}. `amparo users list` shows every username.")
        return user

    def do_create(self, *, username: str, name: str, days: int, as_json: bool, **_options: Any) -> None:
        user = self._user(username)
        try:
            token, plaintext = create_api_token(SYSTEM, user, name=name, days=days)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        if not user.roles & CASE_ROLES:
            self.stderr.write(
                f"Warning: {username} has no case role, so this token will get 403 on the case endpoints. "
                "Grant a case role (in the admin) if the other system must read or update cases."
            )
        if as_json:
            self._json({"token": plaintext, **describe(token)})
            return
        self.stdout.write(plaintext)
        self.stdout.write(
            f"Token {token.prefix}… for {username}, expires {timezone.localtime(token.expires_at):%Y-%m-%d %H:%M}. "
            "Store it now: it cannot be shown again. Send it as 'Authorization: Bearer <token>'."
        )

    def do_list(self, *, username: str | None, as_json: bool, **_options: Any) -> None:
        qs = ApiToken.objects.select_related("user", "user__agency").order_by("-created_at")
        if username:
            qs = qs.filter(user=self._user(username))
        rows = [describe(t) for t in qs]
        if as_json:
            self._json({"tokens": rows})
            return
        if not rows:
            self.stdout.write("No API tokens. Create one with: amparo api_token create --user USERNAME")
            return
        self.stdout.write(f"{'prefix':<14}{'status':<9}{'expires':<18}{'last used':<18}{'user':<30}name")
        for row in rows:
            self.stdout.write(
                f"{row['prefix']:<14}{row['status']:<9}{_short(row['expires_at']):<18}"
                f"{_short(row['last_used_at']):<18}{row['user']:<30}{row['name']}"
            )

    def do_revoke(self, *, prefix: str, as_json: bool, **_options: Any) -> None:
        token = ApiToken.objects.select_related("user", "user__agency").filter(prefix=prefix.strip()).first()
        if token is None:
            raise CommandError(
                f"No token has the prefix {prefix!r}. `amparo api_token list` shows the prefixes."
            )
        try:
            revoke_api_token(SYSTEM, token)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        if as_json:
            self._json(describe(token))
            return
        self.stdout.write(f"Token {token.prefix}… of {token.user.get_username()} is revoked.")


def _short(value: str | None) -> str:
    if not value:
        return "-"
    return timezone.localtime(dt.datetime.fromisoformat(value)).strftime("%Y-%m-%d %H:%M")
