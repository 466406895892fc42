"""The SMS channel end to end: exact Africa's Talking callbacks in, replies out through a local server
playing Africa's Talking, and what is (and is not) stored."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from django.utils import timezone, translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amparo.cases.models import Case
from amparo.core import audit
from amparo.core.models import Agency, AuditEntry, Province
from amparo.intake import gsm, receipts, sms, tasks
from amparo.intake.actions import STATUS_TEXT
from amparo.intake.models import (
    Channel,
    InboundMessage,
    MessageDirection,
    OutboundMessage,
    OutboundStatus,
    RateBucket,
    Report,
    ReporterMessage,
    SmsConversation,
)
from amparo.intake.providers import create_channel, set_webhook_allow
from amparo.intake.tests.test_providers import FakeProvider, at_success, fake_provider  # noqa: F401
from amparo.intake.webhooks import webhook_query

PHONE = "+258841234567"
OTHER_PHONE = "+258829876543"
RECEIPT = re.compile(r"\b(\d{4} \d{4} \d{4} \d{4})\b")


@pytest.fixture
def channel(db, fake_provider: FakeProvider, monkeypatch: pytest.MonkeyPatch) -> Channel:  # noqa: ANN001, F811
    monkeypatch.setenv("AMPARO_SMS_API_BASE_URL", fake_provider.url)
    monkeypatch.delenv("AMPARO_SMS_PROVIDER", raising=False)
    return create_channel(
        audit.Actor.system("tests"),
        name="Linha 1458",
        kind="sms",
        provider="africastalking",
        short_code="1458",
        credentials={"username": "amparo", "api_key": "test-key"},
        routing_agency=Agency.objects.get(code="linha-fala-crianca"),
        languages=["pt", "en", "vmw", "ts", "seh", "ny"],
    )


class Phone:
    """One handset talking to the channel through the webhook, as Africa's Talking would deliver it."""

    counter = 0

    def __init__(self, client: Client, channel: Channel, capture, number: str = PHONE) -> None:  # noqa: ANN001
        self.client = client
        self.channel = channel
        self.capture = capture
        self.number = number

    def send(self, text: str, *, message_id: str | None = None, date: str | None = None) -> int:
        Phone.counter += 1
        form = {
            "from": self.number,
            "to": "1458",
            "text": text,
            "date": date or timezone.now().strftime("%Y-%m-%d %H:%M:%S.%f"),
            "id": message_id or f"ATXid_{Phone.counter}_{id(self)}",
            "linkId": f"SampleLinkId{Phone.counter}",
        }
        with self.capture(execute=True):
            response = self.client.post(
                f"/channels/{self.channel.pk}/sms/inbound{webhook_query(self.channel)}", form
            )
        return response.status_code


@pytest.fixture
def phone(client: Client, channel: Channel, django_capture_on_commit_callbacks) -> Phone:  # noqa: ANN001
    return Phone(client, channel, django_capture_on_commit_callbacks)


def sent_texts(fake: FakeProvider) -> list[str]:
    return [r.form["message"] for r in fake.received]


def complete_report(phone: Phone, *, callback: bool) -> None:
    assert phone.send("Ola, preciso de ajuda com uma coisa") == 200
    assert phone.send("2") == 200  # threat to share sexual photos
    assert phone.send("1") == 200  # me
    assert phone.send("1") == 200  # first province by name
    assert phone.send("He says he will post my photos. Account @someone on Instagram") == 200
    assert phone.send("1" if callback else "2") == 200


