"""The vault's figures for `/metrics` (amparo.core.metrics): the hashing backlog."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily, Metric

from amparo.evidence.models import EvidenceItem


def evidence_metrics() -> Iterator[Metric]:
    hashing = GaugeMetricFamily(
        "amparo_evidence_hashing",
        "Live evidence items by hashing state (pending is the backlog).",
        labels=["state"],
    )
    live = EvidenceItem.objects.filter(destroyed_at__isnull=True).order_by().values_list("hashing")
    for state, n in live.annotate(n=Count("pk")).order_by("hashing"):
        hashing.add_metric([state], n)
    yield hashing
