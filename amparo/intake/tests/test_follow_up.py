"""Anonymous follow-up: status in plain words, staff messages, replies, and guessing throttled."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amparo.cases import actions as case_actions
from amparo.cases.tests.fixtures import given_consent
from amparo.core import audit
from amparo.core.models import Agency
from amparo.intake import actions, receipts
from amparo.intake.models import Attachment, ReporterMessage
from amparo.intake.permissions import IntakeAudit
from amparo.intake.tests.test_web_report import png_bytes

WEB = audit.Actor(channel="web")


def submit(narrative: str = "An invented account of grooming.") -> actions.SubmittedReport:
    return actions.submit_public_report(
        WEB,
        channel_kind="web",
        owning_agency=Agency.objects.get(code="linha-fala-crianca"),
        forms=["grooming"],
        platforms=["tiktok"],
        who_affected="me",
        province=None,
        district=None,
        narrative=narrative,
    )


def check(client: Any, receipt: str, **extra: Any) -> Any:
    return client.post("/report/follow-up/", {"receipt": receipt}, **extra)


@pytest.fixture
def worker(make_user):  # noqa: ANN001, ANN201
    return make_user("helpline_operator", agency="linha-fala-crianca")


@pytest.mark.django_db
def test_the_reporter_sees_the_status_in_plain_words_and_a_staff_message_once(client, worker):
    submitted = submit()
    actions.staff_message_reporter(worker, submitted.case, "Thank you. Is the account still writing to you?")
    response = check(client, receipts.display(submitted.receipt))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-status="received"' in html
    assert "Is the account still writing to you?" in html
    assert ReporterMessage.objects.get().seen_by_reporter_at is not None
    again = check(client, submitted.receipt).content.decode()
    assert (
        "Is the account still writing to you?" not in again
    )  # shown once: a watched screen later shows nothing


@pytest.mark.django_db
def test_a_referral_to_the_police_is_described_as_such(worker):
    submitted = submit()
    case = submitted.case
    case_actions.transition_case(worker, case, "triaged", reason="ok")
    case_actions.refer_case(
        worker,
        case,
        Agency.objects.get(code="sernic"),
        reason="Investigation needed.",
        consent=given_consent(case, actor=worker),
    )
    case_actions.transition_case(worker, case, "referred", reason="Investigation needed.")
    assert actions.reporter_status(submitted.receipt).status == "referred_police"


@pytest.mark.django_db
def test_a_closed_case_reads_closed(worker):
    submitted = submit()
    case_actions.transition_case(worker, submitted.case, "closed", reason="Not OCSEA.", outcome="no_offence")
    assert actions.reporter_status(submitted.receipt).status == "closed"


@pytest.mark.django_db
def test_an_unknown_receipt_gets_the_same_answer_whatever_the_digits(client):
    client.cookies["django_language"] = "en"  # these assertions read the English wording
    submit()
    first = check(client, "1111 2222 3333 4444")
    second = check(client, "9999 8888 7777 6666")
    assert first.status_code == second.status_code == 404
    token = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')
    assert token.sub("", first.content.decode()) == token.sub("", second.content.decode())
    assert "could not open a report" in first.content.decode()
    assert "1111" not in first.content.decode()  # what was typed is not echoed back


@pytest.mark.django_db
def test_a_reply_is_stored_encrypted_and_staff_can_read_it(client, worker):
    client.cookies["django_language"] = "en"  # these assertions read the English wording
    submitted = submit()
    response = client.post(
        "/report/follow-up/", {"receipt": submitted.receipt, "text": "He also wrote on WhatsApp."}
    )
    assert response.status_code == 200
    assert "Your message was sent" in response.content.decode()
    message = ReporterMessage.objects.get()
    assert message.direction == "from_reporter"
    assert message.text == "He also wrote on WhatsApp."
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT text FROM intake_reportermessage")
        assert "WhatsApp" not in cursor.fetchone()[0]
    thread = actions.read_reporter_messages(worker, submitted.case)
    assert [m.text for m in thread] == ["He also wrote on WhatsApp."]
    assert ReporterMessage.objects.get().read_by_staff_at is not None


@pytest.mark.django_db
def test_a_reply_may_carry_a_screenshot(client):
    submitted = submit()
    upload = io.BytesIO(png_bytes("green"))
    upload.name = "threat.png"
    response = client.post(
        "/report/follow-up/", {"receipt": submitted.receipt, "text": "", "attachment": upload}
    )
    assert response.status_code == 200
    assert Attachment.objects.get().message == ReporterMessage.objects.get()


@pytest.mark.django_db
def test_a_reply_with_an_unknown_receipt_stores_nothing(client):
    response = client.post("/report/follow-up/", {"receipt": "1234567812345678", "text": "Hello"})
    assert response.status_code == 404
    assert ReporterMessage.objects.count() == 0


@pytest.mark.django_db
def test_no_other_reporters_data_appears_in_a_follow_up(client, worker):
    mine, theirs = submit("Mine: invented."), submit("Theirs: invented secret detail.")
    actions.staff_message_reporter(worker, theirs.case, "Message for the other reporter only.")
    actions.add_reporter_reply(WEB, theirs.receipt, "Other reporter's reply.")
    html = check(client, mine.receipt).content.decode()
    for secret in (
        "Message for the other reporter only.",
        "Other reporter's reply.",
        "secret detail",
        theirs.case.reference,
        mine.case.reference,
    ):
        assert secret not in html


@pytest.mark.django_db
def test_receipt_guessing_from_one_client_is_throttled_even_for_a_right_receipt(client, monkeypatch):
    monkeypatch.setenv("AMPARO_FOLLOW_UP_PER_CLIENT_HOUR", "5")
    submitted = submit()
    for n in range(5):
        assert check(client, f"{n:016d}").status_code == 404
    assert check(client, submitted.receipt).status_code == 429
    # Another client is not affected by the first one's guessing.
    assert check(client, submitted.receipt, REMOTE_ADDR="198.51.100.20").status_code == 200


@pytest.mark.django_db
def test_receipt_guessing_spread_over_many_clients_hits_the_global_limit(client, monkeypatch):
    monkeypatch.setenv("AMPARO_FOLLOW_UP_PER_MINUTE", "3")
    for n in range(3):
        assert check(client, f"{n:016d}", REMOTE_ADDR=f"198.51.100.{n + 1}").status_code == 404
    assert check(client, "0000000000000009", REMOTE_ADDR="198.51.100.99").status_code == 429


@pytest.mark.django_db
def test_staff_without_access_to_the_case_cannot_message_its_reporter(make_user):
    submitted = submit()
    other = make_user("investigator", agency="sernic")
    with pytest.raises(PermissionDenied):
        actions.staff_message_reporter(other, submitted.case, "Hello")
    assert ReporterMessage.objects.count() == 0


@pytest.mark.django_db
def test_staff_messages_and_reporter_views_are_audited(worker):
    submitted = submit()
    actions.staff_message_reporter(worker, submitted.case, "A question.")
    actions.reporter_status(submitted.receipt)
    actions.add_reporter_reply(WEB, submitted.receipt, "An answer.")
    actions_logged = list(audit.AuditEntry.objects.values_list("action", "fields").order_by("id"))
    assert (str(IntakeAudit.STAFF_MESSAGE), ["text"]) in actions_logged
    assert (str(IntakeAudit.STATUS_VIEW), ["messages", "status"]) in actions_logged
    assert (str(IntakeAudit.REPORTER_REPLY), ["text"]) in actions_logged


@pytest.mark.django_db
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    values=st.dictionaries(st.sampled_from(["receipt", "text", "website"]), st.text(max_size=200), max_size=3)
)
def test_any_post_to_the_follow_up_page_gets_a_clear_answer_never_a_server_error(client, values):
    response = client.post("/report/follow-up/", values)
    assert response.status_code in (200, 400, 404, 429)