def test_guided_conversation_creates_report_and_texts_receipt(
    phone: Phone,
    fake_provider: FakeProvider,  # noqa: F811
) -> None:
    complete_report(phone, callback=True)
    report = Report.objects.select_related("case").get()
    assert report.channel_kind == "sms"
    assert report.who_affected == "me"
    assert list(report.case.forms.values_list("form", flat=True)) == ["sextortion"]
    assert report.case.owning_agency.code == "linha-fala-crianca"
    assert report.case.province == Province.objects.order_by("name").first()
    assert "Instagram" in report.case.narrative
    assert "preciso de ajuda" in report.case.narrative
    assert report.callback_consented
    assert report.callback_phone == PHONE
    texts = sent_texts(fake_provider)
    assert len(texts) == 6
    receipt = RECEIPT.search(texts[-1]).group(1)
    assert receipts.lookup(receipt).pk == report.pk
    for request in fake_provider.received:
        assert request.path == "/version1/messaging"
        assert request.headers["apiKey"] == "test-key"
        assert request.form["username"] == "amparo"
        assert request.form["to"] == PHONE
        assert request.form["from"] == "1458"
    assert OutboundMessage.objects.filter(status=OutboundStatus.SENT).count() == 6
    conv = SmsConversation.objects.get()
    assert conv.state == SmsConversation.State.IDLE
    assert conv.answers == {}
    assert conv.narrative == ""


def test_without_consent_no_number_is_kept_on_the_report(phone: Phone) -> None:
    complete_report(phone, callback=False)
    report = Report.objects.get()
    assert not report.callback_consented
    assert report.callback_phone == ""


def test_duplicate_delivery_creates_no_second_report_or_reply(
    phone: Phone,
    fake_provider: FakeProvider,  # noqa: F811
) -> None:
    for text in ["oi", "2", "1", "1", "0"]:
        phone.send(text)
    for _ in range(3):
        assert phone.send("2", message_id="ATXid_final") == 200
    assert Report.objects.count() == 1
    assert Case.objects.count() == 1
    assert InboundMessage.objects.filter(provider_message_id="ATXid_final").count() == 1
    assert OutboundMessage.objects.count() == 6
    assert len(fake_provider.received) == 6


def test_status_keyword_answers_with_plain_status_and_staff_message(
    phone: Phone,
    fake_provider: FakeProvider,  # noqa: F811
) -> None:
    complete_report(phone, callback=False)
    receipt = RECEIPT.search(sent_texts(fake_provider)[-1]).group(1)
    report = Report.objects.get()
    ReporterMessage.objects.create(
        report=report, direction=MessageDirection.TO_REPORTER, text="Ligue 116 amanha."
    )
    assert phone.send(f"ESTADO {receipt}") == 200
    reply = sent_texts(fake_provider)[-1]
    assert gsm.fold(str(STATUS_TEXT["received"])) in reply
    assert "Ligue 116 amanha." in reply
    assert phone.send(f"status {receipt.replace(' ', '-')}") == 200
    assert "Ligue 116" not in sent_texts(fake_provider)[-1]  # already seen: not repeated


def test_status_of_unknown_receipt_reveals_nothing(phone: Phone, fake_provider: FakeProvider) -> None:  # noqa: F811
    assert phone.send("STATUS 1234 5678 9012 3456") == 200
    with translation.override("pt"):
        assert sent_texts(fake_provider)[-1] == sms.sms_text(sms.status_unknown_reply())


def test_receipt_guessing_by_sms_is_rate_limited(phone: Phone, fake_provider: FakeProvider) -> None:  # noqa: F811
    for i in range(sms.RECEIPT_CHECKS_PER_HOUR):
        phone.send(f"STATUS 0000 0000 0000 {i:04d}")
    phone.send("STATUS 0000 0000 0000 9999")
    with translation.override("pt"):
        assert sent_texts(fake_provider)[-1] == sms.sms_text(sms.status_limited_reply())


def test_language_keyword_switches_the_conversation(phone: Phone, fake_provider: FakeProvider) -> None:  # noqa: F811
    phone.send("hello")
    phone.send("ENGLISH")
    conv = SmsConversation.objects.get()
    assert conv.language == "en"
    with translation.override("en"):
        assert sent_texts(fake_provider)[-1] == sms.sms_text(sms.prompt_for("what"))
    phone.send("2")
    assert SmsConversation.objects.get().state == "who"


