"""`amparo worker`: run the background task worker (django-tasks-db's, made to outlive database outages:
amparo.core.taskqueue.ResilientWorker) with Amparo's defaults, keep its heartbeat (a row per worker, read
by `/healthz` per queue), take back tasks left RUNNING by dead workers, and queue the periodic jobs when
they are due (amparo.core.schedule). A background thread does the last two every SCHEDULE_INTERVAL
seconds (`--batch` does them once before running the queue), so periodic jobs run between tasks.

Started while the database is down, it waits for it (logging once) instead of exiting. SIGINT or SIGTERM
stops it gracefully: the task under way finishes first (a second signal aborts it).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connection
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks_db.compat import DEFAULT_TASK_BACKEND_ALIAS

from amparo.core import health, schedule, taskqueue

logger = logging.getLogger(__name__)

SCHEDULE_INTERVAL = 10  # seconds between checks for due periodic jobs and for tasks of dead workers


def _beat(
    stop: threading.Event, worker_id: str | None = None, queues: str = "*", started: Any = None
) -> None:
    """Keep this worker's heartbeat row fresh; without a worker id (the RQ worker, amparo.core.rq), touch
    the heartbeat file instead."""
    while not stop.wait(taskqueue.HEARTBEAT_INTERVAL):
        if worker_id is None:
            try:
                health.touch_heartbeat()
            except OSError as exc:  # a full or read-only disk must not stop the tasks
                logger.warning("cannot touch the worker heartbeat (%s)", type(exc).__name__)
            continue
        if stop.is_set():  # the worker is stopping (its row is about to be removed): beat no more
            break
        try:
            taskqueue.beat(worker_id, queues, started)
        except DatabaseError as exc:  # an outage: the worker loop logs it; the next beat tries again
            logger.debug("cannot record the worker heartbeat (%s)", type(exc).__name__)
        except Exception as exc:  # noqa: BLE001  (a beat racing the worker's stop must not raise in its thread)
            logger.warning("cannot record the worker heartbeat (%s)", type(exc).__name__)
        finally:
            connection.close()  # this thread's own connection


def queue_due_jobs() -> None:
    try:
        taskqueue.reclaim_orphaned()
        schedule.enqueue_due()
    except DatabaseError as exc:  # a locked or unreachable database: try again at the next tick
        logger.warning("cannot queue the periodic jobs (%s)", type(exc).__name__)
    finally:
        connection.close()  # this thread's own connection; the next tick opens a fresh one


def _schedule(stop: threading.Event) -> None:
    queue_due_jobs()
    while not stop.wait(SCHEDULE_INTERVAL):
        queue_due_jobs()


class Command(BaseCommand):
    help = "Run the background task worker (all queues by default) and record its heartbeat for /healthz."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--queue-name",
            default="*",
            help="Queues to run, comma-separated; '*' for all (default: %(default)s).",
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=1.0,
            help="Seconds to wait when the queue is empty (default: %(default)s).",
        )
        parser.add_argument("--batch", action="store_true", help="Run the tasks that are ready, then exit.")
        parser.add_argument("--max-tasks", type=int, default=None, help="Exit after running this many tasks.")

    def handle(
        self, *args: Any, queue_name: str, interval: float, batch: bool, max_tasks: int | None, **options: Any
    ) -> None:
        from amparo.core import rq

        if rq.rq_enabled():  # AMPARO_TASKS_BACKEND=rq: an RQ worker with the same heartbeat and clock
            try:
                rq.run_worker(queue_name, batch=batch, max_tasks=max_tasks)
            except ValueError as exc:
                raise CommandError(f"{exc}.") from None
            return
        if not health.worker_required():
            raise CommandError(
                "The task backend is not the database one (AMPARO_TASKS_BACKEND): tasks run inline and no worker is needed."
            )
        if interval < 0:
            raise CommandError("--interval must be zero or more.")
        if max_tasks is not None and max_tasks < 1:
            raise CommandError("--max-tasks must be at least 1.")
        worker = taskqueue.ResilientWorker(
            queue_names=queue_name.split(","),
            interval=interval,
            batch=batch,
            backend_name=DEFAULT_TASK_BACKEND_ALIAS,
            startup_delay=False,
            max_tasks=max_tasks,
            worker_id=get_random_string(32),
            excluded_queue_names=[],
        )
        # The worker installs its own SIGINT/SIGTERM handlers; put ours back when it returns (tests, scripts).
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
        worker.configure_signals()
        stop = threading.Event()
        threads: list[threading.Thread] = []
        started = timezone.now()
        try:
            # Started while the database is down (a reboot, a restart): wait for it rather than exit.
            if not taskqueue.wait_for_database("amparo worker", stop=worker.stopping.is_set):
                return
            taskqueue.beat(worker.worker_id, queue_name, started)
            heart = threading.Thread(
                target=_beat,
                args=(stop, worker.worker_id, queue_name, started),
                name="amparo-worker-heartbeat",
                daemon=True,
            )
            heart.start()
            threads.append(heart)
            if batch:
                taskqueue.reclaim_orphaned()
                schedule.enqueue_due()
            else:
                clock = threading.Thread(
                    target=_schedule, args=(stop,), name="amparo-worker-schedule", daemon=True
                )
                clock.start()
                threads.append(clock)
            worker.run()
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=15)  # a beat under way finishes before the row is removed
            with contextlib.suppress(DatabaseError):  # if the database is gone, the row goes stale instead
                taskqueue.forget(worker.worker_id)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
