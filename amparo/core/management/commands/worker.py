"""`amparo worker`: run the background task worker (django-tasks-db's `db_worker`) with Amparo's
defaults, and keep the heartbeat that `/healthz` reports (see amparo.core.health).

SIGINT or SIGTERM stops it gracefully: the task under way finishes first (a second signal aborts it).
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from amparo.core import health

logger = logging.getLogger(__name__)


def _beat(stop: threading.Event) -> None:
    while not stop.wait(health.HEARTBEAT_INTERVAL):
        try:
            health.touch_heartbeat()
        except OSError as exc:  # a full or read-only disk must not stop the tasks
            logger.warning("cannot touch the worker heartbeat (%s)", type(exc).__name__)


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
            heart.join(timeout=2)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
