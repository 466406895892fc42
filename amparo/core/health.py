"""`/healthz` for load balancers and monitoring, and the task worker's heartbeat.

The answer says whether the database answers and whether a task worker is alive; it carries no
personal data, no secrets, no host names and no error messages (those go to the log, by class only).

Worker liveness: `amparo worker` touches ``DATA_DIR/worker.heartbeat`` every few seconds from a
background thread; a heartbeat younger than `HEARTBEAT_MAX_AGE` seconds means a worker process is
running on this machine (as with `amparo serve`). The queue itself (ready tasks, age of the oldest) comes
from django-tasks-db's table, so a worker that is alive but stuck, or one running on another machine, shows
up there: a growing `oldest_ready_seconds` is the signal to alert on.
"""

from __future__ import annotations

import logging
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)

HEARTBEAT_FILE = "worker.heartbeat"
HEARTBEAT_INTERVAL = 10  # seconds between touches by `amparo worker`
HEARTBEAT_MAX_AGE = 60  # seconds after which the worker counts as gone


def heartbeat_path() -> Path:
    return Path(settings.DATA_DIR) / HEARTBEAT_FILE


def touch_heartbeat() -> None:
    heartbeat_path().touch(mode=0o600, exist_ok=True)


def heartbeat_age() -> float | None:
    """Seconds since a worker last touched the heartbeat, or None if none ever did."""
    try:
        return max(0.0, time.time() - heartbeat_path().stat().st_mtime)
    except FileNotFoundError:
        return None


def worker_required() -> bool:
    """Only the database and RQ backends need a worker; the immediate and dummy ones run (or drop) tasks inline."""
    from django_tasks import task_backends
    from django_tasks_db.backend import DatabaseBackend

    from amparo.core.rq import rq_enabled

    return isinstance(task_backends["default"], DatabaseBackend) or rq_enabled()


def worker_status() -> dict[str, Any]:
    from django_tasks_db.models import DBTaskResult

    age = heartbeat_age()
    required = worker_required()
    status: dict[str, Any] = {
        "ok": (not required) or (age is not None and age <= HEARTBEAT_MAX_AGE),
        "required": required,
        "last_seen_seconds": None if age is None else round(age),
        "ready_tasks": None,
        "oldest_ready_seconds": None,
    }
    try:
        ready = DBTaskResult.objects.ready().order_by()
        status["ready_tasks"] = ready.count()
        oldest = ready.order_by("enqueued_at").values_list("enqueued_at", flat=True).first()
    except DatabaseError as exc:
        logger.warning("healthz: cannot read the task queue (%s)", type(exc).__name__)
        status["ok"] = False
        return status
    if oldest is not None:
        status["oldest_ready_seconds"] = max(0, round((timezone.now() - oldest).total_seconds()))
    return status


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


@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    database = database_status()
    body = {
        "status": "ok" if database["ok"] else "error",
        "database": database,
        "worker": worker_status(),
        "version": version(),
    }
    response = JsonResponse(body, status=200 if database["ok"] else 503)
    response["Cache-Control"] = "no-store"
    return response
