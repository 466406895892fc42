"""The SMS webhook as it runs in production, with the task queue in the database: it stores the message
and its processing task and answers; the worker moves the conversation on. Nothing acknowledged is lost
when the task is lost or fails."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult

from amparo.intake import sms, tasks
from amparo.intake.models import Channel, InboundMessage, OutboundMessage, Report
from amparo.intake.tests.test_providers import FakeProvider, at_success, fake_provider  # noqa: F401
from amparo.intake.tests.test_sms import PHONE, channel  # noqa: F401
from amparo.intake.webhooks import webhook_query

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": []}}


@pytest.fixture
def database_queue(settings, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    settings.TASKS = DATABASE_TASKS
    settings.DATA_DIR = tmp_path  # the worker's heartbeat
    # db_worker recycles connections between tasks; inside the test's transaction that would close it.
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)


def post(client: Client, channel: Channel, text: str, message_id: str) -> int:  # noqa: F811
    form = {
        "from": PHONE,
        "to": "1458",
        "text": text,
        "date": timezone.now().strftime("%Y-%m-%d %H:%M:%S.%f"),
        "id": message_id,
        "linkId": "",
    }
    return client.post(f"/channels/{channel.pk}/sms/inbound{webhook_query(channel)}", form).status_code


def raw_sender_column() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT sender FROM intake_inboundmessage")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db
def test_webhook_acknowledges_a_stored_message_and_the_worker_answers_it(
    client: Client,
    channel: Channel,  # noqa: F811
    database_queue: None,
    fake_provider: FakeProvider,  # noqa: F811
) -> None:
    fake_provider.answer(201, at_success("ATXid_out"))
    assert post(client, channel, "Ola, preciso de ajuda", "ATXid_in_1") == 200

    message = InboundMessage.objects.get()
    assert message.processed_at is None
    assert message.conversation_id is None
    assert message.sender == PHONE  # kept (encrypted) until processed: the reply needs it
    assert all("841234567" not in value for value in raw_sender_column())
    assert not OutboundMessage.objects.exists()
    task = DBTaskResult.objects.get()
    assert task.task_path.endswith("process_sms")
    assert task.args_kwargs["args"] == [message.pk]

    call_command("worker", batch=True, verbosity=0)

    message.refresh_from_db()
    assert message.processed_at is not None
    assert message.conversation_id is not None
    assert message.sender == ""
    assert message.phone_index
    reply = OutboundMessage.objects.get()
    assert reply.in_reply_to_id == message.pk
    assert "What happened?" in reply.text or "O que aconteceu?" in reply.text
    assert [r.form["message"] for r in fake_provider.received] == [reply.text]  # sent by the same worker run


@pytest.mark.django_db
def test_repeated_delivery_before_processing_is_stored_and_queued_once(
    client: Client,
    channel: Channel,  # noqa: F811
    database_queue: None,
) -> None:
    assert post(client, channel, "oi", "ATXid_same") == 200
    assert post(client, channel, "oi", "ATXid_same") == 200
    assert InboundMessage.objects.count() == 1
    assert DBTaskResult.objects.count() == 1


@pytest.mark.django_db
def test_processing_a_message_twice_changes_nothing_the_second_time(
    client: Client,
    channel: Channel,  # noqa: F811
    database_queue: None,
) -> None:
    assert post(client, channel, "oi", "ATXid_twice") == 200
    pk = InboundMessage.objects.get().pk
    assert sms.process(pk) is not None
    assert sms.process(pk) is None
    assert OutboundMessage.objects.count() == 1


@pytest.mark.django_db
def test_message_whose_task_was_lost_is_processed_by_the_periodic_job(
    client: Client,
    channel: Channel,  # noqa: F811
    database_queue: None,
) -> None:
    for i, text in enumerate(["Ola", "2", "1", "1", "Conta @alguem no Facebook", "2"]):
        assert post(client, channel, text, f"ATXid_lost_{i}") == 200
    DBTaskResult.objects.all().delete()  # the queue lost every task
    assert tasks.process_pending_sms() == 0  # too recent: their tasks may still run
    InboundMessage.objects.update(received_at=timezone.now() - dt.timedelta(minutes=2))

    assert tasks.process_pending_sms() == 6

    assert not InboundMessage.objects.filter(processed_at__isnull=True).exists()
    report = Report.objects.get()  # the six answers, taken in the order they arrived, made one report
    assert report.channel_kind == "sms"
    assert not report.callback_consented
    assert tasks.process_pending_sms() == 0


@pytest.mark.django_db
def test_a_message_that_fails_to_process_stays_stored_and_does_not_block_the_others(
    client: Client,
    channel: Channel,  # noqa: F811
    database_queue: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert post(client, channel, "primeira", "ATXid_bad") == 200
    assert post(client, channel, "segunda", "ATXid_good") == 200
    InboundMessage.objects.update(received_at=timezone.now() - dt.timedelta(minutes=2))
    bad = InboundMessage.objects.get(provider_message_id="ATXid_bad").pk
    real_advance = sms._advance

    def failing(message: InboundMessage) -> sms.Outcome:
        if message.pk == bad:
            raise RuntimeError("a bug in one step")
        return real_advance(message)

    monkeypatch.setattr(sms, "_advance", failing)
    assert tasks.process_pending_sms() == 1
    assert InboundMessage.objects.get(pk=bad).processed_at is None  # kept for the next run
    monkeypatch.setattr(sms, "_advance", real_advance)
    assert tasks.process_pending_sms() == 1
    assert not InboundMessage.objects.filter(processed_at__isnull=True).exists()


@pytest.mark.django_db
def test_messages_of_one_phone_are_handled_in_the_order_received_whatever_order_their_tasks_run(
    client: Client,
    channel: Channel,  # noqa: F811
    database_queue: None,
) -> None:
    # The worker died during message 3; the restarted one takes messages 4 and 5 first, then 3, then 6.
    texts = ["Ola", "2", "1", "1", "Conta @alguem no Facebook", "2"]
    for i, text in enumerate(texts):
        assert post(client, channel, text, f"ATXid_order_{i}") == 200
    ids = list(InboundMessage.objects.order_by("received_at", "pk").values_list("pk", flat=True))
    assert sms.process(ids[0]) is not None
    assert sms.process(ids[1]) is not None

    fourth = sms.process(ids[3])
    assert InboundMessage.objects.get(pk=ids[2]).processed_at is not None  # the older one went first
    assert fourth is not None
    assert sms.process(ids[4]) is not None
    assert sms.process(ids[2]) is None  # already handled, in its place
    assert sms.process(ids[5]) is not None

    assert not InboundMessage.objects.filter(late=True).exists()
    assert not InboundMessage.objects.filter(processed_at__isnull=True).exists()
    report = Report.objects.get()  # every question answered: one report, as if delivered in order
    assert report.channel_kind == "sms"
    assert OutboundMessage.objects.count() == len(texts)  # a reply to every message


@pytest.mark.django_db
def test_messages_of_another_phone_do_not_wait_for_this_one(
    client: Client,
    channel: Channel,  # noqa: F811
    database_queue: None,
) -> None:
    assert post(client, channel, "Ola", "ATXid_mine") == 200
    other = {"from": "+258 85 765 4321", "to": "1458", "text": "Ola", "id": "ATXid_other", "linkId": ""}
    other["date"] = timezone.now().strftime("%Y-%m-%d %H:%M:%S.%f")
    assert (
        client.post(f"/channels/{channel.pk}/sms/inbound{webhook_query(channel)}", other).status_code == 200
    )
    mine, theirs = InboundMessage.objects.order_by("received_at", "pk").values_list("pk", flat=True)
    assert sms.process(theirs) is not None
    assert InboundMessage.objects.get(pk=mine).processed_at is None
