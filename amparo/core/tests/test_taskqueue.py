"""The task queue kept honest (amparo.core.taskqueue): tasks of dead workers are taken back, a worker
outlives a database outage (logged once), and every periodic job the documentation names is registered.

A real worker process killed with SIGKILL is in test_commands.py (it shares the migrated database of the
`amparo serve` tests)."""

from __future__ import annotations

import datetime as dt
import logging
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import OperationalError, connection
from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from amparo.core import schedule, taskqueue
from amparo.core.models import WorkerHeartbeat

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": []}}
DOCS = Path(__file__).resolve().parents[3] / "docs"

ran: list[str] = []
interruptions: list[str] = []


@task()
def note(label: str) -> None:
    ran.append(label)


@task()
def cut_short_once(label: str) -> None:
    """Fails the first time as a task does when the database goes away under it."""
    if not interruptions:
        interruptions.append(label)
        raise OperationalError("server closed the connection unexpectedly")
    ran.append(label)


@pytest.fixture
def database_tasks(settings, monkeypatch) -> None:  # noqa: ANN001
    settings.TASKS = DATABASE_TASKS
    monkeypatch.setattr(schedule, "_jobs", {})  # periodic jobs have their own tests
    ran.clear()
    interruptions.clear()


def running(result_id: object, *, worker: str, minutes_ago: float, claims: int = 1) -> None:
    DBTaskResult.objects.filter(pk=result_id).update(
        status="RUNNING",
        started_at=timezone.now() - dt.timedelta(minutes=minutes_ago),
        worker_ids=[f"earlier-{i}" for i in range(claims - 1)] + [worker],
    )


def status(result_id: object) -> str:
    return DBTaskResult.objects.get(pk=result_id).status


# --- taking tasks back --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_task_left_running_by_a_worker_without_heartbeat_is_taken_back(database_tasks: None) -> None:
    result = note.enqueue("stranded")
    running(result.id, worker="dead-worker", minutes_ago=5)
    assert taskqueue.reclaim_orphaned() == {"requeued": 1, "failed": 0}
    row = DBTaskResult.objects.get(pk=result.id)
    assert row.status == "READY"
    assert row.started_at is None
    assert taskqueue.reclaim_orphaned() == {"requeued": 0, "failed": 0}


@pytest.mark.django_db
def test_a_task_of_a_live_worker_is_left_alone_however_long_it_runs(database_tasks: None) -> None:
    taskqueue.beat("live-worker", "default", timezone.now())
    result = note.enqueue("long")
    running(result.id, worker="live-worker", minutes_ago=30)
    assert taskqueue.reclaim_orphaned() == {"requeued": 0, "failed": 0}
    assert status(result.id) == "RUNNING"


@pytest.mark.django_db
def test_a_task_whose_worker_heartbeat_went_silent_is_taken_back(database_tasks: None) -> None:
    taskqueue.beat("silent-worker", "default", timezone.now())
    WorkerHeartbeat.objects.update(
        seen_at=timezone.now() - dt.timedelta(seconds=taskqueue.HEARTBEAT_MAX_AGE + 1)
    )
    result = note.enqueue("stranded")
    running(result.id, worker="silent-worker", minutes_ago=2)
    assert taskqueue.reclaim_orphaned()["requeued"] == 1


@pytest.mark.django_db
def test_a_task_claimed_moments_ago_is_not_taken_back(database_tasks: None) -> None:
    # Its worker may not have written its first heartbeat yet.
    result = note.enqueue("just started")
    running(result.id, worker="new-worker", minutes_ago=0)
    assert taskqueue.reclaim_orphaned()["requeued"] == 0


@pytest.mark.django_db
def test_a_task_that_keeps_killing_its_worker_fails_for_good(database_tasks: None, caplog) -> None:  # noqa: ANN001
    result = note.enqueue("poison")
    running(result.id, worker="dead-worker", minutes_ago=5, claims=taskqueue.MAX_CLAIMS)
    with caplog.at_level(logging.ERROR, logger="amparo.core.taskqueue"):
        assert taskqueue.reclaim_orphaned() == {"requeued": 0, "failed": 1}
    row = DBTaskResult.objects.get(pk=result.id)
    assert row.status == "FAILED"
    assert row.exception_class_path == "amparo.core.taskqueue.WorkerLost"
    assert "poison" not in caplog.text  # ids and task names only, never arguments


