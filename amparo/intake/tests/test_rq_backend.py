"""AMPARO_TASKS_BACKEND=rq: tasks travel through Redis (the local server) to `amparo worker`, and what intake
acknowledged is still filed when Redis loses the job."""

from __future__ import annotations

import socket

import pytest
from django.core.management import call_command

from amparo.cases.models import Case
from amparo.core import rq
from amparo.core.models import Agency, District
from amparo.intake import actions
from amparo.intake.models import WebSubmission

REDIS_URL = "redis://127.0.0.1:6379/13"  # a database of its own, emptied by each test


def redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(
    not redis_answers(), reason="needs Redis on 127.0.0.1:6379 (.ci/run starts it)"
)


@pytest.fixture
def rq_queue(settings, tmp_path):
    import django_rq
    from redis import Redis

    settings.RQ_QUEUES = {name: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 60} for name in rq.QUEUES}
    settings.TASKS = {"default": {"BACKEND": rq.RQ_BACKEND, "QUEUES": list(rq.QUEUES)}}
    settings.DATA_DIR = tmp_path  # the worker's heartbeat
    redis = Redis.from_url(REDIS_URL)
    redis.flushdb()
    yield django_rq
    redis.flushdb()


def submit() -> None:
    actions.submit_web_report(
        owning_agency=Agency.objects.get(code="linha-fala-crianca"),
        forms=["sextortion"],
        platforms=["instagram"],
        who_affected="me",
        province=None,
        district=District.objects.get(pk="MZ0702"),
        narrative="Someone I met in a game asks for photos.",
        callback_phone="",
        callback_consented=False,
        immediate_danger=False,
    )


def acknowledge_a_report(rq_queue, capture) -> None:  # noqa: ANN001
    """A web report stored and acknowledged; its job reaches Redis only once the transaction commits."""
    with capture(execute=True):
        submit()
        assert rq_queue.get_queue("default").count == 0
    assert rq_queue.get_queue("default").count == 1


def run_worker_once(monkeypatch) -> None:  # noqa: ANN001
    import django_rq.utils
    from rq import SimpleWorker

    # SimpleWorker runs the task in this process (inside the test's transaction); production forks, and
    # closes this process's connections first, which inside the test's transaction would lose it.
    monkeypatch.setattr(django_rq.utils, "reset_db_connections", lambda: None)
    rq.run_worker("default", batch=True, worker_class=SimpleWorker)


@pytest.mark.django_db
def test_a_web_report_goes_through_redis_to_the_worker_and_opens_its_case(
    rq_queue, django_capture_on_commit_callbacks, monkeypatch
):
    acknowledge_a_report(rq_queue, django_capture_on_commit_callbacks)
    assert rq.queue_status()["default"]["ready"] == 1
    assert not Case.objects.exists()

    run_worker_once(monkeypatch)

    assert not WebSubmission.objects.exists()
    assert Case.objects.get().channel == "web"
    assert rq_queue.get_queue("default").count == 0


@pytest.mark.django_db
def test_a_report_whose_job_redis_lost_is_still_filed_by_the_periodic_sweep(
    rq_queue, monkeypatch, django_capture_on_commit_callbacks
):
    from redis import Redis

    from amparo.intake import tasks

    acknowledge_a_report(rq_queue, django_capture_on_commit_callbacks)
    Redis.from_url(REDIS_URL).flushdb()  # Redis restarted without having synced the job
    assert WebSubmission.objects.count() == 1
    run_worker_once(monkeypatch)
    assert not Case.objects.exists()  # the job is gone: nothing to run
    monkeypatch.setattr(actions, "FILING_GRACE", actions.FILING_GRACE * 0)  # as if the grace had passed
    assert tasks.file_pending_web_reports() == 1  # the periodic job that takes back lost web reports

    assert Case.objects.get().channel == "web"
    assert not WebSubmission.objects.exists()


def test_the_worker_names_the_queues_when_given_an_unknown_one(rq_queue):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="unknown queue 'nightly'; the queues are default, periodic"):
        call_command("worker", queue_name="nightly", batch=True)


def test_rq_needs_redis_url():
    import os
    import subprocess
    import sys

    env = {**os.environ, "AMPARO_TASKS_BACKEND": "rq"}
    env.pop("REDIS_URL", None)
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", "import amparo.settings"], env=env, capture_output=True, text=True, check=False
    )
    assert "AMPARO_TASKS_BACKEND=rq needs REDIS_URL" in result.stderr
