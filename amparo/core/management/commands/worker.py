"""`amparo worker`: run the background task worker (django-tasks-db's `db_worker`) with Amparo's
defaults, keep the heartbeat that `/healthz` reports (see amparo.core.health), and queue the periodic
jobs when they are due (amparo.core.schedule; a thread checks every SCHEDULE_INTERVAL seconds, and
`--batch` queues the due ones once before running the queue), so that they run between tasks.

SIGINT or SIGTERM stops it gracefully: the task under way finishes first (a second signal aborts it).
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connection

from amparo.core import health, schedule

logger = logging.getLogger(__name__)

SCHEDULE_INTERVAL = 10  # seconds between checks for due periodic jobs


def _beat(stop: threading.Event) -> None:
    while not stop.wait(health.HEARTBEAT_INTERVAL):
        try:
            health.touch_heartbeat()
        except OSError as exc:  # a full or read-only disk must not stop the tasks
            logger.warning("cannot touch the worker heartbeat (%s)", type(exc).__name__)


def queue_due_jobs() -> None:
    try:
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
        stop = threading.Event()
        # db_worker installs its own SIGINT/SIGTERM handlers; put ours back when it returns (tests, scripts).
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        health.touch_heartbeat()
        heart = threading.Thread(target=_beat, args=(stop,), name="amparo-worker-heartbeat", daemon=True)
        heart.start()
        threads = [heart]
        if batch:
            schedule.enqueue_due()
        else:
            clock = threading.Thread(
                target=_schedule, args=(stop,), name="amparo-worker-schedule", daemon=True
            )
            clock.start()
            threads.append(clock)
        try:
            call_command(
                "db_worker",
                queue_name=queue_name,
                interval=interval,
                batch=batch,
                max_tasks=max_tasks,
                reload=False,
                startup_delay=False,
                verbosity=options["verbosity"],
            )
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=2)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
