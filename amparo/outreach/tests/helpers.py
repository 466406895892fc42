"""Shared pieces of the outreach tests: an SMS channel talking to a local server playing Africa's
Talking, a phone posting to the webhook, and approved starter content."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.test import Client
from django.utils import timezone

from amparo.core import audit
from amparo.core.models import Agency
from amparo.intake.models import Channel
from amparo.intake.providers import create_channel
from amparo.intake.webhooks import webhook_query

PHONE = "+258841234567"
MAPUTO = zoneinfo.ZoneInfo("Africa/Maputo")
SYSTEM = audit.Actor.system("tests")


def make_sms_channel(fake_url: str) -> Channel:
    return create_channel(
        SYSTEM,
        name="Linha 1458",
        kind="sms",
        provider="africastalking",
        short_code="1458",
        credentials={"username": "amparo", "api_key": "test-key"},
        routing_agency=Agency.objects.get(code="linha-fala-crianca"),
        languages=["pt", "en", "vmw", "ts", "seh", "ny"],
    )


class Phone:
    counter = 0

    def __init__(self, client: Client, channel: Channel, capture, number: str = PHONE) -> None:  # noqa: ANN001
        self.client, self.channel, self.capture, self.number = client, channel, capture, number

    def send(self, text: str, *, message_id: str | None = None) -> int:
        Phone.counter += 1
        form = {
            "from": self.number,
            "to": "1458",
            "text": text,
            "date": timezone.now().strftime("%Y-%m-%d %H:%M:%S.%f"),
            "id": message_id or f"ATXid_o{Phone.counter}",
        }
        with self.capture(execute=True):
            return self.client.post(
                f"/channels/{self.channel.pk}/sms/inbound{webhook_query(self.channel)}", form
            ).status_code


def maputo(days_ahead: int, hour: int, minute: int = 0) -> dt.datetime:
    """A moment `days_ahead` days from today at hour:minute Maputo time (a controllable clock)."""
    today = timezone.localdate()
    return dt.datetime.combine(today + dt.timedelta(days=days_ahead), dt.time(hour, minute), tzinfo=MAPUTO)


def approve_all(approver, slugs: list[str] | None = None) -> None:  # noqa: ANN001
    from amparo.outreach import actions
    from amparo.outreach.models import ContentStatus, Translation

    qs = Translation.objects.filter(status=ContentStatus.IN_REVIEW)
    if slugs is not None:
        qs = qs.filter(item__slug__in=slugs)
    for tr in qs:
        actions.approve(approver, tr)