@pytest.mark.parametrize(
    ("keyword", "code"), [("EMAKHUWA", "vmw"), ("Xichangana", "ts"), ("cisena", "seh"), ("NYANJA", "ny")]
)
def test_local_language_keyword_falls_back_to_portuguese_text(
    phone: Phone,
    fake_provider: FakeProvider,  # noqa: F811
    keyword: str,
    code: str,
) -> None:
    phone.send(keyword)
    assert SmsConversation.objects.get().language == code
    with translation.override("pt"):
        assert sent_texts(fake_provider)[-1] == sms.sms_text(sms.prompt_for("what"))


def test_invalid_answer_is_asked_again_once_then_the_conversation_restarts(phone: Phone) -> None:
    phone.send("oi")
    phone.send("banana")
    assert SmsConversation.objects.get().state == "what"
    phone.send("99")
    conv = SmsConversation.objects.get()
    assert conv.state == "idle"
    assert Report.objects.count() == 0


def test_stop_discards_the_answers(phone: Phone) -> None:
    phone.send("oi")
    phone.send("3")
    phone.send("PARAR")
    conv = SmsConversation.objects.get()
    assert conv.state == "idle"
    assert conv.answers == {}


def test_out_of_order_message_is_kept_without_answering_a_question(
    phone: Phone,
    fake_provider: FakeProvider,  # noqa: F811
) -> None:
    now = timezone.now()
    phone.send("oi", date=(now - dt.timedelta(seconds=50)).strftime("%Y-%m-%d %H:%M:%S"))
    phone.send("1", date=(now - dt.timedelta(seconds=10)).strftime("%Y-%m-%d %H:%M:%S"))
    replies_before = len(fake_provider.received)
    phone.send("3", date=(now - dt.timedelta(seconds=30)).strftime("%Y-%m-%d %H:%M:%S"))  # late
    conv = SmsConversation.objects.get()
    assert conv.state == "who"
    assert conv.answers["form"] == "grooming"
    assert len(fake_provider.received) == replies_before
    assert InboundMessage.objects.filter(late=True).count() == 1


def test_two_phones_interleaved_keep_separate_conversations(
    client: Client,
    channel: Channel,
    django_capture_on_commit_callbacks,  # noqa: ANN001
) -> None:
    a = Phone(client, channel, django_capture_on_commit_callbacks, PHONE)
    b = Phone(client, channel, django_capture_on_commit_callbacks, OTHER_PHONE)
    for text_a, text_b in [("oi", "hello"), ("2", "EN"), ("1", "5"), ("1", "2"), ("0", "3"), ("2", "0")]:
        a.send(text_a)
        b.send(text_b)
    b.send("1")
    reports = Report.objects.select_related("case")
    assert sorted(r.case.forms.get().form for r in reports) == ["offer_for_images", "sextortion"]
    assert {r.language for r in reports} == {"pt", "en"}
    assert SmsConversation.objects.count() == 2


def test_failing_provider_never_loses_the_report_and_is_retried(
    phone: Phone,
    fake_provider: FakeProvider,  # noqa: F811
) -> None:
    for _ in range(6):
        fake_provider.answer(500, "Internal Server Error")
    complete_report(phone, callback=False)
    assert Report.objects.count() == 1
    final = OutboundMessage.objects.order_by("-created_at").first()
    assert final.status == OutboundStatus.QUEUED
    assert final.attempts == 1
    assert final.failure_reason == "http:500"
    assert final.next_attempt_at > timezone.now()
    assert tasks.send_due_sms() == 0  # nothing due yet: back-off
    OutboundMessage.objects.update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))
    assert tasks.send_due_sms() == 6
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {OutboundStatus.SENT}
    assert OutboundMessage.objects.get(pk=final.pk).attempts == 2
    assert RECEIPT.search(sent_texts(fake_provider)[-1])


