"""Periodic jobs: what the worker runs every few minutes (due SMS, expired USSD sessions, overdue
notices, reminders, indicator refresh, …).

django-tasks has no scheduler, so apps register plain functions here from their AppConfig.ready():

    schedule.register_periodic("intake.send_due_sms", every=dt.timedelta(minutes=1), job=send_due_sms)

`amparo worker` runs every job that is due between tasks; `amparo run_periodic` runs them once
(from cron, or in tests). A job takes no arguments, returns a count (or None) and must be safe to run
twice at once on two machines (use select_for_update / skip_locked or idempotent writes).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every: dt.timedelta
    job: Callable[[], object]


_jobs: dict[str, PeriodicJob] = {}


def register_periodic(name: str, *, every: dt.timedelta, job: Callable[[], object]) -> None:
    if every <= dt.timedelta(0):
        raise ValueError("a periodic job needs a positive interval")
    _jobs[name] = PeriodicJob(name, every, job)


def periodic_jobs() -> list[PeriodicJob]:
    return sorted(_jobs.values(), key=lambda j: j.name)
