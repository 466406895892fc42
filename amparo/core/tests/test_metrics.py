"""`/metrics` answers only with the monitoring token, in the Prometheus text format, with route names
(never paths with ids) and the state figures operators alert on."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.test import override_settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from amparo.conftest import SYSTEM
from amparo.core import backup
from amparo.core.metrics import REQUESTS

TOKEN = "m" * 40
AUTH = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}


def samples(body: bytes) -> dict[tuple[str, tuple], float]:
    found = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict, name: str, **labels: str) -> float:
    return found[(name, tuple(sorted(labels.items())))]


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
def test_requests_are_counted_by_route_name_not_by_path(client, make_case):
    case = make_case()
    before = REQUESTS.labels("cases:detail", "GET", "302")._value.get()
    client.get(f"/cases/{case.reference}/")  # anonymous: redirected to sign in
    response = client.get("/metrics", **AUTH)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    body = response.content.decode()
    assert case.reference not in body
    found = samples(response.content)
    assert (
        value(found, "amparo_http_requests_total", route="cases:detail", method="GET", status="302")
        == before + 1
    )
    assert (
        "amparo_http_request_duration_seconds_count",
        (("method", "GET"), ("route", "cases:detail")),
    ) in found


@pytest.mark.django_db
@override_settings(AMPARO_MONITORING_TOKEN=TOKEN)
def test_state_figures_are_read_from_the_database(client, make_case, monkeypatch, tmp_path):
    from amparo.core.models import AuditHead
    from amparo.evidence import actions as evidence_actions

    monkeypatch.setenv("AMPARO_EVIDENCE_STORAGE", "memory")
    case = make_case(channel="sms")
    evidence_actions.add_item(SYSTEM, case, io.BytesIO(b"synthetic bytes"), original_name="a.jpg")
    found = samples(client.get("/metrics", **AUTH).content)
    head = AuditHead.objects.get(chain="national")
    assert value(found, "amparo_audit_chain_entries", chain="national") == head.count
    assert value(found, "amparo_intake_cases_total", channel="sms") == 1
    assert value(found, "amparo_intake_cases_last_hour", channel="sms") == 1
    # The immediate task backend of the tests hashed it at once.
    assert value(found, "amparo_evidence_hashing", state="done") == 1
    assert value(found, "amparo_backup_last_success_age_seconds") == float("inf")
    assert all(v == 1 for (name, _l), v in found.items() if name == "amparo_metrics_source_up")
    assert {dict(labels)["source"] for (name, labels) in found if name == "amparo_metrics_source_up"} == {
        "core",
        "intake",
        "evidence",
        "sync",
    }


@pytest.mark.django_db
@override_settings(AMPARO_MONITORING_TOKEN=TOKEN)
def test_silent_district_nodes_and_backup_age_are_exposed(client, monkeypatch):
    from django.db import transaction

    from amparo.core import audit
    from amparo.core.models import District
    from amparo.sync.models import Node

    Node.objects.create(
        name="pemba",
        district=District.objects.get(pk="MZ0702"),
        public_key="x" * 44,
        last_seen_at=timezone.now() - dt.timedelta(hours=80),
    )
    with transaction.atomic():
        audit.record(SYSTEM, backup.BackupAudit.CREATE, ("core.backup", "amparo-backup-x"))
    found = samples(client.get("/metrics", **AUTH).content)
    silence = value(found, "amparo_sync_node_silence_seconds", node="pemba", district="MZ0702")
    assert 80 * 3600 <= silence < 81 * 3600
    assert value(found, "amparo_backup_last_success_age_seconds") < 60


@pytest.mark.django_db
@override_settings(AMPARO_MONITORING_TOKEN=TOKEN)
def test_queue_depth_and_oldest_ready_task_per_queue(client, settings, tmp_path):
    from django_tasks_db.models import DBTaskResult

    from amparo.core.metrics import queue_status
    from amparo.intake.tasks import process_sms

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": []}}
    settings.DATA_DIR = tmp_path  # no worker heartbeat here
    process_sms.enqueue(1)
    DBTaskResult.objects.update(enqueued_at=timezone.now() - dt.timedelta(minutes=3))
    status = queue_status()
    assert status["default"]["ready"] == 1
    assert status["default"]["oldest_ready_seconds"] >= 180
    found = samples(client.get("/metrics", **AUTH).content)
    assert value(found, "amparo_tasks_ready", queue="default") == 1
    assert value(found, "amparo_tasks_oldest_ready_seconds", queue="default") >= 180
    assert value(found, "amparo_worker_heartbeat_age_seconds") == float("inf")