def test_back_off_doubles_and_gives_up_after_max_attempts(
    phone: Phone,
    fake_provider: FakeProvider,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AMPARO_SMS_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("AMPARO_SMS_RETRY_BASE_SECONDS", "10")
    assert [tasks.backoff(n).total_seconds() for n in (1, 2, 3)] == [10, 20, 40]
    for _ in range(3):
        fake_provider.answer(503, "busy")
    phone.send("oi")
    msg = OutboundMessage.objects.get()
    for _ in range(2):
        OutboundMessage.objects.update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))
        tasks.send_due_sms()
    msg.refresh_from_db()
    assert msg.status == OutboundStatus.FAILED
    assert msg.attempts == 3
    assert msg.recipient == ""  # the number is forgotten once the message's fate is known


def test_delivery_report_marks_delivered_and_erases_the_number(
    client: Client,
    phone: Phone,
    channel: Channel,
    fake_provider: FakeProvider,  # noqa: F811
) -> None:
    fake_provider.answer(201, at_success("ATXid_out_1"))
    phone.send("oi")
    msg = OutboundMessage.objects.get()
    assert msg.provider_message_id == "ATXid_out_1"
    assert msg.recipient == PHONE
    form = {
        "id": "ATXid_out_1",
        "status": "Success",
        "phoneNumber": PHONE,
        "networkCode": "64301",
        "retryCount": "0",
    }
    assert (
        client.post(f"/channels/{channel.pk}/sms/delivery{webhook_query(channel)}", form).status_code == 200
    )
    msg.refresh_from_db()
    assert msg.status == OutboundStatus.DELIVERED
    assert msg.recipient == ""
    assert msg.final_at


def test_failed_delivery_records_the_reason(
    client: Client,
    phone: Phone,
    channel: Channel,
    fake_provider: FakeProvider,  # noqa: F811
) -> None:
    fake_provider.answer(201, at_success("ATXid_out_2"))
    phone.send("oi")
    form = {
        "id": "ATXid_out_2",
        "status": "Failed",
        "failureReason": "AbsentSubscriber",
        "phoneNumber": PHONE,
    }
    assert (
        client.post(f"/channels/{channel.pk}/sms/delivery{webhook_query(channel)}", form).status_code == 200
    )
    msg = OutboundMessage.objects.get()
    assert msg.status == OutboundStatus.FAILED
    assert msg.failure_reason == "AbsentSubscriber"


def test_delivery_report_for_unknown_id_is_acknowledged_and_ignored(client: Client, channel: Channel) -> None:
    response = client.post(
        f"/channels/{channel.pk}/sms/delivery{webhook_query(channel)}", {"id": "nope", "status": "Success"}
    )
    assert response.status_code == 200
    assert not OutboundMessage.objects.exists()


@pytest.mark.parametrize("query", ["", "?token=", "?token=wrong", "?tok=x"])
def test_a_webhook_without_the_channels_secret_is_a_bare_404_and_writes_nothing(
    client: Client, channel: Channel, query: str
) -> None:
    form = {"from": PHONE, "text": "Ola", "id": "ATXid_forged", "to": "1458"}
    before = {model: model.objects.count() for model in (InboundMessage, RateBucket, AuditEntry)}
    for route in ("sms/inbound", "sms/delivery"):
        response = client.post(f"/channels/{channel.pk}/{route}{query}", form)
        assert response.status_code == 404
        assert response.content == b""
    assert {model: model.objects.count() for model in before} == before


def test_a_webhook_from_outside_the_channels_networks_is_a_bare_404(
    client: Client, channel: Channel, settings
) -> None:
    settings.AMPARO_TRUSTED_PROXIES = 1
    set_webhook_allow(audit.Actor.system("tests"), channel, ["196.201.214.0/24"])
    url = f"/channels/{channel.pk}/sms/inbound{webhook_query(channel)}"
    form = {"from": PHONE, "text": "Ola", "to": "1458"}
    outside = client.post(
        url, {**form, "id": "ATXid_1"}, REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="203.0.113.9"
    )
    assert outside.status_code == 404
    forged = client.post(
        url,
        {**form, "id": "ATXid_2"},
        REMOTE_ADDR="10.0.0.5",
        HTTP_X_FORWARDED_FOR="196.201.214.20, 203.0.113.9",
    )
    assert forged.status_code == 404
    assert not InboundMessage.objects.exists()
    inside = client.post(
        url, {**form, "id": "ATXid_3"}, REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="196.201.214.20"
    )
    assert inside.status_code == 200
    assert InboundMessage.objects.count() == 1


