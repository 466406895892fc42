"""`/metrics` in the Prometheus text format, behind the monitoring token (decision 0020).

Two kinds of figures:

* **Requests**, counted by this process as they are served (`MetricsMiddleware`): a counter and a
  latency histogram per route *name* (``cases:detail``, never a path with ids in it), method and status.
  Under gunicorn's several processes, prometheus-client's multiprocess mode adds them up: the process
  manager sets ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory of its own before the web server starts
  (`amparo serve` does; the systemd unit in ``deploy/`` uses its runtime directory).
* **State**, read from the database at each scrape by the registered sources: task queues (ready tasks,
  age of the oldest, failures), audit chain lengths, the age of the last backup, and what the apps add
  through `register_source` (intake: SMS results and intake per channel; evidence: the hashing backlog;
  sync: the silence of each district node). A source that fails is left out of that scrape and logged by
  class name; the others still answer.

Nothing here carries personal data: labels are route names, queue names, channel kinds and ids, node
names and chain names.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from django.db import DatabaseError
from django.db.models import Count, Min
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from amparo.core.monitoring import monitoring_authorized

logger = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

Source = Callable[[], Iterable[Metric]]
_SOURCES: dict[str, Source] = {}


def register_source(name: str, source: Source) -> None:
    """Add a function yielding metric families, read from the database at each scrape."""
    _SOURCES[name] = source


# ---------------------------------------------------------------------------
# Requests (counted per process; summed across processes in multiprocess mode)

REQUESTS = Counter(
    "amparo_http_requests",
    "HTTP requests served, by route name, method and status.",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "amparo_http_request_duration_seconds",
    "Time to answer an HTTP request, by route name and method.",
    ["route", "method"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def route_name(request: HttpRequest) -> str:
    """The name of the URL pattern that answered (never the path: it may carry ids)."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return match.view_name or match.route or "unnamed"


class MetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        route = route_name(request)
        method = request.method if request.method in _METHODS else "other"
        REQUESTS.labels(route, method, str(response.status_code)).inc()
        LATENCY.labels(route, method).observe(time.perf_counter() - started)
        return response


def prepare_multiprocess_dir(path: Path) -> dict[str, str]:
    """Empty `path` (the counters of a previous run) and return the environment that makes the web
    server's processes share their counters there."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    for stale in path.glob("*.db"):
        stale.unlink()
    return {MULTIPROC_ENV: str(path)}


# ---------------------------------------------------------------------------
# State, read from the database


def queue_status() -> dict[str, dict[str, Any]]:
    """Per queue of django-tasks' database backend: ready tasks, age of the oldest, failed tasks.

    (Swap for `core.health`'s per-queue status when it has one.)"""
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    now = timezone.now()
    queues: dict[str, dict[str, Any]] = {}
    ready = DBTaskResult.objects.ready().order_by().values("queue_name")
    for row in ready.annotate(n=Count("id"), oldest=Min("enqueued_at")):
        queues[row["queue_name"]] = {
            "ready": row["n"],
            "oldest_ready_seconds": max(0.0, (now - row["oldest"]).total_seconds()),
            "failed": 0,
        }
    failed = DBTaskResult.objects.filter(status=TaskResultStatus.FAILED).order_by().values("queue_name")
    for row in failed.annotate(n=Count("id")):
        queues.setdefault(row["queue_name"], {"ready": 0, "oldest_ready_seconds": 0.0})["failed"] = row["n"]
    return queues


def core_metrics() -> Iterator[Metric]:
    from amparo.core import backup, health
    from amparo.core.models import AuditHead

    if health.worker_required():
        ready = GaugeMetricFamily("amparo_tasks_ready", "Tasks ready to run, per queue.", labels=["queue"])
        oldest = GaugeMetricFamily(
            "amparo_tasks_oldest_ready_seconds", "Age of the oldest ready task, per queue.", labels=["queue"]
        )
        failed = CounterMetricFamily("amparo_tasks_failed", "Tasks that failed, per queue.", labels=["queue"])
        from amparo.core import rq

        statuses = rq.queue_status() if rq.rq_enabled() else queue_status()
        for queue, status in sorted(statuses.items()):
            ready.add_metric([queue], status["ready"])
            oldest.add_metric([queue], status["oldest_ready_seconds"])
            failed.add_metric([queue], status.get("failed", 0))
        yield from (ready, oldest, failed)
        age = health.heartbeat_age()
        yield GaugeMetricFamily(
            "amparo_worker_heartbeat_age_seconds",
            "Seconds since a task worker on this machine last showed it is alive (+Inf: never).",
            value=float("inf") if age is None else age,
        )
    chains = GaugeMetricFamily("amparo_audit_chain_entries", "Entries in each audit chain.", labels=["chain"])
    for chain, count in AuditHead.objects.order_by("chain").values_list("chain", "count"):
        chains.add_metric([chain], count)
    yield chains
    age = backup.last_backup_age()
    yield GaugeMetricFamily(
        "amparo_backup_last_success_age_seconds",
        "Seconds since the last backup was written completely (+Inf: never).",
        value=float("inf") if age is None else age,
    )


register_source("core", core_metrics)


class _DatabaseCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        errors = GaugeMetricFamily(
            "amparo_metrics_source_up", "1 when a source of metrics answered this scrape.", labels=["source"]
        )
        for name, source in list(_SOURCES.items()):
            try:
                families = list(source())
            except DatabaseError as exc:
                logger.warning("metrics: source %s failed (%s)", name, type(exc).__name__)
                errors.add_metric([name], 0)
                continue
            errors.add_metric([name], 1)
            yield from families
        yield errors


def render() -> bytes:
    """Requests (summed over the web server's processes when they share a directory) and state."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        requests = CollectorRegistry()
        multiprocess.MultiProcessCollector(requests)
    else:
        from prometheus_client import REGISTRY as requests  # this process's own counters
    return generate_latest(requests) + generate_latest(_state_registry())


def _state_registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(_DatabaseCollector())
    return registry


@require_safe
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not monitoring_authorized(request):
        response = HttpResponse(
            "Unauthorized: send Authorization: Bearer <AMPARO_MONITORING_TOKEN>.\n", status=401
        )
        response["WWW-Authenticate"] = 'Bearer realm="amparo-metrics"'
        response["Content-Type"] = "text/plain; charset=utf-8"
        return response
    response = HttpResponse(render(), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
