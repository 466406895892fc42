"""Intake's figures for `/metrics` (amparo.core.metrics): SMS send results and intake per channel."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.db.models import Count
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from amparo.cases.models import Case
from amparo.intake.models import OutboundMessage


def intake_metrics() -> Iterator[Metric]:
    sms = CounterMetricFamily(
        "amparo_sms_outbound",
        "Outgoing SMS by channel (its kind and id) and status: queued, sent, delivered or failed.",
        labels=["channel", "channel_id", "status"],
    )
    rows = OutboundMessage.objects.order_by().values("channel__kind", "channel_id", "status")
    for row in rows.annotate(n=Count("id")).order_by("channel_id", "status"):
        sms.add_metric([row["channel__kind"], str(row["channel_id"]), row["status"]], row["n"])
    yield sms

    total = CounterMetricFamily(
        "amparo_intake_cases", "Cases opened, by channel of origin.", labels=["channel"]
    )
    for channel, n in (
        Case.objects.order_by().values_list("channel").annotate(n=Count("pk")).order_by("channel")
    ):
        total.add_metric([channel], n)
    yield total
    hour = GaugeMetricFamily(
        "amparo_intake_cases_last_hour",
        "Cases opened in the last hour, by channel of origin.",
        labels=["channel"],
    )
    since = timezone.now() - dt.timedelta(hours=1)
    recent = Case.objects.filter(received_at__gte=since).order_by().values_list("channel")
    for channel, n in recent.annotate(n=Count("pk")).order_by("channel"):
        hour.add_metric([channel], n)
    yield hour