def test_unknown_or_inactive_channel_is_a_bare_404(client: Client, channel: Channel) -> None:
    form = {"from": PHONE, "to": "1458", "text": "oi", "id": "x1", "date": "2026-01-01 10:00:00"}
    missing = client.post("/channels/7b0c4a3e-1111-4c2b-9a55-0123456789ab/sms/inbound", form)
    assert missing.status_code == 404
    Channel.objects.filter(pk=channel.pk).update(active=False)
    inactive = client.post(f"/channels/{channel.pk}/sms/inbound{webhook_query(channel)}", form)
    assert inactive.status_code == 404
    assert str(channel.pk) not in inactive.content.decode()
    assert not InboundMessage.objects.exists()


def test_ussd_channel_id_is_not_an_sms_endpoint(client: Client, channel: Channel) -> None:
    Channel.objects.filter(pk=channel.pk).update(kind="ussd")
    form = {"from": PHONE, "text": "oi", "id": "x1"}
    assert client.post(f"/channels/{channel.pk}/sms/inbound{webhook_query(channel)}", form).status_code == 404


def test_webhook_refuses_get_oversized_and_malformed(client: Client, channel: Channel) -> None:
    url = f"/channels/{channel.pk}/sms/inbound{webhook_query(channel)}"
    assert client.get(url).status_code == 405
    assert client.post(url, {"from": PHONE, "text": "x" * 70_000, "id": "big"}).status_code == 413
    assert client.post(url, {"text": "oi", "id": "a"}).status_code == 400
    assert client.post(url, {"from": "not-a-phone", "text": "oi", "id": "a"}).status_code == 400
    assert client.post(url, {"from": PHONE, "text": "oi", "id": "bad id with spaces"}).status_code == 400
    assert client.post(url, {"from": PHONE, "text": "x" * 5001, "id": "long"}).status_code == 400
    assert client.post(url, {"from": PHONE, "text": "a\x00b", "id": "nul"}).status_code == 400
    assert not InboundMessage.objects.exists()


