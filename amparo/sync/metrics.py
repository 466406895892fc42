"""Synchronisation's figures for `/metrics` (amparo.core.metrics): how long each district node has been
silent (on the national server), or how long since this node last synchronised (on a district node)."""

from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric

from amparo.sync.models import Node, NodeState


def sync_metrics() -> Iterator[Metric]:
    now = timezone.now()
    if settings.NODE_ROLE == "district":
        state = NodeState.objects.filter(pk=1).values_list("last_success_at", flat=True).first()
        yield GaugeMetricFamily(
            "amparo_sync_last_success_age_seconds",
            "Seconds since this district node last synchronised with the national server (+Inf: never).",
            value=float("inf") if state is None else (now - state).total_seconds(),
        )
        return
    silent = GaugeMetricFamily(
        "amparo_sync_node_silence_seconds",
        "Seconds since each active district node last reached the national server (+Inf: never).",
        labels=["node", "district"],
    )
    for name, district, seen in Node.objects.filter(revoked_at__isnull=True).values_list(
        "name", "district_id", "last_seen_at"
    ):
        silent.add_metric([name, district], float("inf") if seen is None else (now - seen).total_seconds())
    yield silent
