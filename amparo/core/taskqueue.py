"""The database task queue kept honest: worker heartbeats, tasks taken back from dead workers, and a
worker loop that outlives a database outage.

django-tasks-db marks a task RUNNING when a worker claims it and never looks at it again: a worker killed
in the middle (kill -9, out of memory, a power cut) leaves it RUNNING for ever, and its report is never
filed. So:

- Every `amparo worker` has a row in `core.WorkerHeartbeat` (a random id, its queues), refreshed every
  `HEARTBEAT_INTERVAL` seconds (`beat`). A worker whose row is older than `HEARTBEAT_MAX_AGE` is gone.
- `reclaim_orphaned()` puts back to READY every task RUNNING for longer than `HEARTBEAT_MAX_AGE` whose
  worker (the last id in its `worker_ids`) has no fresh heartbeat; each worker calls it every few seconds,
  so any live worker takes back a dead one's tasks. A task that has already been claimed `MAX_CLAIMS`
  times (it keeps killing its worker) is marked FAILED instead, with `WorkerLost` as its error. Our tasks
  are idempotent (a repeated filing, SMS step or send does nothing), which is what makes re-running safe.
- `ResilientWorker` is django-tasks-db's worker with two changes: a database error (the server restarted,
  the network dropped) no longer ends the process: it logs once per outage, backs off, reconnects and
  carries on; and a task that failed only because the database went away goes back to the queue instead
  of being marked failed.

See docs/decisions/0032-serve-restarts-its-children.md.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from django.db import DatabaseError, InterfaceError, OperationalError, close_old_connections, connections
from django.utils import timezone
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult

from amparo.core.models import WorkerHeartbeat

logger = logging.getLogger(__name__)

HEARTBEAT_INTERVAL = 5  # seconds between a worker's heartbeats
HEARTBEAT_MAX_AGE = 30  # seconds after which a worker counts as gone and its running tasks are taken back
MAX_CLAIMS = 5  # a task claimed this often without finishing is failed rather than run again
REQUEUE_DELAY = dt.timedelta(seconds=5)  # a task interrupted by a database outage waits this long
FORGET_WORKERS_AFTER = dt.timedelta(days=1)  # heartbeat rows of long-gone workers are deleted
BACKOFF_FIRST = 0.5  # seconds before the first reconnection attempt, doubled up to BACKOFF_MAX
BACKOFF_MAX = 15.0

# Errors that mean "the database is not reachable right now", not "this task is wrong".
CONNECTION_ERRORS = (OperationalError, InterfaceError)


class WorkerLost(Exception):
    """The error recorded on a task whose worker stopped under it once too often."""


def beat(worker_id: str, queues: str, started_at: dt.datetime) -> None:
    """Say that worker `worker_id` (serving `queues`) is alive now."""
    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={"queues": queues, "pid": os.getpid(), "started_at": started_at, "seen_at": now},
    )


def forget(worker_id: str) -> None:
    """A worker stopping cleanly removes its heartbeat: its queue is not served any more."""
    WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()


def live_workers(now: dt.datetime | None = None) -> list[WorkerHeartbeat]:
    now = now or timezone.now()
    return list(WorkerHeartbeat.objects.filter(seen_at__gte=now - dt.timedelta(seconds=HEARTBEAT_MAX_AGE)))


def reclaim_orphaned(now: dt.datetime | None = None) -> dict[str, int]:
    """Take back the tasks of dead workers (see the module's docstring); return how many were requeued
    and how many failed for good."""
    now = now or timezone.now()
    alive = {w.worker_id for w in live_workers(now)}
    cutoff = now - dt.timedelta(seconds=HEARTBEAT_MAX_AGE)
    counts = {"requeued": 0, "failed": 0}
    stranded = DBTaskResult.objects.running().filter(started_at__lt=cutoff).order_by()
    for task_id, task_path, queue, started_at, worker_ids in stranded.values_list(
        "id", "task_path", "queue_name", "started_at", "worker_ids"
    ):
        if worker_ids and worker_ids[-1] in alive:
            continue
        # Conditional on the row being as we saw it: of two workers reclaiming at once, one wins.
        same = DBTaskResult.objects.filter(pk=task_id, status="RUNNING", started_at=started_at)
        if len(worker_ids) >= MAX_CLAIMS:
            if same.update(
                status="FAILED",
                finished_at=now,
                exception_class_path=f"{WorkerLost.__module__}.{WorkerLost.__qualname__}",
                traceback=f"Its worker stopped under it {len(worker_ids)} times; not run again.\n",
            ):
                counts["failed"] += 1
                logger.error(
                    "taskqueue.task_failed_for_good task=%s path=%s queue=%s claims=%d",
                    task_id, task_path, queue, len(worker_ids),
                )  # fmt: skip
        elif same.update(status="READY", started_at=None):
            counts["requeued"] += 1
            logger.warning(
                "taskqueue.task_taken_back task=%s path=%s queue=%s (its worker stopped)",
                task_id,
                task_path,
                queue,
            )
    WorkerHeartbeat.objects.filter(seen_at__lt=now - FORGET_WORKERS_AFTER).delete()
    return counts


def requeue(task_id: Any) -> bool:
    """Put a RUNNING task back in its queue, to run again after `REQUEUE_DELAY`."""
    return bool(
        DBTaskResult.objects.filter(pk=task_id, status="RUNNING").update(
            status="READY", started_at=None, run_after=timezone.now() + REQUEUE_DELAY
        )
    )


def database_reachable(alias: str = "default") -> bool:
    """Open (or check) a connection; False, with the connection closed, when the database does not answer."""
    conn = connections[alias]
    try:
        if conn.connection is not None and not conn.is_usable():
            conn.close()
        conn.ensure_connection()
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        with contextlib.suppress(DatabaseError):
            conn.close()
        return False
    return True


class Outage:
    """Logs a database outage once when it starts and once when it ends (not once per attempt), and
    says how long to wait before the next attempt (exponential back-off)."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.since: float | None = None
        self.delay = BACKOFF_FIRST

    def failed(self, exc: BaseException) -> float:
        if self.since is None:
            self.since = time.monotonic()
            logger.warning(
                "%s: the database is unreachable (%s); retrying with back-off until it answers",
                self.what, type(exc).__name__,
            )  # fmt: skip
            self.delay = BACKOFF_FIRST
        else:
            self.delay = min(self.delay * 2, BACKOFF_MAX)
        return self.delay

    def recovered(self) -> None:
        if self.since is not None:
            logger.warning(
                "%s: the database answers again after %.0f s", self.what, time.monotonic() - self.since
            )
            self.since = None


def wait_for_database(
    what: str, *, stop: Callable[[], bool] = lambda: False, sleep: Callable[[float], Any] = time.sleep
) -> bool:
    """Block until the database answers (True) or `stop()` says to give up (False)."""
    outage = Outage(what)
    while not stop():
        if database_reachable():
            outage.recovered()
            return True
        outage.failed(OperationalError("unreachable"))
        sleep(outage.delay)
    return False


class ResilientWorker(db_worker.Worker):
    """django-tasks-db's worker, surviving database outages (see the module's docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.interrupted: Any = None  # a task whose run a database outage cut short, still RUNNING
        self.outage = Outage(f"worker {self.worker_id[:8]}")
        self.stopping = threading.Event()

    def shutdown(self, signum: int, frame: Any) -> None:
        self.stopping.set()
        super().shutdown(signum, frame)

    def run(self) -> None:
        while self.running:
            try:
                if self.interrupted is not None:
                    requeue(self.interrupted)
                    self.interrupted = None
                super().run()
                return  # batch done, or --max-tasks reached
            except CONNECTION_ERRORS as exc:
                self._close_connections()
                delay = self.outage.failed(exc)
                self.startup_delay = False
                self._sleep(delay)
                while self.running and not database_reachable():
                    self._sleep(self.outage.failed(exc))
                self.outage.recovered()

    def run_task(self, db_task_result: DBTaskResult) -> None:
        # django-tasks-db marks a task failed whatever the error; one that failed because the database
        # went away is put back instead (bounded by MAX_CLAIMS like any other retry).
        mark_failed = db_task_result.set_failed

        def set_failed(exc: BaseException) -> None:
            if isinstance(exc, CONNECTION_ERRORS) and len(db_task_result.worker_ids) < MAX_CLAIMS:
                self.interrupted = db_task_result.pk
                self._close_connections()
                if requeue(db_task_result.pk):
                    self.interrupted = None
                    logger.warning(
                        "taskqueue.task_requeued task=%s path=%s (the database went away under it)",
                        db_task_result.pk, db_task_result.task_path,
                    )  # fmt: skip
                return
            mark_failed(exc)

        db_task_result.set_failed = set_failed  # type: ignore[method-assign]
        super().run_task(db_task_result)

    def _sleep(self, seconds: float) -> None:
        self.stopping.wait(seconds)

    @staticmethod
    def _close_connections() -> None:
        for conn in connections.all(initialized_only=True):
            with contextlib.suppress(DatabaseError):
                conn.close()
        close_old_connections()
