"""Subscribe -> scheduled series -> opt-out, end to end: Africa's Talking callbacks in through the
intake webhook, messages out to a local server playing Africa's Talking, with a controllable clock."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import translation

from amparo.core.models import AuditEntry
from amparo.intake.models import OutboundMessage, OutboundStatus, Report, SmsConversation
from amparo.intake.tests.test_providers import FakeProvider, at_success
from amparo.intake.webhooks import webhook_query
from amparo.outreach import seed, subscriptions, tasks
from amparo.outreach.models import Audience, Dispatch, Subscriber, SubscriberState
from amparo.outreach.tests.helpers import PHONE, SYSTEM, Phone, approve_all, make_sms_channel, maputo

SERIES = "sms-caregivers-safe-online"


@pytest.fixture
def phone(
    client: Client, fake_provider: FakeProvider, monkeypatch, django_capture_on_commit_callbacks, make_user
):  # noqa: ANN001
    monkeypatch.setenv("AMPARO_SMS_API_BASE_URL", fake_provider.url)
    monkeypatch.delenv("AMPARO_SMS_PROVIDER", raising=False)
    monkeypatch.delenv("AMPARO_OUTREACH_SEND_HOURS", raising=False)
    seed.seed(SYSTEM)
    approve_all(make_user("agency_supervisor", agency="mgcas"))
    channel = make_sms_channel(fake_provider.url)
    return Phone(client, channel, django_capture_on_commit_callbacks)


def texts(fake: FakeProvider) -> list[str]:
    return [r.form["message"] for r in fake.received]


def subscribe_as_caregiver(phone: Phone) -> Subscriber:
    assert phone.send("Aprender") == 200
    assert phone.send("3") == 200  # parent or caregiver
    assert phone.send("0") == 200  # province: skip
    return Subscriber.objects.get()


def test_subscribe_then_weekly_series_within_hours_then_stop(
    phone: Phone, fake_provider: FakeProvider
) -> None:
    sub = subscribe_as_caregiver(phone)
    assert sub.state == SubscriberState.ACTIVE
    assert sub.audience == Audience.CAREGIVERS
    assert sub.language == "pt"
    assert sub.series.slug == SERIES
    replies = texts(fake_provider)
    assert len(replies) == 3  # audience question, province question, confirmation
    with translation.override("pt"):
        assert replies[-1] == subscriptions.sms_text_of(subscriptions.subscribed_reply(7))
    assert not Report.objects.exists()

    # Quiet hours: at 06:30 and at 19:30 Maputo time nothing goes out.
    assert tasks.send_due(maputo(1, 6, 30)) == 0
    assert tasks.send_due(maputo(1, 19, 30)) == 0
    # 08:00 the next morning: the first tip.
    assert tasks.send_due(maputo(1, 8, 0)) == 1
    first = texts(fake_provider)[-1]
    assert first.startswith("Fale com a sua crianca")  # folded to GSM-7 like every SMS
    assert fake_provider.received[-1].form["to"] == PHONE
    # Weekly cadence: nothing the next day or six days later, the second tip after seven days.
    assert tasks.send_due(maputo(2, 10, 0)) == 0
    assert tasks.send_due(maputo(7, 18, 0)) == 0
    assert tasks.send_due(maputo(8, 8, 5)) == 1
    assert texts(fake_provider)[-1].startswith("Sinais de aliciamento")
    assert tasks.send_due(maputo(8, 9, 0)) == 0  # run twice: nothing twice
    assert Dispatch.objects.count() == 2

    # PARAR: confirmed at once, nothing sent after it, the number forgotten.
    sent_before = len(fake_provider.received)
    assert phone.send("PARAR") == 200
    sub.refresh_from_db()
    assert sub.state == SubscriberState.STOPPED
    assert sub.phone == ""
    assert len(fake_provider.received) == sent_before + 1
    with translation.override("pt"):
        assert texts(fake_provider)[-1] == subscriptions.sms_text_of(subscriptions.stopped_reply())
    for days in (15, 22, 29, 60):
        assert tasks.send_due(maputo(days, 10, 0)) == 0
    assert Dispatch.objects.count() == 2
    actions = set(
        AuditEntry.objects.filter(object_type="outreach.subscriber").values_list("action", flat=True)
    )
    assert {"outreach:subscriber:create", "outreach:subscriber:update", "outreach:subscriber:stop"} <= actions


def test_duplicate_deliveries_of_parar_are_harmless(phone: Phone, fake_provider: FakeProvider) -> None:
    subscribe_as_caregiver(phone)
    tasks.send_due(maputo(1, 9, 0))
    before = len(fake_provider.received)
    for _ in range(3):  # the provider delivers the same PARAR three times
        assert phone.send("PARAR", message_id="ATXid_stop") == 200
    assert len(fake_provider.received) == before + 1  # one confirmation
    assert phone.send("parar!") == 200  # the person sends it again: confirmed again, nothing changes
    assert len(fake_provider.received) == before + 2
    assert AuditEntry.objects.filter(action="outreach:subscriber:stop").count() == 1
    assert Subscriber.objects.get().state == SubscriberState.STOPPED
    assert tasks.send_due(maputo(8, 9, 0)) == 0
    assert len(fake_provider.received) == before + 2


def test_a_message_waiting_for_a_retry_is_cancelled_by_parar(
    phone: Phone, fake_provider: FakeProvider
) -> None:
    from amparo.intake import tasks as intake_tasks

    subscribe_as_caregiver(phone)
    fake_provider.answer(500, "busy")
    assert tasks.send_due(maputo(1, 9, 0)) == 1  # handed over, failed, waiting for a retry
    waiting = OutboundMessage.objects.get(pk=Dispatch.objects.get().message_id)
    assert waiting.status == OutboundStatus.QUEUED
    phone.send("STOP")
    waiting.refresh_from_db()
    assert waiting.status == OutboundStatus.FAILED
    assert waiting.failure_reason == "cancelled:unsubscribed"
    sent_before = len(fake_provider.received)
    OutboundMessage.objects.update(next_attempt_at=None)
    intake_tasks.send_due_sms()
    assert len(fake_provider.received) == sent_before


def test_learn_in_english_and_language_can_be_changed_during_the_questions(
    phone: Phone, fake_provider: FakeProvider
) -> None:
    phone.send("learn")
    assert Subscriber.objects.get().language == "en"
    with translation.override("en"):
        assert texts(fake_provider)[-1] == subscriptions.sms_text_of(subscriptions.audience_question())
    phone.send("PORTUGUES")
    assert Subscriber.objects.get().language == "pt"
    phone.send("2")
    phone.send("5")
    sub = Subscriber.objects.get()
    assert sub.audience == Audience.CHILDREN_13_17
    assert sub.province.name
    assert tasks.send_due(maputo(1, 12, 0)) == 1
    assert texts(fake_provider)[-1].startswith("Quem conheceste")


def test_unanswered_questions_take_the_defaults_after_a_day(
    phone: Phone, fake_provider: FakeProvider
) -> None:
    phone.send("APRENDER")
    Subscriber.objects.update(updated_at=maputo(-2, 9, 0))
    assert tasks.send_due(maputo(0, 23, 0)) == 0  # activated with defaults, but outside the hours
    sub = Subscriber.objects.get()
    assert sub.state == SubscriberState.ACTIVE
    assert sub.audience == Audience.CAREGIVERS
    assert tasks.send_due(maputo(1, 8, 30)) == 1


def test_the_report_conversation_still_works_for_other_messages(
    phone: Phone, fake_provider: FakeProvider
) -> None:
    phone.send("Ola, preciso de ajuda")
    assert SmsConversation.objects.get().state == "what"
    phone.send("2")
    assert SmsConversation.objects.get().state == "who"
    assert not Subscriber.objects.exists()
    phone.send("PARAR")  # a phone that never subscribed: the report conversation's own PARAR
    assert SmsConversation.objects.get().state == "idle"
    assert not Subscriber.objects.exists()


def test_rate_control_paces_sends_per_channel(
    phone: Phone, fake_provider: FakeProvider, client: Client, monkeypatch, django_capture_on_commit_callbacks
) -> None:  # noqa: ANN001
    monkeypatch.setenv("AMPARO_OUTREACH_RATE_PER_SECOND", "2")
    for n in range(4):
        other = Phone(client, phone.channel, django_capture_on_commit_callbacks, f"+25884000000{n}")
        other.send("APRENDER")
        other.send("3")
        other.send("0")
    clock = {"now": 0.0}
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock["now"] += seconds

    assert tasks.send_due(maputo(1, 9, 0), sleep=sleep, clock=lambda: clock["now"]) == 4
    assert slept == [0.5, 0.5, 0.5]


def test_delivery_reports_feed_the_campaign_statistics(
    phone: Phone, fake_provider: FakeProvider, client: Client
) -> None:
    from amparo.outreach.views import series_statistics

    subscribe_as_caregiver(phone)
    fake_provider.answer(201, at_success("ATXid_series_1"))
    tasks.send_due(maputo(1, 9, 0))
    form = {"id": "ATXid_series_1", "status": "Success", "phoneNumber": PHONE}
    assert (
        client.post(
            f"/channels/{phone.channel.pk}/sms/delivery{webhook_query(phone.channel)}", form
        ).status_code
        == 200
    )
    message = OutboundMessage.objects.get(pk=Dispatch.objects.get().message_id)
    assert message.status == OutboundStatus.DELIVERED
    with translation.override("en"):
        stats = dict(series_statistics(Dispatch.objects.get().translation.item))
    assert stats["Delivered"] == "<5"  # one message: a small count is never shown


def test_sending_hours_are_configurable(phone: Phone, monkeypatch) -> None:  # noqa: ANN001
    subscribe_as_caregiver(phone)
    monkeypatch.setenv("AMPARO_OUTREACH_SEND_HOURS", "10:00-12:00")
    assert tasks.send_due(maputo(1, 9, 0)) == 0
    assert tasks.send_due(maputo(1, 10, 0)) == 1


def test_subscribers_before_any_approved_series_wait_then_start(
    phone: Phone, fake_provider: FakeProvider
) -> None:
    from amparo.outreach.models import ContentStatus, Translation

    Translation.objects.filter(item__slug=SERIES).update(status=ContentStatus.IN_REVIEW)
    sub = subscribe_as_caregiver(phone)
    assert sub.series is None
    assert tasks.send_due(maputo(1, 9, 0)) == 0
    Translation.objects.filter(item__slug=SERIES).update(status=ContentStatus.APPROVED)
    assert tasks.send_due(maputo(2, 9, 30)) == 1
    assert Subscriber.objects.get().series.slug == SERIES
    assert dt.timedelta(0) < Subscriber.objects.get().next_due_at - maputo(2, 9, 30) <= dt.timedelta(days=7)


def test_a_parar_delivered_out_of_order_still_stops(phone: Phone, fake_provider: FakeProvider) -> None:
    from django.utils import timezone

    subscribe_as_caregiver(phone)
    earlier = (timezone.now() - dt.timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M:%S.%f")
    form = {"from": PHONE, "to": "1458", "text": "PARAR", "date": earlier, "id": "ATXid_late_stop"}
    with phone.capture(execute=True):
        assert (
            phone.client.post(
                f"/channels/{phone.channel.pk}/sms/inbound{webhook_query(phone.channel)}", form
            ).status_code
            == 200
        )
    assert Subscriber.objects.get().state == SubscriberState.STOPPED
    assert tasks.send_due(maputo(1, 9, 0)) == 0


def test_subscribing_again_continues_the_series_and_never_repeats_a_tip(
    phone: Phone, fake_provider: FakeProvider
) -> None:
    subscribe_as_caregiver(phone)
    assert tasks.send_due(maputo(1, 9, 0)) == 1
    assert texts(fake_provider)[-1].startswith("Fale com a sua crianca")
    phone.send("PARAR")
    subscribe_as_caregiver(phone)  # back again, the same audience: the second tip comes next
    assert tasks.send_due(maputo(2, 9, 0)) == 1
    assert texts(fake_provider)[-1].startswith("Sinais de aliciamento")
    day = 2
    while Subscriber.objects.get().state == SubscriberState.ACTIVE:
        day += 7
        tasks.send_due(maputo(day, 9, 0))
    assert Dispatch.objects.count() == 8  # the whole series, each tip once
    assert Subscriber.objects.get().state == SubscriberState.COMPLETED
    subscribe_as_caregiver(phone)  # after the last tip: nothing is sent again
    assert tasks.send_due(maputo(day + 7, 9, 0)) == 0
    assert Subscriber.objects.get().state == SubscriberState.COMPLETED
    assert Dispatch.objects.count() == 8
