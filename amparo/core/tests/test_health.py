"""`/healthz`: ok / not ok for anyone, details for the monitoring token; each queue's worker separately;
unhealthy while a queue's oldest ready task is too old. And 503 (not 500) for every kind of client while
the database does not answer."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from amparo.core import health, taskqueue
from amparo.core.models import WorkerHeartbeat

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": []}}
TOKEN = "monitoring-token-for-tests"  # noqa: S105


@task()
def nothing_much() -> None:
    pass


@pytest.fixture
def monitoring(settings) -> dict[str, str]:  # noqa: ANN001
    settings.AMPARO_MONITORING_TOKEN = TOKEN
    return {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}


@pytest.fixture
def database_tasks(settings) -> None:  # noqa: ANN001
    settings.TASKS = DATABASE_TASKS


def workers(*queues: str, age: float = 0) -> None:
    """A live (or, with `age`, silent) worker for each queue, as `amparo worker --queue-name` records."""
    now = timezone.now()
    for i, queue in enumerate(queues):
        taskqueue.beat(f"worker-{queue}-{i}", queue, now)
    WorkerHeartbeat.objects.filter(queues__in=queues).update(seen_at=now - dt.timedelta(seconds=age))


def refuse(execute, sql, params, many, context):  # noqa: ANN001, ANN201
    raise OperationalError('could not connect to server "db.internal.example" (10.1.2.3), user amparo')


# --- anonymous and detailed answers ----------------------------------------------------------------


@pytest.mark.django_db
def test_anonymous_healthz_says_only_ok(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}  # no version, no database vendor, no queues
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_a_wrong_token_gets_only_ok_too(client: Client, monitoring: dict[str, str]) -> None:
    response = client.get("/healthz", HTTP_AUTHORIZATION="Bearer not-the-token")
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_the_monitoring_token_gets_database_queues_and_version(
    client: Client, monitoring: dict[str, str]
) -> None:
    body = client.get("/healthz", **monitoring).json()
    assert body["status"] == "ok"
    assert body["database"] == {"ok": True, "vendor": connection.vendor}
    assert body["version"] == "0.1.0"
    # The test settings run tasks inline: no worker is needed, so none is fine.
    assert body["worker"] == {"ok": True, "required": False}
    assert body["backlog"] == {"intake": True}


@pytest.mark.django_db
def test_healthz_answers_503_without_details_when_the_database_fails(
    client: Client, monitoring: dict[str, str]
) -> None:
    with connection.execute_wrapper(refuse):
        anonymous = client.get("/healthz")
        detailed = client.get("/healthz", **monitoring)
    assert anonymous.status_code == detailed.status_code == 503
    assert anonymous.json() == {"status": "error"}
    assert detailed.json()["database"] == {"ok": False, "vendor": connection.vendor}
    for detail in (b"db.internal", b"10.1.2.3", b"amparo,", b"connect"):
        assert detail not in detailed.content


@pytest.mark.django_db
def test_healthz_needs_no_sign_in_and_accepts_only_safe_methods(client: Client) -> None:
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


# --- each queue's worker --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_healthy_with_a_live_worker_on_each_queue(
    client: Client, database_tasks: None, monitoring: dict
) -> None:
    workers("default", "periodic")
    response = client.get("/healthz", **monitoring)
    assert response.status_code == 200
    queues = response.json()["queues"]
    assert queues["default"]["ok"]
    assert queues["periodic"]["ok"]
    assert queues["default"]["workers"] == 1
    assert queues["default"]["heartbeat_age_seconds"] == 0


@pytest.mark.django_db
def test_a_dead_default_worker_turns_healthz_unhealthy_while_the_periodic_one_lives(
    client: Client, database_tasks: None, monitoring: dict
) -> None:
    workers("periodic")
    workers("default", age=taskqueue.HEARTBEAT_MAX_AGE + 5)
    response = client.get("/healthz", **monitoring)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["worker"]["ok"] is False
    assert body["queues"]["default"]["ok"] is False
    assert body["queues"]["default"]["workers"] == 0
    assert body["queues"]["default"]["heartbeat_age_seconds"] >= taskqueue.HEARTBEAT_MAX_AGE
    assert body["queues"]["periodic"]["ok"] is True
    assert client.get("/healthz").json() == {"status": "error"}  # anonymous: the verdict only


@pytest.mark.django_db
def test_a_worker_of_all_queues_serves_both(client: Client, database_tasks: None) -> None:
    workers("*")
    assert client.get("/healthz").status_code == 200


@pytest.mark.django_db
def test_no_worker_at_all_is_unhealthy(client: Client, database_tasks: None) -> None:
    assert client.get("/healthz").status_code == 503


# --- stale queues ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_ready_task_older_than_the_threshold_turns_healthz_unhealthy_with_live_workers(
    client: Client, database_tasks: None, monitoring: dict, settings
) -> None:  # noqa: ANN001
    settings.AMPARO_HEALTH_MAX_QUEUE_AGE = 120
    workers("default", "periodic")
    result = nothing_much.enqueue()
    assert client.get("/healthz").status_code == 200  # just queued
    DBTaskResult.objects.filter(pk=result.id).update(enqueued_at=timezone.now() - dt.timedelta(seconds=121))
    response = client.get("/healthz", **monitoring)
    assert response.status_code == 503
    default = response.json()["queues"]["default"]
    assert default == {
        "heartbeat_age_seconds": 0,
        "workers": 1,
        "ready_tasks": 1,
        "running_tasks": 0,
        "oldest_ready_seconds": 121,
        "ok": False,
    }


@pytest.mark.django_db
def test_a_deferred_task_counts_from_when_it_became_ready(database_tasks: None) -> None:
    now = timezone.now()
    result = nothing_much.enqueue()
    DBTaskResult.objects.filter(pk=result.id).update(
        enqueued_at=now - dt.timedelta(hours=1), run_after=now - dt.timedelta(seconds=10)
    )
    assert health.queue_status(now)["default"]["oldest_ready_seconds"] == 10


@pytest.mark.django_db
def test_queue_status_gives_depth_running_and_heartbeat_per_queue(database_tasks: None) -> None:
    workers("default")
    nothing_much.enqueue()
    nothing_much.using(queue_name="periodic").enqueue()
    running = nothing_much.enqueue()
    DBTaskResult.objects.filter(pk=running.id).update(status="RUNNING", started_at=timezone.now())
    status = health.queue_status()
    assert status["default"]["ready_tasks"] == 1
    assert status["default"]["running_tasks"] == 1
    assert status["default"]["workers"] == 1
    assert status["periodic"]["ready_tasks"] == 1
    assert status["periodic"]["heartbeat_age_seconds"] is None
    assert status["periodic"]["workers"] == 0


# --- 503 while the database is down -----------------------------------------------------------------------


@pytest.fixture
def database_down():  # noqa: ANN201
    with connection.execute_wrapper(refuse):
        yield


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/report/"),  # the public form
        ("post", "/channels/00000000-0000-0000-0000-000000000000/sms/inbound"),  # a provider's webhook
        ("get", "/api/v1/cases/"),  # the staff API
        ("get", "/accounts/login/"),
    ],
)
def test_every_kind_of_request_gets_503_with_retry_after_while_the_database_is_down(
    method: str, path: str
) -> None:
    client = Client(raise_request_exception=False)
    # Make sure the request reaches the database: a session cookie and a bearer token to look up.
    client.cookies["sessionid"] = "x" * 32
    with connection.execute_wrapper(refuse):
        response = getattr(client, method)(path, HTTP_AUTHORIZATION="Bearer some-token")
    assert response.status_code == 503, response.content[:300]
    assert response["Retry-After"] == "30"
    assert b"db.internal" not in response.content
    assert b"10.1.2.3" not in response.content


@pytest.mark.django_db
def test_the_503_page_is_a_page_for_people_and_json_for_machines() -> None:
    client = Client(raise_request_exception=False)
    client.cookies["sessionid"] = "x" * 32  # the session is looked up: the database is reached
    with connection.execute_wrapper(refuse):
        page = client.post("/report/", {"step": "who"})
        api = client.get("/api/v1/cases/", HTTP_AUTHORIZATION="Bearer some-token")
    assert page.status_code == 503
    assert b"<main>" in page.content
    assert b"116" in page.content  # the configured helpline (and police) numbers
    assert b"119" in page.content
    assert api.status_code == 503
    assert "detail" in api.json()


@pytest.mark.django_db
def test_other_server_errors_stay_500(monkeypatch: pytest.MonkeyPatch) -> None:
    from amparo.core import views

    def broken(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("a bug")

    monkeypatch.setattr(views.LoginView, "get", broken)
    response = Client(raise_request_exception=False).get("/accounts/login/")
    assert response.status_code == 500
    assert "Retry-After" not in response