def test_flood_from_one_phone_is_rate_limited(
    phone: Phone,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AMPARO_INTAKE_PHONE_RATE", "3")
    codes = [phone.send("oi") for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    assert InboundMessage.objects.count() == 3


def test_flood_on_one_channel_is_rate_limited(
    client: Client,
    channel: Channel,
    django_capture_on_commit_callbacks,  # noqa: ANN001
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AMPARO_INTAKE_CHANNEL_RATE", "2")
    codes = [
        Phone(client, channel, django_capture_on_commit_callbacks, f"+25884000000{i}").send("oi")
        for i in range(4)
    ]
    assert codes == [200, 200, 429, 429]


def _raw_rows() -> Iterator[tuple[str, str]]:
    with connection.cursor() as cursor:
        for model in apps.get_models():
            table = model._meta.db_table
            if table not in connection.introspection.table_names():
                continue
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                yield table, " ".join(str(v) for v in row)


def test_no_phone_number_is_stored_in_clear_anywhere(
    client: Client,
    channel: Channel,
    django_capture_on_commit_callbacks,  # noqa: ANN001
    fake_provider: FakeProvider,  # noqa: F811
) -> None:
    fake_provider.answer(201, at_success("ATXid_1"))
    a = Phone(client, channel, django_capture_on_commit_callbacks, PHONE)
    complete_report(a, callback=True)
    a.send("STATUS 1111 2222 3333 4444")
    client.post(
        f"/channels/{channel.pk}/sms/delivery{webhook_query(channel)}",
        {"id": "ATXid_1", "status": "Success", "phoneNumber": PHONE},
    )
    needles = ["841234567", "84 123 4567", "84-123-4567"]
    leaks = [table for table, row in _raw_rows() if any(n in row for n in needles)]
    assert leaks == []
    assert Report.objects.get().callback_phone == PHONE  # consented: kept, encrypted


REPLY_BUILDERS = [
    lambda: sms.prompt_for("what"),
    lambda: sms.prompt_for("who"),
    lambda: sms.prompt_for("province"),
    lambda: sms.prompt_for("details"),
    lambda: sms.prompt_for("callback"),
    lambda: sms.invalid_reply("what"),
    lambda: sms.invalid_reply("province"),
    lambda: sms.gave_up_reply(),
    lambda: sms.done_reply("1234567890123456"),
    lambda: sms.idle_reply(),
    lambda: sms.stop_reply(),
    lambda: sms.help_reply(),
    lambda: sms.status_unknown_reply(),
    lambda: sms.status_limited_reply(),
    lambda: sms.status_reply(str(STATUS_TEXT["referred_social"]), []),
]


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["pt", "en", "vmw", "ts", "seh", "ny"])
def test_every_reply_template_fits_three_parts_in_every_language(language: str) -> None:
    with translation.override(language):
        for build in REPLY_BUILDERS:
            raw = gsm.fold(build())
            assert gsm.segment(raw).parts <= sms.MAX_REPLY_PARTS, raw  # fits before any cut
            assert gsm.is_gsm7(raw)


@pytest.mark.django_db
def test_long_staff_messages_are_cut_to_three_parts() -> None:
    with translation.override("pt"):
        text = sms.sms_text(sms.status_reply("Estado.", ["Mensagem longa 😀 " * 100, "outra"]))
    assert gsm.segment(text).parts <= 3
    assert text.endswith("...")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    texts=st.lists(
        st.one_of(
            st.text(max_size=200),
            st.sampled_from(["", "1", "2", "3", "12", "0", "EN", "PT", "NOVO", "ESTADO 1234", "😀😀", "ção"]),
            st.just("x" * 5000),
            st.text(alphabet="áéíóúãõçÁÉ😀*#", min_size=1, max_size=300),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_any_text_gets_a_short_gsm_reply_and_is_stored_encrypted(
    phone: Phone,
    fake_provider: FakeProvider,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    texts: list[str],
) -> None:
    monkeypatch.setenv("AMPARO_INTAKE_PHONE_RATE", "100000")
    monkeypatch.setenv("AMPARO_INTAKE_CHANNEL_RATE", "100000")
    for text in texts:
        before = len(fake_provider.received)
        if "\x00" in text:  # strict validation: refused, nothing stored, no reply
            assert phone.send(text) == 400
            assert len(fake_provider.received) == before
            continue
        assert phone.send(text) == 200
        assert len(fake_provider.received) == before + 1  # exactly one reply per new message
        reply = fake_provider.received[-1].form["message"]
        assert reply
        assert gsm.is_gsm7(reply)
        assert gsm.segment(reply).parts <= 3
    with connection.cursor() as cursor:
        cursor.execute("SELECT text FROM intake_inboundmessage")
        assert all(value == "" or value.startswith("enc1$") for (value,) in cursor.fetchall())


def test_one_message_leaves_exactly_its_audit_entries(phone: Phone, channel: Channel) -> None:
    from amparo.core.models import AuditEntry
    from amparo.intake.models import ChannelAudit

    before = AuditEntry.objects.count()
    phone.send("oi")
    entries = list(AuditEntry.objects.order_by("id")[before:])
    assert [(e.action, e.actor_channel) for e in entries] == [
        (ChannelAudit.SMS_QUEUE, f"sms:{channel.pk}"),
        (ChannelAudit.SMS_RECEIVE, f"sms:{channel.pk}"),
        (ChannelAudit.SMS_SEND, "intake:sms"),
    ]
    assert entries[1].object_type == "intake.inboundmessage"
    assert "text" in entries[1].fields
    assert all("841234567" not in str(e.fields) for e in entries)
