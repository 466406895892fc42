"""Africa's Talking's answers as it really sends them (see data/africastalking/README.md): a success without
a status code, status codes as numbers or strings, an account that refuses the sender id with no recipient
at all, and webhook addresses saved with a trailing slash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

from amparo.core import audit
from amparo.core.models import Agency
from amparo.intake import sms, tasks
from amparo.intake.models import Channel, OutboundMessage, OutboundStatus
from amparo.intake.providers import AfricasTalkingProvider, ProviderError, channel_problem, create_channel
from amparo.intake.tests.test_providers import FakeProvider, fake_provider  # noqa: F401
from amparo.intake.tests.test_sms import channel  # noqa: F401  (an Africa's Talking channel on the fake)
from amparo.intake.webhooks import webhook_query

ANSWERS = json.loads((Path(__file__).parent / "data" / "africastalking" / "send_answers.json").read_text())
SYSTEM = audit.Actor.system("tests")


def send(fake: FakeProvider, answer: str, status: int = 201) -> object:
    fake.answer(status, json.dumps(ANSWERS[answer]))
    provider = AfricasTalkingProvider(username="amparo", api_key="k", base_url=fake.url)
    return provider.send(to="+258840000001", message="Recebemos a sua mensagem.", sender="1458")


@pytest.mark.parametrize(
    ("answer", "message_id"),
    [
        ("success_without_status_code", "ATXid_nocode01"),
        ("success_with_numeric_status_code", "ATXid_code101"),
        ("success_with_string_status_code", "ATXid_code102"),
        ("processed", "ATXid_code100"),
    ],
)
def test_every_shape_of_success_is_a_success_and_keeps_the_message_id(
    fake_provider: FakeProvider,  # noqa: F811
    answer: str,
    message_id: str,
) -> None:
    assert send(fake_provider, answer).provider_message_id == message_id


@pytest.mark.parametrize(
    ("answer", "reason", "retryable", "channel_fault"),
    [
        ("invalid_sender_id_no_recipients", "config:at:InvalidSenderId", False, True),
        ("invalid_sender_id_per_recipient", "config:at:402:InvalidSenderId", False, True),
        ("insufficient_balance", "config:at:405:InsufficientBalance", False, True),
        ("invalid_phone_number", "at:403:InvalidPhoneNumber", False, False),
        ("explicit_failed_status", "at:0:Failed", False, False),
        ("gateway_error", "at:501:GatewayError", True, False),
    ],
)
def test_failures_say_whether_a_retry_can_help_and_whether_the_channel_is_at_fault(
    fake_provider: FakeProvider,  # noqa: F811
    answer: str,
    reason: str,
    retryable: bool,
    channel_fault: bool,
) -> None:
    with pytest.raises(ProviderError) as caught:
        send(fake_provider, answer)
    assert caught.value.reason == reason
    assert caught.value.retryable is retryable
    assert caught.value.channel_fault is channel_fault


def queue(on: Channel, django_capture_on_commit_callbacks) -> OutboundMessage:  # noqa: ANN001
    with django_capture_on_commit_callbacks(execute=False):
        return sms.queue_reply(SYSTEM, on, None, "+258840000001", "", "Recebemos a sua mensagem.")


@pytest.mark.django_db
def test_a_refused_sender_id_fails_the_sms_at_once_keeps_the_providers_word_and_flags_the_channel(
    channel: Channel,  # noqa: F811
    fake_provider: FakeProvider,  # noqa: F811
    django_capture_on_commit_callbacks,  # noqa: ANN001
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = queue(channel, django_capture_on_commit_callbacks)
    fake_provider.answer(201, json.dumps(ANSWERS["invalid_sender_id_no_recipients"]))
    assert tasks.attempt_send(str(out.pk)) == OutboundStatus.FAILED
    out.refresh_from_db()
    assert out.attempts == 1  # permanent: not retried
    assert out.next_attempt_at is None
    assert out.failure_reason == "config:at:InvalidSenderId"
    assert len(fake_provider.received) == 1
    assert channel_problem(channel) == "at:InvalidSenderId"

    call_command("channels", "list")
    assert "at:InvalidSenderId" in capsys.readouterr().out
    call_command("channels", "list", "--json")
    [listed] = json.loads(capsys.readouterr().out)["channels"]
    assert listed["problem"] == "at:InvalidSenderId"

    # Once the account is fixed, the next message goes and the channel is healthy again.
    again = queue(channel, django_capture_on_commit_callbacks)
    fake_provider.answer(201, json.dumps(ANSWERS["success_without_status_code"]))
    assert tasks.attempt_send(str(again.pk)) == OutboundStatus.SENT
    again.refresh_from_db()
    assert again.provider_message_id == "ATXid_nocode01"
    assert channel_problem(channel) == ""


@pytest.mark.django_db
def test_a_wrong_recipient_fails_the_message_but_not_the_channel(
    channel: Channel,  # noqa: F811
    fake_provider: FakeProvider,  # noqa: F811
    django_capture_on_commit_callbacks,  # noqa: ANN001
) -> None:
    out = queue(channel, django_capture_on_commit_callbacks)
    fake_provider.answer(201, json.dumps(ANSWERS["invalid_phone_number"]))
    assert tasks.attempt_send(str(out.pk)) == OutboundStatus.FAILED
    assert channel_problem(channel) == ""


INBOUND = {"from": "+258840000001", "to": "1458", "text": "oi", "date": "2026-11-20 10:00:00", "linkId": "l1"}
USSD = {"sessionId": "ATUid_slash", "serviceCode": "*458#", "phoneNumber": "+258840000001", "text": ""}


@pytest.mark.django_db
@pytest.mark.parametrize("slash", ["", "/"])
def test_webhooks_answer_the_same_with_or_without_a_trailing_slash(
    channel: Channel,  # noqa: F811
    client: Client,
    slash: str,
) -> None:
    ussd = create_channel(
        SYSTEM,
        name="USSD",
        kind="ussd",
        provider="log",
        short_code="*458#",
        routing_agency=Agency.objects.get(code="linha-fala-crianca"),
        languages=["pt", "en"],
    )
    inbound = client.post(
        f"/channels/{channel.pk}/sms/inbound{slash}{webhook_query(channel)}",
        {**INBOUND, "id": f"ATXid_s{len(slash)}"},
    )
    assert inbound.status_code == 200
    delivery = client.post(
        f"/channels/{channel.pk}/sms/delivery{slash}{webhook_query(channel)}",
        {"id": "ATXid_unknown", "status": "Success"},
    )
    assert delivery.status_code == 200
    screen = client.post(f"/channels/{ussd.pk}/ussd{slash}{webhook_query(ussd)}", USSD)
    assert screen.status_code == 200
    assert screen.content.decode().startswith("CON ")