@pytest.mark.django_db
def test_the_worker_runs_a_dead_workers_task_it_took_back(database_tasks: None, monkeypatch) -> None:  # noqa: ANN001
    from django_tasks_db.management.commands import db_worker

    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)
    result = note.enqueue("filed at last")
    running(result.id, worker="killed-worker", minutes_ago=5)
    call_command("worker", batch=True, verbosity=0)
    row = DBTaskResult.objects.get(pk=result.id)
    assert row.status == "SUCCESSFUL"
    assert ran == ["filed at last"]
    assert len(row.worker_ids) == 2


# --- database outages ------------------------------------------------------------------------------------


class Outage:
    """Every query fails, `queries` times in a row, from the first time a worker looks for a ready task."""

    def __init__(self, queries: int) -> None:
        self.left = queries
        self.started = False

    def __call__(self, execute, sql, params, many, context):  # noqa: ANN001, ANN204
        if not self.started and "dbtaskresult" in sql.lower() and "READY" in (params or ()):
            self.started = True
        if self.started and self.left > 0:
            self.left -= 1
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)


@pytest.fixture
def quick_backoff(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(taskqueue, "BACKOFF_FIRST", 0.01)
    monkeypatch.setattr(taskqueue, "BACKOFF_MAX", 0.02)


@pytest.mark.django_db(transaction=True)
def test_the_worker_survives_a_database_outage_and_logs_it_once(
    database_tasks: None, quick_backoff: None, caplog
) -> None:  # noqa: ANN001
    result = note.enqueue("after the outage")
    outage = Outage(queries=8)
    with caplog.at_level(logging.WARNING, logger="amparo.core.taskqueue"), connection.execute_wrapper(outage):
        call_command("worker", batch=True, verbosity=0)
    assert outage.left == 0  # the outage happened, and the worker got through it
    assert status(result.id) == "SUCCESSFUL"
    assert ran == ["after the outage"]
    messages = [r.getMessage() for r in caplog.records if r.name == "amparo.core.taskqueue"]
    assert len([m for m in messages if "unreachable" in m]) == 1, messages
    assert len([m for m in messages if "answers again" in m]) == 1, messages
    assert "closed the connection" not in caplog.text  # the class of the error only


@pytest.mark.django_db(transaction=True)
def test_a_task_cut_short_by_the_database_going_away_runs_again_instead_of_failing(
    database_tasks: None, quick_backoff: None, monkeypatch
) -> None:  # noqa: ANN001
    monkeypatch.setattr(taskqueue, "REQUEUE_DELAY", dt.timedelta(0))
    result = cut_short_once.enqueue("report")
    call_command("worker", batch=True, verbosity=0)
    row = DBTaskResult.objects.get(pk=result.id)
    assert row.status == "SUCCESSFUL"
    assert ran == ["report"]
    assert len(row.worker_ids) == 2  # claimed twice, by the same worker


def test_waiting_for_the_database_gives_up_when_told_to_stop(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(taskqueue, "database_reachable", lambda alias="default": False)
    stops = iter([False, False, True])
    assert taskqueue.wait_for_database("test", stop=lambda: next(stops), sleep=lambda s: None) is False


# --- periodic jobs the documentation names ---------------------------------------------------------------


def documented_jobs() -> set[str]:
    """`app.function` names in the docs that are plain functions of an app's tasks module: periodic jobs."""
    import importlib

    from django_tasks_db.compat import Task

    names = set()
    for page in [*DOCS.glob("*.md"), *DOCS.glob("decisions/*.md")]:
        for app, function in re.findall(
            r"`(intake|cases|observatory|outreach|sync|evidence)\.([a-z_]+)`", page.read_text()
        ):
            module = importlib.import_module(f"amparo.{app}.tasks")
            found = getattr(module, function, None)
            if callable(found) and not isinstance(found, Task):
                names.add(f"{app}.{function}")
    return names


def test_every_periodic_job_the_documentation_names_is_registered() -> None:
    documented = documented_jobs()
    assert "intake.file_pending_web_reports" in documented  # the check looks where it should
    registered = {job.name for job in schedule.periodic_jobs()}
    assert documented - registered == set()


def test_waiting_for_the_database_retries_until_it_answers_and_logs_once_each_way(
    monkeypatch, caplog
) -> None:  # noqa: ANN001
    # `amparo serve` and `amparo worker` started while the database is down wait for it.
    answers = iter([False, False, False, True])
    monkeypatch.setattr(taskqueue, "database_reachable", lambda alias="default": next(answers))
    with caplog.at_level(logging.WARNING, logger="amparo.core.taskqueue"):
        assert taskqueue.wait_for_database("amparo serve", sleep=lambda s: None) is True
    messages = [r.getMessage() for r in caplog.records]
    assert len([m for m in messages if "unreachable" in m]) == 1
    assert len([m for m in messages if "answers again" in m]) == 1
