"""Periodic jobs: what the worker runs every few minutes (due SMS, expired USSD sessions, overdue
notices, reminders, indicator refresh, …). See docs/decisions/0013-periodic-jobs-in-the-worker.md.

django-tasks has no scheduler, so apps register plain functions here from their AppConfig.ready():

    schedule.register_periodic("intake.send_due_sms", every=dt.timedelta(minutes=1), job=send_due_sms)

A job takes no arguments and returns a count (or None). Each has a row of `core.PeriodicJobState`:

- `enqueue_due()` claims every job whose `next_due_at` has passed, with one conditional UPDATE per job
  (`… SET next_due_at = now + every WHERE next_due_at <= now`), so that of two workers only one wins a
  given period, and queues the task `run_periodic_job(name)` on the queue `periodic` in the same
  transaction. `amparo worker`
  calls it from a background thread every few seconds (and once before `--batch`), so jobs run in the
  worker's loop between tasks, and a stop signal lets the job under way finish like any task.
- `run_job(name)` takes a lease on the row (`running_since`, again a conditional UPDATE) so that a job is
  never run twice at once, runs it outside any transaction (the job has its own), and records the run.
- `run_due()` does both in this process: `amparo run_periodic`, for cron or a machine without a worker.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django_tasks import task
from django_tasks_db import DatabaseBackend

logger = logging.getLogger(__name__)

PERIODIC_QUEUE = "periodic"  # the queue of periodic jobs; every other task uses "default"

# A run that has not finished after this long (its worker died) no longer blocks the next one.
MIN_LEASE = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every: dt.timedelta
    job: Callable[[], object]

    @property
    def lease(self) -> dt.timedelta:
        return max(2 * self.every, MIN_LEASE)


_jobs: dict[str, PeriodicJob] = {}


def register_periodic(name: str, *, every: dt.timedelta, job: Callable[[], object]) -> None:
    if every <= dt.timedelta(0):
        raise ValueError("a periodic job needs a positive interval")
    if len(name) > 100:
        raise ValueError("periodic job names are at most 100 characters")
    _jobs[name] = PeriodicJob(name, every, job)


def unregister_periodic(name: str) -> None:
    """Forget a job (tests that register their own)."""
    _jobs.pop(name, None)


def periodic_jobs() -> list[PeriodicJob]:
    return sorted(_jobs.values(), key=lambda j: j.name)


def _claim(job: PeriodicJob, now: dt.datetime) -> bool:
    """Move the job's next due time one interval past `now` if it is due; True for the one caller that
    did. A job seen for the first time is due at once."""
    from amparo.core.models import PeriodicJobState

    PeriodicJobState.objects.get_or_create(name=job.name, defaults={"next_due_at": now})
    return bool(
        PeriodicJobState.objects.filter(name=job.name, next_due_at__lte=now).update(
            next_due_at=now + job.every
        )
    )


def enqueue_due(now: dt.datetime | None = None) -> list[str]:
    """Queue a run of every job that is due; return their names."""
    now = now or timezone.now()
    queued = []
    for job in periodic_jobs():
        with transaction.atomic():
            if _claim(job, now):
                _enqueue(job.name)
                queued.append(job.name)
    return queued


def _enqueue(name: str) -> None:
    # The database queue writes the task row in the claim's transaction (both commit, or neither); a
    # backend that runs tasks at once (tests, scripts) runs the job after the commit, outside it. Jobs go
    # to their own queue: a long one (an indicator refresh) must not hold up the tasks that open the cases
    # of new reports, which `amparo serve` runs in a worker of their own.
    queued = run_periodic_job.using(queue_name=PERIODIC_QUEUE)
    if isinstance(run_periodic_job.get_backend(), DatabaseBackend):
        queued.enqueue(name)
    else:
        transaction.on_commit(lambda: queued.enqueue(name))


def run_job(name: str) -> bool:
    """Run the registered job `name` unless another run of it is under way; True when it ran.
    A failing job is recorded (and logged by name only) and re-raised."""
    from amparo.core.models import PeriodicJobState

    job = _jobs.get(name)
    if job is None:  # queued by a version that had it, run by one that does not
        logger.warning("periodic job %s is not registered here; skipped", name)
        return False
    started = timezone.now()
    PeriodicJobState.objects.get_or_create(name=name, defaults={"next_due_at": started + job.every})
    leased = PeriodicJobState.objects.filter(
        Q(running_since__isnull=True) | Q(running_since__lt=started - job.lease), name=name
    ).update(running_since=started, last_started_at=started)
    if not leased:
        logger.info("periodic job %s is already running; skipped", name)
        return False
    ok, count = False, None
    try:
        result = job.job()
        ok = True
        count = result if isinstance(result, int) and not isinstance(result, bool) else None
    finally:
        PeriodicJobState.objects.filter(name=name, running_since=started).update(
            running_since=None,
            last_finished_at=timezone.now(),
            last_ok=ok,
            last_count=count,
            runs=F("runs") + 1,
        )
        if not ok:
            logger.error("periodic job %s failed", name)
    return True


def run_due(now: dt.datetime | None = None) -> list[str]:
    """Run every due job in this process, one after the other; return the names of those that ran."""
    now = now or timezone.now()
    ran = []
    for job in periodic_jobs():
        with transaction.atomic():
            claimed = _claim(job, now)
        if claimed and run_job(job.name):
            ran.append(job.name)
    return ran


@task()
def run_periodic_job(name: str) -> bool:
    return run_job(name)
