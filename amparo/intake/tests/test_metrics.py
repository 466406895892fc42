"""Intake's figures in `/metrics`: cases opened per channel (in all and in the last hour) and outgoing SMS
per channel and status."""

from __future__ import annotations

import pytest
from django.test import override_settings

from amparo.core.tests.metrics_support import TOKEN, scrape, value
from amparo.intake.models import Channel, OutboundMessage


@pytest.mark.django_db
@override_settings(AMPARO_MONITORING_TOKEN=TOKEN)
def test_cases_per_channel_and_sms_results_per_channel(client, make_case):
    make_case(channel="sms")
    make_case(channel="sms")
    make_case(channel="helpline")
    channel = Channel.objects.create(name="SMS test", kind="sms")
    for status in ("delivered", "delivered", "failed"):
        OutboundMessage.objects.create(
            channel=channel, recipient="+258840000001", text="Obrigado.", status=status
        )
    found = scrape(client)
    assert value(found, "amparo_intake_cases_total", channel="sms") == 2
    assert value(found, "amparo_intake_cases_total", channel="helpline") == 1
    assert value(found, "amparo_intake_cases_last_hour", channel="sms") == 2
    sms = {"channel": "sms", "channel_id": str(channel.pk)}
    assert value(found, "amparo_sms_outbound_total", **sms, status="delivered") == 2
    assert value(found, "amparo_sms_outbound_total", **sms, status="failed") == 1
    text = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    assert "+258840000001" not in text
