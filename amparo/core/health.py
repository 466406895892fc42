"""`/healthz` for load balancers and monitoring, and the state of the task queues.

Anyone gets `{"status": "ok"}` (200) or `{"status": "error"}` (503) and nothing more. The details (the
database, each queue's worker and backlog, whether acknowledged reports are waiting too long, the
version) need the monitoring token (`Authorization: Bearer <AMPARO_MONITORING_TOKEN>`,
amparo.core.monitoring). Neither carries personal data, secrets, host names or error messages (those go
to the log, by class only).

Healthy means: the database answers, and, with the database task queue, every queue Amparo uses
(`QUEUES`) has a live worker (a heartbeat row younger than `taskqueue.HEARTBEAT_MAX_AGE`; each
`amparo worker` keeps one, so a dead default worker shows even while the periodic one lives), no queue's
oldest ready task is older than `AMPARO_HEALTH_MAX_QUEUE_AGE`, and no registered backlog check
(`register_backlog`: intake's acknowledged reports still without their case) is older than it either.

`queue_status()` is the per-queue figure (heartbeat age, depth, age of the oldest ready task) that
`/metrics` reuses.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Case, Count, F, Min, When
from django.db.models.functions import Greatest
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_safe

from amparo.core.monitoring import monitoring_authorized
from amparo.core.schedule import PERIODIC_QUEUE

logger = logging.getLogger(__name__)

DEFAULT_QUEUE = "default"
QUEUES = (DEFAULT_QUEUE, PERIODIC_QUEUE)  # the queues `amparo serve` runs a worker for

# name -> a function answering, for a threshold, whether something acknowledged has waited longer.
_backlogs: dict[str, Callable[[dt.timedelta], bool]] = {}


def register_backlog(name: str, overdue: Callable[[dt.timedelta], bool]) -> None:
    """Register a check of acknowledged work waiting too long (an app above core, from its ready())."""
    _backlogs[name] = overdue


# The RQ backend's workers (amparo.core.rq, issue 19) say they are alive by touching a file in the data
# directory, as every worker did before the per-worker rows; /metrics reads its age too.
HEARTBEAT_FILE = "worker.heartbeat"
FILE_HEARTBEAT_MAX_AGE = 60  # seconds after which the RQ workers count as gone


def heartbeat_path() -> Path:
    return Path(settings.DATA_DIR) / HEARTBEAT_FILE


def touch_heartbeat() -> None:
    heartbeat_path().touch(mode=0o600, exist_ok=True)


def heartbeat_age() -> float | None:
    """Seconds since an RQ worker last touched the heartbeat file, or None if none ever did."""
    try:
        return max(0.0, time.time() - heartbeat_path().stat().st_mtime)
    except FileNotFoundError:
        return None


def max_queue_age() -> dt.timedelta:
    return dt.timedelta(seconds=settings.AMPARO_HEALTH_MAX_QUEUE_AGE)


def worker_required() -> bool:
    """Only the database and RQ backends need a worker; the immediate and dummy ones run (or drop) tasks inline."""
    from django_tasks import task_backends
    from django_tasks_db.backend import DatabaseBackend

    from amparo.core.rq import rq_enabled

    return isinstance(task_backends["default"], DatabaseBackend) or rq_enabled()


def queue_status(now: dt.datetime | None = None) -> dict[str, dict[str, Any]]:
    """Per queue (Amparo's and any other holding tasks): `heartbeat_age_seconds` of its freshest worker
    (None: no worker has ever said it serves it), `workers` alive, `ready_tasks`, `running_tasks` and
    `oldest_ready_seconds` (since the oldest ready task became runnable; None when none is ready).
    Raises DatabaseError when the database does not answer."""
    from django_tasks_db.models import DBTaskResult, get_date_max

    from amparo.core.models import WorkerHeartbeat
    from amparo.core.taskqueue import HEARTBEAT_MAX_AGE

    now = now or timezone.now()
    ready_since = Case(
        When(run_after=get_date_max(), then=F("enqueued_at")),
        default=Greatest(F("enqueued_at"), F("run_after")),
    )
    ready = (
        DBTaskResult.objects.ready()
        .order_by()
        .values("queue_name")
        .annotate(depth=Count("id"), oldest=Min(ready_since))
    )
    running = DBTaskResult.objects.running().order_by().values("queue_name").annotate(n=Count("id"))
    running_by_queue = {row["queue_name"]: row["n"] for row in running}
    ready_by_queue = {row["queue_name"]: row for row in ready}
    heartbeats = list(WorkerHeartbeat.objects.all())
    status: dict[str, dict[str, Any]] = {}
    for queue in sorted({*QUEUES, *ready_by_queue, *running_by_queue}):
        ages = [max(0.0, (now - w.seen_at).total_seconds()) for w in heartbeats if w.serves(queue)]
        row = ready_by_queue.get(queue)
        oldest = row["oldest"] if row else None
        status[queue] = {
            "heartbeat_age_seconds": round(min(ages)) if ages else None,
            "workers": sum(age <= HEARTBEAT_MAX_AGE for age in ages),
            "ready_tasks": row["depth"] if row else 0,
            "running_tasks": running_by_queue.get(queue, 0),
            "oldest_ready_seconds": max(0, round((now - oldest).total_seconds())) if oldest else None,
        }
    return status


def queues_health(now: dt.datetime | None = None) -> dict[str, Any]:
    """Each queue's status with its verdict (`ok`), and `ok` for all of them."""
    limit = max_queue_age().total_seconds()
    required = worker_required()
    if not required:
        return {"ok": True, "required": False, "queues": {}}
    from amparo.core import rq

    if rq.rq_enabled():  # RQ: one heartbeat file for its workers, queue ages from Redis
        age = heartbeat_age()
        limit_ok = all(q["oldest_ready_seconds"] <= limit for q in rq.queue_status().values())
        alive = age is not None and age <= FILE_HEARTBEAT_MAX_AGE
        return {"ok": alive and limit_ok, "required": True, "queues": {}}
    queues = queue_status(now)
    for name, queue in queues.items():
        fresh = queue["oldest_ready_seconds"] is None or queue["oldest_ready_seconds"] <= limit
        served = queue["workers"] > 0 or name not in QUEUES  # another app's queue: only its age counts
        queue["ok"] = fresh and served
    return {"ok": all(q["ok"] for q in queues.values()), "required": True, "queues": queues}


def backlog_health() -> dict[str, bool]:
    limit = max_queue_age()
    return {name: not overdue(limit) for name, overdue in sorted(_backlogs.items())}


def version() -> str:
    try:
        return metadata.version("amparo")
    except metadata.PackageNotFoundError:
        return "unknown"


def database_status() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        logger.error("healthz: the database does not answer (%s)", type(exc).__name__)
        return {"ok": False, "vendor": connection.vendor}
    return {"ok": True, "vendor": connection.vendor}


def check() -> dict[str, Any]:
    """The whole verdict with its details (what `/healthz` shows the monitoring token's holder)."""
    database = database_status()
    body: dict[str, Any] = {"status": "error", "database": database, "version": version()}
    if not database["ok"]:
        return body
    try:
        workers = queues_health()
        backlog = backlog_health()
    except DatabaseError as exc:
        logger.error("healthz: cannot read the task queues (%s)", type(exc).__name__)
        return body
    body["worker"] = {"ok": workers["ok"], "required": workers["required"]}
    body["queues"] = workers["queues"]
    body["backlog"] = backlog
    if workers["ok"] and all(backlog.values()):
        body["status"] = "ok"
    return body


@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    body = check()
    status = 200 if body["status"] == "ok" else 503
    if not monitoring_authorized(request):
        body = {"status": body["status"]}
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    return response
