"""The public web form as it runs in production, with the task queue in the database: the report is
stored with its receipt's hash and acknowledged, and the worker opens its case. Nothing acknowledged is
lost when the task is lost, and a reporter who follows up at once finds the report."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult

from amparo.cases.models import Case
from amparo.core import audit
from amparo.core.models import Agency, District, Province
from amparo.intake import actions, receipts
from amparo.intake.models import Report, WebSubmission
from amparo.intake.permissions import IntakeAudit

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": []}}
NARRATIVE = "Someone I met in a game asks for photos."


@pytest.fixture
def database_queue(settings, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    settings.TASKS = DATABASE_TASKS
    settings.DATA_DIR = tmp_path  # the worker's heartbeat
    # db_worker recycles connections between tasks; inside the test's transaction that would close it.
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)


def submit(**overrides):  # noqa: ANN003, ANN201
    values = {
        "owning_agency": Agency.objects.get(code="linha-fala-crianca"),
        "forms": ["sextortion"],
        "platforms": ["instagram"],
        "who_affected": "me",
        "province": None,
        "district": District.objects.get(pk="MZ0702"),
        "narrative": NARRATIVE,
        "callback_phone": "+258 84 123 4567",
        "callback_consented": True,
        "immediate_danger": True,
    }
    values.update(overrides)
    return actions.submit_web_report(**values)


def raw_payloads() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT payload FROM intake_websubmission")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db
def test_web_report_is_stored_and_acknowledged_then_the_worker_opens_its_case(database_queue: None) -> None:
    received = submit()

    submission = WebSubmission.objects.get()
    assert not Case.objects.exists()
    assert submission.receipt_hash == receipts.receipt_hash(received.receipt)
    assert all(NARRATIVE not in p and "4567" not in p for p in raw_payloads())  # encrypted at rest
    assert DBTaskResult.objects.get().task_path.endswith("file_web_report")

    call_command("worker", batch=True, verbosity=0)

    assert not WebSubmission.objects.exists()
    report = Report.objects.select_related("case").get()
    case = report.case
    assert case.channel == "web"
    assert case.received_at == submission.received_at  # deadlines count from the submission
    assert case.priority == "immediate"
    assert case.province == Province.objects.get(pk=District.objects.get(pk="MZ0702").province_id)
    assert case.narrative == NARRATIVE
    assert sorted(case.forms.values_list("form", flat=True)) == ["sextortion"]
    assert report.callback_phone == "+258 84 123 4567"
    assert report.receipt_hash == submission.receipt_hash
    assert receipts.lookup(received.receipt) == report
    actions_logged = set(
        audit.AuditEntry.objects.filter(actor_channel="web").values_list("action", flat=True)
    )
    assert {"cases:case:create", str(IntakeAudit.REPORT_CREATE)} <= actions_logged


@pytest.mark.django_db
def test_follow_up_before_the_worker_files_it_finds_the_report_received(database_queue: None) -> None:
    received = submit()
    view = actions.reporter_status(received.receipt)
    assert view is not None
    assert view.status == "received"
    assert Case.objects.count() == 1
    assert not WebSubmission.objects.exists()
    call_command("worker", batch=True, verbosity=0)  # the queued task finds nothing left to do
    assert Case.objects.count() == 1


@pytest.mark.django_db
def test_report_whose_task_was_lost_is_filed_by_the_periodic_job(database_queue: None) -> None:
    submit()
    submit(narrative="A second report.")
    DBTaskResult.objects.all().delete()
    assert actions.file_pending_web_reports() == 0  # too recent: their tasks may still run
    WebSubmission.objects.update(received_at=timezone.now() - dt.timedelta(minutes=2))
    assert actions.file_pending_web_reports() == 2
    assert Case.objects.count() == 2
    assert not WebSubmission.objects.exists()


@pytest.mark.django_db
def test_filing_twice_opens_one_case(database_queue: None) -> None:
    submit()
    pk = WebSubmission.objects.get().pk
    assert actions.file_web_submission(pk) is not None
    assert actions.file_web_submission(pk) is None
    assert Case.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "overrides",
    [
        {"forms": ["not-a-form"]},
        {"platforms": ["myspace-2"]},
        {"who_affected": "someone"},
        {"narrative": "x" * (actions.MAX_NARRATIVE_CHARS + 1)},
        "district outside the province",
    ],
)
def test_what_the_case_would_refuse_is_refused_before_anything_is_stored(
    database_queue: None, overrides: dict | str
) -> None:
    if overrides == "district outside the province":
        district = District.objects.get(pk="MZ0702")
        overrides = {
            "province": Province.objects.exclude(pk=district.province_id).first(),
            "district": district,
        }
    with pytest.raises(ValidationError):
        submit(**overrides)
    assert not WebSubmission.objects.exists()
    assert not DBTaskResult.objects.exists()


@pytest.mark.django_db
def test_report_for_an_agency_deactivated_meanwhile_goes_to_the_web_routing_agency(
    database_queue: None,
) -> None:
    other = Agency.objects.exclude(code="linha-fala-crianca").filter(active=True).first()
    submit(owning_agency=other)
    Agency.objects.filter(pk=other.pk).update(active=False)
    call_command("worker", batch=True, verbosity=0)
    assert Case.objects.get().owning_agency.code == "linha-fala-crianca"


@pytest.mark.django_db
def test_a_revoked_nodes_wipe_erases_web_reports_not_yet_filed(database_queue: None) -> None:
    from amparo.core.wipe import wipe_hooks

    submit()
    assert actions.wipe_unfiled in wipe_hooks()  # registered by intake: runs with the node's wipe
    counts = actions.wipe_unfiled()
    assert counts["intake.WebSubmission"] == 1
    assert not WebSubmission.objects.exists()


@pytest.mark.django_db
def test_a_report_that_fails_to_store_takes_no_token_and_can_be_sent_again(
    client,  # noqa: ANN001
    database_queue: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from django.db import DatabaseError

    from amparo.intake.tests.test_web_report import ANSWERS, receipt_of, state_of

    response = client.get("/report/")
    for step in ("who", "what", "where"):
        response = client.post("/report/", {"state": state_of(response), "step": step, **ANSWERS[step]})
    last = {"state": state_of(response), "step": "send", **ANSWERS["send"]}
    real_create = WebSubmission.objects.create

    def disk_full(**kwargs):  # noqa: ANN003, ANN202
        raise DatabaseError("database or disk is full")

    monkeypatch.setattr(WebSubmission.objects, "create", disk_full)
    client.raise_request_exception = False
    assert client.post("/report/", last).status_code == 500  # the error page; nothing acknowledged
    assert not WebSubmission.objects.exists()

    monkeypatch.setattr(WebSubmission.objects, "create", real_create)
    again = client.post("/report/", last)  # the same filled-in form, sent again
    assert again.status_code == 200
    assert receipts.lookup(receipt_of(again)) is not None


@pytest.mark.django_db
def test_healthz_turns_unhealthy_while_an_acknowledged_report_waits_too_long_for_its_case(
    database_queue: None,
    client,
    settings,  # noqa: ANN001
) -> None:
    from amparo.core import taskqueue

    settings.AMPARO_HEALTH_MAX_QUEUE_AGE = 120
    for queue in ("default", "periodic"):  # workers alive: only the report is wrong
        taskqueue.beat(f"worker-{queue}", queue, timezone.now())
    submit()
    DBTaskResult.objects.all().delete()  # its task died with its worker
    assert client.get("/healthz").status_code == 200  # just acknowledged
    WebSubmission.objects.update(received_at=timezone.now() - dt.timedelta(seconds=121))
    assert client.get("/healthz").status_code == 503
    assert client.get("/healthz").json() == {"status": "error"}
    actions.file_pending_web_reports()  # the periodic job (now registered) files it
    assert client.get("/healthz").status_code == 200
