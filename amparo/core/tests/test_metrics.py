"""`/metrics` answers only with the monitoring token, in the Prometheus text format, with route names
(never paths with ids) and the core state figures operators alert on."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from amparo.core import audit, backup
from amparo.core.metrics import REQUESTS
from amparo.core.models import AuditHead
from amparo.core.tests.metrics_support import AUTH, TOKEN, scrape, value

SYSTEM = audit.Actor.system("tests")


@pytest.mark.django_db
@override_settings(AMPARO_MONITORING_TOKEN=TOKEN)
@pytest.mark.parametrize("header", [None, "Bearer wrong-token-wrong-token", f"Basic {TOKEN}", TOKEN])
def test_metrics_need_the_monitoring_token(client, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.get("/metrics", **extra)
    assert response.status_code == 401
    assert b"amparo_" not in response.content


@pytest.mark.django_db
@override_settings(AMPARO_MONITORING_TOKEN=None)
def test_without_a_configured_token_nobody_gets_metrics(client):
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401


@pytest.mark.django_db
@override_settings(AMPARO_MONITORING_TOKEN=TOKEN)
def test_requests_are_counted_by_route_name_not_by_path(client):
    route = "admin:core_user_change"
    before = REQUESTS.labels(route, "GET", "302")._value.get()
    some_id = str(uuid.uuid4())
    client.get(f"/admin/core/user/{some_id}/change/")  # anonymous: redirected to sign in
    response = client.get("/metrics", **AUTH)
    assert response["Content-Type"].startswith("text/plain; version=")
    assert some_id not in response.content.decode()
    found = scrape(client)
    assert value(found, "amparo_http_requests_total", route=route, method="GET", status="302") == before + 1
    assert ("amparo_http_request_duration_seconds_count", (("method", "GET"), ("route", route))) in found


@pytest.mark.django_db
@override_settings(AMPARO_MONITORING_TOKEN=TOKEN)
def test_audit_chain_length_and_backup_age(client):
    found = scrape(client)
    assert value(found, "amparo_backup_last_success_age_seconds") == float("inf")
    with transaction.atomic():
        audit.record(SYSTEM, backup.BackupAudit.CREATE, ("core.backup", "amparo-backup-x"))
    found = scrape(client)
    head = AuditHead.objects.get(chain="national")
    assert value(found, "amparo_audit_chain_entries", chain="national") == head.count
    assert value(found, "amparo_backup_last_success_age_seconds") < 60
    sources = {
        dict(labels)["source"]: v for (name, labels), v in found.items() if name == "amparo_metrics_source_up"
    }
    assert sources == {"core": 1, "intake": 1, "evidence": 1, "sync": 1}


@pytest.mark.django_db
@override_settings(AMPARO_MONITORING_TOKEN=TOKEN)
def test_queue_depth_and_oldest_ready_task_per_queue(client, settings, tmp_path):
    from django_tasks_db.models import DBTaskResult

    from amparo.core.metrics import queue_status
    from amparo.core.schedule import run_periodic_job

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": []}}
    settings.DATA_DIR = tmp_path  # no worker heartbeat here
    run_periodic_job.enqueue("no.such.job")
    DBTaskResult.objects.update(enqueued_at=timezone.now() - dt.timedelta(minutes=3))
    status = queue_status()
    assert status["default"]["ready"] == 1
    assert status["default"]["oldest_ready_seconds"] >= 180
    found = scrape(client)
    assert value(found, "amparo_tasks_ready", queue="default") == 1
    assert value(found, "amparo_tasks_oldest_ready_seconds", queue="default") >= 180
    assert value(found, "amparo_worker_heartbeat_age_seconds") == float("inf")
