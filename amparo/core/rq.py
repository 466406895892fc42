"""The Redis-backed task queue (`AMPARO_TASKS_BACKEND=rq`, `REDIS_URL`; decision 0022).

django-tasks' RQ backend (django-tasks-rq over django-rq) carries the same tasks on the same two queues
(`default`, `periodic`); `amparo worker` runs an RQ worker for them with the same heartbeat and the same
clock that queues the periodic jobs (amparo.core.schedule), so `amparo serve` and the systemd units do
not change.

"Nothing acknowledged is lost" holds as with the database queue, by the same means: intake commits what
it acknowledges (the message, the encrypted web report) to the database before answering, and hands
the task to Redis only once that transaction has committed; if Redis loses the job (a crash before its
append-only file is synced) or a worker dies in the middle of it, the periodic jobs that take back web
reports and SMS whose task was lost queue it again. Redis should still run with `appendonly yes`
(docs/operations.md).
"""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings
from django.utils import timezone

RQ_BACKEND = "django_tasks_rq.RQBackend"
QUEUES = ("default", "periodic")


def rq_enabled() -> bool:
    return settings.TASKS["default"]["BACKEND"] == RQ_BACKEND


def queue_names(spec: str) -> list[str]:
    """`--queue-name` as a list: "*" for every configured queue, else comma-separated names."""
    configured = list(settings.RQ_QUEUES)
    if spec.strip() == "*":
        return configured
    names = [n.strip() for n in spec.split(",") if n.strip()]
    unknown = [n for n in names if n not in configured]
    if unknown:
        raise ValueError(f"unknown queue {unknown[0]!r}; the queues are {', '.join(configured)}")
    return names


def queue_status() -> dict[str, dict[str, Any]]:
    """Per queue: jobs waiting, age of the oldest, jobs that failed (for /metrics and /healthz)."""
    import django_rq

    now = timezone.now()
    status: dict[str, dict[str, Any]] = {}
    for name in settings.RQ_QUEUES:
        queue = django_rq.get_queue(name)
        oldest = 0.0
        first = queue.get_job_ids(0, 1)
        if first:
            job = queue.fetch_job(first[0])
            if job is not None and job.enqueued_at is not None:
                enqueued = job.enqueued_at
                if timezone.is_naive(enqueued):
                    enqueued = timezone.make_aware(enqueued, timezone.utc)
                oldest = max(0.0, (now - enqueued).total_seconds())
        status[name] = {
            "ready": queue.count,
            "oldest_ready_seconds": oldest,
            "failed": queue.failed_job_registry.count,
        }
    return status


def run_worker(
    spec: str, *, batch: bool = False, max_tasks: int | None = None, worker_class: Any = None
) -> None:
    """Run an RQ worker on the named queues with Amparo's heartbeat and periodic-job clock.

    The default worker class forks a child per task (a task that crashes takes only its child down);
    `worker_class` lets tests use rq's SimpleWorker, which runs tasks in this process."""
    import django_rq
    from django_rq.utils import reset_db_connections
    from django_tasks_rq.backend import Job

    from amparo.core import health, schedule
    from amparo.core.management.commands.worker import _beat, _schedule

    names = queue_names(spec)
    stop = threading.Event()
    health.touch_heartbeat()
    threads = [threading.Thread(target=_beat, args=(stop,), name="amparo-worker-heartbeat", daemon=True)]
    if batch:
        schedule.enqueue_due()
    else:
        threads.append(
            threading.Thread(target=_schedule, args=(stop,), name="amparo-worker-schedule", daemon=True)
        )
    for thread in threads:
        thread.start()
    reset_db_connections()  # the forked children must not share this process's connections
    worker = django_rq.get_worker(*names, job_class=Job, worker_class=worker_class)
    try:
        worker.work(burst=batch, max_jobs=max_tasks, with_scheduler=not batch)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=2)
