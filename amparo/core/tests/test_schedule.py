"""Periodic jobs (amparo.core.schedule): the worker runs a registered job when it is due, once per
interval, never twice at once; `amparo run_periodic` does the same without a worker."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult

from amparo.core import schedule
from amparo.core.models import PeriodicJobState

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": []}}

runs: list[str] = []


def count_a_run() -> int:
    runs.append("ran")
    return 7


@pytest.fixture
def only_test_job(monkeypatch) -> Iterator[None]:  # noqa: ANN001
    """The registry holds only a test job (every ten minutes), so that the real ones do not run here."""
    monkeypatch.setattr(schedule, "_jobs", {})
    schedule.register_periodic("test.count", every=dt.timedelta(minutes=10), job=count_a_run)
    runs.clear()
    yield
    runs.clear()


@pytest.fixture
def database_worker(settings, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    settings.TASKS = DATABASE_TASKS
    settings.DATA_DIR = tmp_path  # the worker's heartbeat
    # db_worker recycles connections between tasks; inside the test's transaction that would close it.
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)


def age_by(minutes: int) -> None:
    """Move the job's schedule `minutes` into the past (as if that much time had gone by)."""
    state = PeriodicJobState.objects.get(name="test.count")
    state.next_due_at -= dt.timedelta(minutes=minutes)
    state.save()


@pytest.mark.django_db
def test_the_worker_runs_a_registered_job_when_due_and_not_again_before_its_interval(
    only_test_job, database_worker
):
    call_command("worker", batch=True, verbosity=0)
    assert runs == ["ran"]
    state = PeriodicJobState.objects.get(name="test.count")
    assert (state.runs, state.last_ok, state.last_count, state.running_since) == (1, True, 7, None)
    assert state.next_due_at > timezone.now() + dt.timedelta(minutes=9)
    assert (
        DBTaskResult.objects.filter(task_path__endswith="run_periodic_job", status="SUCCESSFUL").count() == 1
    )

    call_command("worker", batch=True, verbosity=0)  # not due yet
    assert runs == ["ran"]
    assert PeriodicJobState.objects.get(name="test.count").runs == 1

    age_by(11)
    call_command("worker", batch=True, verbosity=0)
    assert runs == ["ran", "ran"]
    assert PeriodicJobState.objects.get(name="test.count").runs == 2


@pytest.mark.django_db
def test_a_due_job_is_queued_once_however_many_workers_look(only_test_job, database_worker):
    now = timezone.now()
    assert schedule.enqueue_due(now) == ["test.count"]
    assert schedule.enqueue_due(now) == []  # a second worker in the same period
    assert schedule.enqueue_due(now + dt.timedelta(minutes=9)) == []
    assert DBTaskResult.objects.filter(task_path__endswith="run_periodic_job").count() == 1
    assert runs == []  # queued, not run: the worker's loop runs it
    assert schedule.enqueue_due(now + dt.timedelta(minutes=10)) == ["test.count"]


@pytest.mark.django_db
def test_a_job_under_way_is_not_started_a_second_time(only_test_job):
    PeriodicJobState.objects.create(
        name="test.count", next_due_at=timezone.now(), running_since=timezone.now()
    )
    assert schedule.run_job("test.count") is False
    assert runs == []
    # A run whose worker died long ago (past the lease) no longer blocks.
    PeriodicJobState.objects.filter(name="test.count").update(
        running_since=timezone.now() - schedule.periodic_jobs()[0].lease - dt.timedelta(minutes=1)
    )
    assert schedule.run_job("test.count") is True
    assert runs == ["ran"]


@pytest.mark.django_db
def test_a_failing_job_is_recorded_as_failed_and_released(monkeypatch):
    def broken() -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(schedule, "_jobs", {})
    schedule.register_periodic("test.broken", every=dt.timedelta(minutes=1), job=broken)
    with pytest.raises(RuntimeError):
        schedule.run_job("test.broken")
    state = PeriodicJobState.objects.get(name="test.broken")
    assert (state.last_ok, state.running_since, state.runs) == (False, None, 1)


@pytest.mark.django_db
def test_run_periodic_runs_the_due_jobs_once(only_test_job):
    out = io.StringIO()
    call_command("run_periodic", "--json", stdout=out)
    assert json.loads(out.getvalue()) == {"ran": ["test.count"]}
    out = io.StringIO()
    call_command("run_periodic", "--json", stdout=out)
    assert json.loads(out.getvalue()) == {"ran": []}
    assert runs == ["ran"]
    out = io.StringIO()
    call_command("run_periodic", "--list", "--json", stdout=out)
    [row] = json.loads(out.getvalue())
    assert (row["name"], row["every_seconds"], row["runs"], row["last_ok"]) == ("test.count", 600, 1, True)


def test_intake_registers_its_sms_retry_and_ussd_expiry_jobs():
    names = {job.name: job.every for job in schedule.periodic_jobs()}
    assert names["intake.send_due_sms"] == dt.timedelta(minutes=1)
    assert names["intake.expire_ussd_sessions"] == dt.timedelta(minutes=5)


def test_a_job_needs_a_positive_interval():
    with pytest.raises(ValueError, match="positive interval"):
        schedule.register_periodic("test.never", every=dt.timedelta(0), job=count_a_run)


@pytest.mark.django_db
def test_periodic_jobs_wait_on_their_own_queue_so_that_reports_are_filed_meanwhile(
    only_test_job, database_worker
):
    schedule.enqueue_due(timezone.now())
    assert list(DBTaskResult.objects.values_list("queue_name", flat=True)) == [schedule.PERIODIC_QUEUE]
    # A worker of the default queue (the one `amparo serve` runs for reports) leaves the job alone...
    call_command("worker", batch=True, queue_name="default", verbosity=0)
    assert runs == []
    # ...and the periodic worker runs it.
    call_command("worker", batch=True, queue_name=schedule.PERIODIC_QUEUE, verbosity=0)
    assert runs == ["ran"]
