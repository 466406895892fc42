"""`amparo industry`: organisations of the industry API and their keys.

    amparo industry organisation create CODE --name NAME --kind platform|isp|mobile|hosting|other [--provider CODE]
    amparo industry organisation deactivate CODE
    amparo industry key create CODE --scope reports:submit [--scope ...] [--days 365] [--name LABEL]
    amparo industry key list CODE
    amparo industry key revoke PREFIX

A new key is printed once and never stored (only its SHA-256). `--provider` links the organisation to
the service provider that preservation requests are addressed to. Every change is audited as the system.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from amparo.cases.models import ServiceProvider
from amparo.core import audit
from amparo.intake.industry import actions, keys
from amparo.intake.models import IndustryApiKey, IndustryKind, IndustryOrganisation, IndustryScope

SYSTEM = audit.Actor.system("industry_command")


def _organisation(code: str) -> IndustryOrganisation:
    organisation = IndustryOrganisation.objects.filter(code=code).first()
    if organisation is None:
        raise CommandError(
            f"No organisation has the code {code!r}; see `amparo industry organisation create`."
        )
    return organisation


class Command(BaseCommand):
    help = "Manage the organisations of the industry API and their API keys."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="area", required=True)
        org = sub.add_parser("organisation", help="Create or deactivate an organisation.")
        org_sub = org.add_subparsers(dest="action", required=True)
        create = org_sub.add_parser("create")
        create.add_argument("code")
        create.add_argument("--name", required=True)
        create.add_argument("--kind", required=True, choices=IndustryKind.values)
        create.add_argument("--provider", help="Code of the service provider preservation requests go to.")
        deactivate = org_sub.add_parser("deactivate")
        deactivate.add_argument("code")
        key = sub.add_parser("key", help="Create, list or revoke API keys.")
        key_sub = key.add_subparsers(dest="action", required=True)
        key_create = key_sub.add_parser("create")
        key_create.add_argument("code")
        key_create.add_argument("--scope", action="append", required=True, choices=IndustryScope.values)
        key_create.add_argument("--days", type=int, default=365)
        key_create.add_argument("--name", default="")
        key_list = key_sub.add_parser("list")
        key_list.add_argument("code")
        key_revoke = key_sub.add_parser("revoke")
        key_revoke.add_argument("prefix")

    def handle(self, *args: Any, area: str, action: str, **options: Any) -> None:
        try:
            getattr(self, f"_{area}_{action}")(**options)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        except PermissionDenied:  # pragma: no cover - the system may manage organisations
            raise CommandError("Not allowed.") from None

    def _organisation_create(self, code: str, name: str, kind: str, provider: str | None, **_: Any) -> None:
        service_provider = None
        if provider:
            service_provider = ServiceProvider.objects.filter(code=provider).first()
            if service_provider is None:
                raise CommandError(f"No service provider has the code {provider!r}.")
        if IndustryOrganisation.objects.filter(code=code).exists():
            raise CommandError(f"An organisation with the code {code!r} exists already.")
        organisation = actions.create_organisation(
            SYSTEM, code=code, name=name, kind=kind, service_provider=service_provider
        )
        self.stdout.write(f"Organisation {organisation.code} created.")

    def _organisation_deactivate(self, code: str, **_: Any) -> None:
        actions.set_organisation_active(SYSTEM, _organisation(code), False)
        self.stdout.write(f"Organisation {code} deactivated: its keys no longer work.")

    def _key_create(self, code: str, scope: list[str], days: int, name: str, **_: Any) -> None:
        row, key = actions.create_api_key(SYSTEM, _organisation(code), scopes=scope, name=name, days=days)
        self.stdout.write(key)
        self.stderr.write(
            f"Key {row.prefix}… for {code} ({', '.join(row.scopes)}), valid until {row.expires_at:%Y-%m-%d}. "
            "It is shown only now; give it to the organisation over a safe channel."
        )

    def _key_list(self, code: str, **_: Any) -> None:
        for row in IndustryApiKey.objects.filter(organisation=_organisation(code)).order_by("created_at"):
            expires = f"{row.expires_at:%Y-%m-%d}" if row.expires_at else "-"
            self.stdout.write(
                f"{row.prefix}  {keys.status(row):8}  {expires}  {','.join(row.scopes)}  {row.name}"
            )

    def _key_revoke(self, prefix: str, **_: Any) -> None:
        row = IndustryApiKey.objects.filter(prefix=prefix[: keys.PREFIX_LENGTH]).first()
        if row is None:
            raise CommandError("No key has this prefix; see `amparo industry key list CODE`.")
        actions.revoke_api_key(SYSTEM, row)
        self.stdout.write(f"Key {row.prefix}… revoked.")
