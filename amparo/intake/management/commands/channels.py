"""`amparo channels`: list and add channels, and run the channels' periodic work.

    amparo channels list [--json]             every channel with its kind, provider and webhook URLs, and
                                              whether it can send (`problem`: the provider's refusal)
    amparo channels add --kind sms --provider africastalking --name "Linha 1458" --short-code 1458 \\
        --agency linha-fala-crianca --languages pt,en --credentials-file /run/secrets/at.json
    amparo channels deactivate <channel id>
    amparo channels rotate-secret <channel id> [--json]   a new webhook secret; prints the new callback URLs
    amparo channels allow-from <channel id> 196.201.214.0/24,… | any   accept webhooks only from these networks
    amparo channels send_due [--json]         retry outgoing SMS whose back-off has passed
    amparo channels expire_ussd_sessions [--json]   close stale USSD sessions (partial reports on consent)

Credentials are read from a JSON file (never from the command line, where other users could see
them): `{"username": "...", "api_key": "..."}` for Africa's Talking, `{"url": "...", "username": "...",
"password": "..."}` for a generic gateway. Webhook URLs use `AMPARO_PUBLIC_BASE_URL`.

The webhook URLs printed here carry the channel's webhook secret (`?token=…`): they are shown only to the
operator running the command (on its standard output), never logged or audited. Give them to the
provider, and run `rotate-secret` if one may have leaked.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse
from django.utils.translation import gettext as _

from amparo.core import audit
from amparo.core.models import Agency
from amparo.intake import conf
from amparo.intake.models import Channel, ChannelKind, Provider
from amparo.intake.providers import (
    channel_problem,
    create_channel,
    rotate_webhook_secret,
    set_channel_active,
    set_webhook_allow,
)
from amparo.intake.webhooks import CHANNEL_CACHE_SECONDS, webhook_query

SYSTEM = audit.Actor.system("cli:channels")


def webhook_urls(channel: Channel) -> dict[str, str]:
    """The full callback URLs, secret included (empty for a channel without a secret: it accepts none)."""
    if not channel.webhook_secret:
        return {}
    base = conf.public_base_url()
    query = webhook_query(channel)
    if channel.kind == ChannelKind.SMS:
        return {
            "sms_inbound": base + reverse("intake:sms_inbound", args=[channel.pk]) + query,
            "sms_delivery": base + reverse("intake:sms_delivery", args=[channel.pk]) + query,
        }
    if channel.kind == ChannelKind.USSD:
        return {"ussd": base + reverse("intake:ussd", args=[channel.pk]) + query}
    return {}


def _needs_webhooks(channel: Channel) -> bool:
    return channel.kind in (ChannelKind.SMS, ChannelKind.USSD)


def describe(channel: Channel) -> dict[str, Any]:
    return {
        "id": str(channel.pk),
        "name": channel.name,
        "kind": channel.kind,
        "provider": channel.provider,
        "short_code": channel.short_code,
        "routing_agency": channel.routing_agency.code if channel.routing_agency_id else None,
        "languages": list(channel.languages),
        "active": channel.active,
        "has_credentials": bool(channel.credentials),
        "has_webhook_secret": bool(channel.webhook_secret),
        "webhook_allow": list(channel.webhook_allow),
        "webhooks": webhook_urls(channel),
        "problem": channel_problem(channel) if channel.kind == ChannelKind.SMS else "",
    }


class Command(BaseCommand):
    help = "List and add reporting channels (SMS, USSD, web, helpline, desk) and run their periodic work."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        listing = sub.add_parser("list", help="Every channel with its kind, provider and webhook URLs.")
        listing.add_argument("--json", action="store_true", dest="as_json", help="Print JSON on stdout.")
        add = sub.add_parser("add", help="Create a channel and print its webhook URLs.")
        add.add_argument("--kind", required=True, choices=ChannelKind.values)
        add.add_argument("--name", required=True)
        add.add_argument("--provider", default="", choices=[p for p in Provider.values if p])
        add.add_argument("--short-code", default="")
        add.add_argument("--agency", default="linha-fala-crianca", help="Code of the routing agency.")
        add.add_argument("--languages", default="pt,en", help="Comma-separated language codes offered.")
        add.add_argument("--credentials-file", type=Path, help="JSON file with the provider credentials.")
        add.add_argument("--json", action="store_true", dest="as_json")
        deactivate = sub.add_parser("deactivate", help="Stop accepting messages on a channel.")
        deactivate.add_argument("channel_id")
        rotate = sub.add_parser(
            "rotate-secret", help="Give a channel a new webhook secret and print its new callback URLs."
        )
        rotate.add_argument("channel_id")
        rotate.add_argument("--json", action="store_true", dest="as_json")
        allow = sub.add_parser(
            "allow-from", help="Accept a channel's webhooks only from these networks (CIDRs), or 'any'."
        )
        allow.add_argument("channel_id")
        allow.add_argument("networks", help="Comma-separated CIDRs, e.g. 196.201.214.0/24, or 'any'.")
        for name, text in (
            ("send_due", "Send outgoing SMS whose retry is due."),
            (
                "expire_ussd_sessions",
                "Close stale USSD sessions, keeping partial reports where call-back was consented.",
            ),
        ):
            p = sub.add_parser(name, help=text)
            p.add_argument("--json", action="store_true", dest="as_json")

    def handle(self, *args: Any, subcommand: str, **options: Any) -> None:
        getattr(self, f"do_{subcommand.replace('-', '_')}")(**options)

    def _json(self, value: Any) -> None:
        self.stdout.write(json.dumps(value, indent=2, ensure_ascii=False))

    def do_list(self, *, as_json: bool, **_options: Any) -> None:
        channels = [describe(c) for c in Channel.objects.select_related("routing_agency")]
        if as_json:
            self._json({"channels": channels})
            return
        if not channels:
            self.stdout.write(
                "No channels yet. Add one with: amparo channels add --kind sms --provider log --name ..."
            )
            return
        header = f"{'kind':<9}{'provider':<16}{'short code':<12}{'active':<8}{'agency':<22}name"
        self.stdout.write(header)
        for c in channels:
            self.stdout.write(
                f"{c['kind']:<9}{c['provider'] or '-':<16}{c['short_code'] or '-':<12}"
                f"{'yes' if c['active'] else 'no':<8}{c['routing_agency'] or '-':<22}{c['name']}"
            )
            for label, url in c["webhooks"].items():
                self.stdout.write(f"    {label}: {url}")
            if c["kind"] in (ChannelKind.SMS, ChannelKind.USSD) and not c["has_webhook_secret"]:
                self.stdout.write(
                    f"    no webhook secret: it accepts no webhook. Run `amparo channels rotate-secret {c['id']}` "
                    "and give the provider the new URLs."
                )
            if c["webhook_allow"]:
                self.stdout.write(f"    webhooks only from: {', '.join(c['webhook_allow'])}")
            if c["problem"]:
                self.stdout.write(
                    "    "
                    + _(
                        "NOT SENDING: the provider refused this channel's configuration (%(problem)s). Check the sender id (short code) and the account with the provider, then send again."
                    )
                    % {"problem": c["problem"]}
                )

    def do_add(
        self,
        *,
        kind: str,
        name: str,
        provider: str,
        short_code: str,
        agency: str,
        languages: str,
        credentials_file: Path | None,
        as_json: bool,
        **_options: Any,
    ) -> None:
        routing = Agency.objects.filter(code=agency, active=True).first()
        if routing is None:
            raise CommandError(
                f"There is no active agency with code {agency!r}; list them in the admin or seed the reference data."
            )
        credentials = None
        if credentials_file is not None:
            try:
                credentials = json.loads(credentials_file.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise CommandError(
                    f"Cannot read the credentials file {credentials_file}: {exc}. It must hold a JSON object."
                ) from None
            if not isinstance(credentials, dict):
                raise CommandError("The credentials file must hold a JSON object.")
        try:
            channel = create_channel(
                SYSTEM,
                name=name,
                kind=kind,
                provider=provider,
                short_code=short_code,
                credentials={str(k): str(v) for k, v in credentials.items()} if credentials else None,
                routing_agency=routing,
                languages=[code.strip() for code in languages.split(",") if code.strip()],
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        if as_json:
            self._json(describe(channel))
            return
        self.stdout.write(f"Channel {channel.name} created ({channel.pk}).")
        for label, url in webhook_urls(channel).items():
            self.stdout.write(f"    {label}: {url}")

    @staticmethod
    def _channel(channel_id: str) -> Channel:
        try:
            channel = Channel.objects.filter(pk=channel_id).first()
        except ValidationError:
            channel = None
        if channel is None:
            raise CommandError("No channel has that id; `amparo channels list` shows them.")
        return channel

    def do_rotate_secret(self, *, channel_id: str, as_json: bool, **_options: Any) -> None:
        channel = self._channel(channel_id)
        if not _needs_webhooks(channel):
            raise CommandError("Only SMS and USSD channels receive webhooks.")
        rotate_webhook_secret(SYSTEM, channel)
        if as_json:
            self._json(describe(channel))
            return
        self.stdout.write(
            f"Channel {channel.name} has a new webhook secret; the old URLs stop working within "
            f"{int(CHANNEL_CACHE_SECONDS)} seconds. Give the provider these:"
        )
        for label, url in webhook_urls(channel).items():
            self.stdout.write(f"    {label}: {url}")

    def do_allow_from(self, *, channel_id: str, networks: str, **_options: Any) -> None:
        channel = self._channel(channel_id)
        cidrs = [] if networks.strip().lower() == "any" else [n for n in networks.split(",") if n.strip()]
        try:
            allowed = set_webhook_allow(SYSTEM, channel, cidrs)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        where = ", ".join(allowed) if allowed else "any address"
        self.stdout.write(f"Channel {channel.name} accepts webhooks from {where}.")

    def do_deactivate(self, *, channel_id: str, **_options: Any) -> None:
        channel = self._channel(channel_id)
        set_channel_active(SYSTEM, channel, False)
        self.stdout.write(f"Channel {channel.name} deactivated.")

    def do_send_due(self, *, as_json: bool, **_options: Any) -> None:
        from amparo.intake.tasks import send_due_sms

        count = send_due_sms()
        if as_json:
            self._json({"attempted": count})
        else:
            self.stdout.write(f"{count} outgoing SMS attempted.")

    def do_expire_ussd_sessions(self, *, as_json: bool, **_options: Any) -> None:
        from amparo.intake.ussd import expire_stale_sessions

        count = expire_stale_sessions()
        if as_json:
            self._json({"closed": count})
        else:
            self.stdout.write(f"{count} stale USSD sessions closed.")
        sys.stdout.flush()
