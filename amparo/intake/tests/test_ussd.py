"""The USSD menu: exact Africa's Talking requests, cumulative and per-step `text`, screens within 182
GSM-7 characters, reports, receipts, partial reports on abandoned sessions, and what is stored."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amparo.core import audit
from amparo.core.models import Agency, District, Province
from amparo.intake import gsm, receipts, ussd
from amparo.intake.models import Channel, Report, UssdSession
from amparo.intake.providers import create_channel
from amparo.intake.webhooks import webhook_query

PHONE = "+258841234567"
OTHER_PHONE = "+258849876543"
RECEIPT = re.compile(r"(\d{4} \d{4} \d{4} \d{4})")


@pytest.fixture
def channel(db) -> Channel:  # noqa: ANN001
    return create_channel(
        audit.Actor.system("tests"),
        name="USSD *458#",
        kind="ussd",
        provider="log",
        short_code="*458#",
        routing_agency=Agency.objects.get(code="linha-fala-crianca"),
    )


class Dialler:
    """One USSD session as Africa's Talking sends it: `text` is every input so far joined by `*`
    (`cumulative=True`) or, as some operators do, only the newest input."""

    counter = 0

    def __init__(
        self,
        client: Client,
        channel: Channel,
        session_id: str = "ATUid_1",
        cumulative: bool = True,
        phone: str = PHONE,
    ) -> None:
        self.client = client
        self.phone = phone
        self.channel = channel
        self.session_id = session_id
        self.cumulative = cumulative
        self.inputs: list[str] = []

    def post(self, text: str) -> tuple[int, str]:
        form = {
            "sessionId": self.session_id,
            "serviceCode": "*458#",
            "phoneNumber": self.phone,
            "networkCode": "64301",
            "text": text,
        }
        response = self.client.post(f"/channels/{self.channel.pk}/ussd{webhook_query(self.channel)}", form)
        return response.status_code, response.content.decode("utf-8")

    def dial(self) -> str:
        status, body = self.post("")
        assert status == 200
        return body

    def press(self, value: str) -> str:
        self.inputs.append(value)
        text = "*".join(self.inputs) if self.cumulative else value
        status, body = self.post(text)
        assert status == 200
        assert body.startswith(("CON ", "END "))
        assert len(body) <= 182, body
        assert gsm.is_gsm7(body), body
        return body


@pytest.fixture
def dialler(client: Client, channel: Channel) -> Dialler:
    return Dialler(client, channel)


def first_province() -> Province:
    return Province.objects.order_by("name").first()


def test_first_screen_offers_languages_each_in_its_own_name(dialler: Dialler) -> None:
    screen = dialler.dial()
    assert screen.startswith("CON ")
    for name in ["Portugues", "English", "Emakhuwa", "Xichangana", "Cisena", "Cinyanja"]:
        assert name in screen
    assert len(screen) <= 182


@pytest.mark.parametrize("cumulative", [True, False])
def test_full_report_gives_a_receipt_that_finds_the_report(
    client: Client, channel: Channel, cumulative: bool
) -> None:
    d = Dialler(client, channel, cumulative=cumulative)
    d.dial()
    assert "Report abuse" in d.press("2")  # English
    assert "What happened?" in d.press("1")
    assert "call you back" in d.press("2")  # threat to share sexual photos
    assert "Who is affected?" in d.press("1")  # yes, call me back
    assert "Which province?" in d.press("2")  # a child I know
    province = first_province()
    assert "Which district?" in d.press("1")
    district = District.objects.filter(province=province).order_by("name").first()
    final = d.press("1")
    assert final.startswith("END ")
    receipt = RECEIPT.search(final).group(1)
    report = Report.objects.select_related("case").get()
    assert receipts.lookup(receipt).pk == report.pk
    assert report.channel_kind == "ussd"
    assert report.who_affected == "child_known"
    assert report.language == "en"
    assert list(report.case.forms.values_list("form", flat=True)) == ["sextortion"]
    assert report.case.province == province
    assert report.case.district == district
    assert report.callback_consented
    assert report.callback_phone == PHONE
    session = UssdSession.objects.get()
    assert session.closed
    assert session.callback_phone == ""


def test_free_text_with_a_star_is_taken_as_the_difference(dialler: Dialler) -> None:
    dialler.dial()
    dialler.press("2")
    dialler.press("3")  # check a report
    receipt_with_star = "1234*5678*9012*3456"
    screen = dialler.press(receipt_with_star)
    assert screen.startswith("END ")
    assert "16 digits" in screen  # looked up as one receipt (none exists), not as four inputs


def test_repeated_request_shows_the_same_screen_without_consuming(dialler: Dialler) -> None:
    dialler.dial()
    dialler.press("2")
    first = dialler.press("1")  # "2*1": the operator sends every input so far
    status, again = dialler.post("2*1")
    assert status == 200
    assert again == first
    assert UssdSession.objects.get().state == "what"


def test_same_answer_twice_from_a_newest_input_operator_is_two_answers(
    client: Client, channel: Channel
) -> None:
    d = Dialler(client, channel, cumulative=False)
    d.dial()
    d.press("1")  # Portuguese
    d.press("1")  # report
    assert UssdSession.objects.get().state == "what"


def test_invalid_input_is_asked_again_once_then_ends_politely(dialler: Dialler) -> None:
    dialler.dial()
    again = dialler.press("9")
    assert again.startswith("CON ")
    assert "Portugues" in again
    final = dialler.press("x")
    assert final.startswith("END ")
    assert UssdSession.objects.get().closed


def test_help_screen_gives_116_and_112(dialler: Dialler) -> None:
    dialler.dial()
    dialler.press("1")
    screen = dialler.press("2")
    assert screen.startswith("END ")
    assert "112" in screen
    assert "116" in screen


def test_long_lists_are_paged_within_182_characters(dialler: Dialler) -> None:
    dialler.dial()
    dialler.press("2")
    page1 = dialler.press("1")
    assert "98 More" in page1
    shown = [int(n) for n in re.findall(r"^(\d+) ", page1, flags=re.M) if n != "98"]
    page2 = dialler.press("98")
    assert "0 Back" in page2
    later = [int(n) for n in re.findall(r"^(\d+) ", page2, flags=re.M) if n not in {"98", "0"}]
    assert later
    assert min(later) == max(shown) + 1
    back = dialler.press("0")
    assert back == page1


def test_every_district_of_every_province_can_be_reached(db: None) -> None:  # noqa: ARG001
    with translation.override("pt"):
        for province in Province.objects.all():
            labels = [d.name for d in District.objects.filter(province=province).order_by("name")] + [
                "Nao sei"
            ]
            seen: list[int] = []
            for page in range(30):
                body, shown, more = ussd.page_of(labels, page, "Qual distrito?")
                assert len(gsm.fold_ussd("CON " + body)) <= 182
                seen.extend(shown)
                if not more:
                    break
            assert seen == list(range(len(labels)))


def test_check_a_report_shows_the_plain_status(client: Client, channel: Channel) -> None:
    d = Dialler(client, channel, "ATUid_report")
    d.dial()
    for key in ["1", "1", "1", "2", "3", "1"]:
        last = d.press(key)
    final = d.press("1")
    receipt = RECEIPT.search(final).group(1)
    e = Dialler(client, channel, "ATUid_check")
    e.dial()
    e.press("2")
    e.press("3")
    screen = e.press(receipt.replace(" ", ""))
    assert screen.startswith("END ")
    assert "received" in screen.lower()
    assert last.startswith("CON ")


def test_receipt_guessing_by_ussd_is_rate_limited(client: Client, channel: Channel) -> None:
    for i in range(6):
        d = Dialler(client, channel, f"ATUid_guess_{i}")
        d.dial()
        d.press("2")
        d.press("3")
        screen = d.press(f"000000000000{i:04d}")
    assert "Too many" in screen


def test_abandoned_session_with_callback_consent_becomes_a_partial_report(dialler: Dialler) -> None:
    dialler.dial()
    dialler.press("1")
    dialler.press("1")
    dialler.press("3")  # what happened
    dialler.press("1")  # call me back
    UssdSession.objects.update(updated_at=ussd.timezone.now() - dt.timedelta(hours=1))
    assert ussd.expire_stale_sessions() == 1
    report = Report.objects.get()
    assert report.partial
    assert report.callback_consented
    assert report.callback_phone == PHONE
    session = UssdSession.objects.get()
    assert session.closed
    assert session.callback_phone == ""


def test_abandoned_session_without_consent_keeps_nothing(client: Client, channel: Channel) -> None:
    d = Dialler(client, channel, "ATUid_a")
    d.dial()
    d.press("1")
    d.press("1")
    d.press("3")
    d.press("2")  # no call-back
    e = Dialler(client, channel, "ATUid_b")
    e.dial()
    e.press("1")
    e.press("1")  # left before saying what happened
    UssdSession.objects.update(updated_at=ussd.timezone.now() - dt.timedelta(hours=1))
    assert ussd.expire_stale_sessions() == 2
    assert not Report.objects.exists()


def test_recent_sessions_are_not_expired(dialler: Dialler) -> None:
    dialler.dial()
    assert ussd.expire_stale_sessions() == 0
    assert not UssdSession.objects.get().closed


def test_closed_session_only_ends(dialler: Dialler) -> None:
    dialler.dial()
    dialler.press("1")
    dialler.press("2")  # help: END
    status, body = dialler.post("1*2*1")
    assert status == 200
    assert body.startswith("END ")


def test_two_interleaved_sessions_do_not_mix(client: Client, channel: Channel) -> None:
    a = Dialler(client, channel, "ATUid_A")
    b = Dialler(client, channel, "ATUid_B")
    a.dial()
    b.dial()
    for key_a, key_b in [("1", "2"), ("1", "1"), ("1", "5"), ("2", "2"), ("1", "3"), ("12", "12")]:
        a.press(key_a)
        b.press(key_b)
    forms = sorted(r.case.forms.get().form for r in Report.objects.select_related("case"))
    assert forms == ["grooming", "offer_for_images"]
    assert {r.language for r in Report.objects.all()} == {"pt", "en"}


def test_a_session_id_from_another_phone_ends_neutrally_and_changes_nothing(
    client: Client, channel: Channel, caplog: pytest.LogCaptureFixture
) -> None:
    owner = Dialler(client, channel)
    owner.dial()
    owner.press("2")  # English
    owner.press("1")  # report abuse
    owner.press("2")  # what happened
    stranger = Dialler(client, channel, phone=OTHER_PHONE)
    stranger.inputs = list(owner.inputs)
    before = UssdSession.objects.values().get()
    with caplog.at_level("WARNING", logger="amparo.intake.ussd"):
        screen = stranger.press("1")  # "yes, call me back" would put the stranger's number on the report
    assert screen == "END This session has ended. Please dial again."
    assert UssdSession.objects.values().get() == before
    session = UssdSession.objects.get()
    assert "intake.ussd_phone_mismatch" in caplog.text
    assert f"session={session.pk}" in caplog.text
    assert OTHER_PHONE[4:] not in caplog.text
    assert PHONE[4:] not in caplog.text
    # The owner's session carries on as if nothing happened, and the report calls the owner back.
    assert "Who is affected?" in owner.press("1")
    owner.press("2")
    owner.press("1")
    final = owner.press("1")
    assert RECEIPT.search(final)
    assert Report.objects.get().callback_phone == PHONE
    # Once the receipt is given the stranger sees nothing of it either.
    stranger.inputs = list(owner.inputs)
    assert not RECEIPT.search(stranger.press("1"))


def test_the_same_session_id_on_another_channel_is_another_session(client: Client, channel: Channel) -> None:
    other = create_channel(
        audit.Actor.system("tests"), name="USSD *459#", kind="ussd", provider="log", short_code="*459#"
    )
    first = Dialler(client, channel)
    first.dial()
    first.press("2")
    second = Dialler(client, other)
    assert "Emakhuwa" in second.dial()  # the language screen of a new session, not the first one's menu
    assert UssdSession.objects.filter(session_id="ATUid_1").count() == 2


def test_malformed_requests_are_refused(client: Client, channel: Channel) -> None:
    url = f"/channels/{channel.pk}/ussd{webhook_query(channel)}"
    good = {
        "sessionId": "ATUid_x",
        "serviceCode": "*458#",
        "phoneNumber": PHONE,
        "networkCode": "64301",
        "text": "",
    }
    assert client.get(url).status_code == 405
    assert client.post(url, {**good, "sessionId": ""}).status_code == 400
    assert client.post(url, {**good, "sessionId": "bad id;drop"}).status_code == 400
    assert client.post(url, {**good, "sessionId": "x" * 101}).status_code == 400
    assert client.post(url, {**good, "phoneNumber": "abc"}).status_code == 400
    assert client.post(url, {**good, "text": "1" * 2001}).status_code == 400
    assert client.post("/channels/7b0c4a3e-1111-4c2b-9a55-0123456789ab/ussd", good).status_code == 404
    assert not UssdSession.objects.exists()


def test_no_phone_number_in_clear_in_ussd_tables(dialler: Dialler) -> None:
    dialler.dial()
    for key in ["1", "1", "2", "1", "1", "1"]:
        dialler.press(key)
    dialler.press("1")
    with connection.cursor() as cursor:
        for table in [
            "intake_ussdsession",
            "intake_report",
            "cases_case",
            "core_auditentry",
            "intake_ratebucket",
        ]:
            cursor.execute(f"SELECT * FROM {table}")
            for row in cursor.fetchall():
                assert "841234567" not in " ".join(str(v) for v in row), table


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    session_id=st.one_of(st.text(max_size=120), st.from_regex(r"\AATUid_[a-z0-9]{1,20}\Z")),
    steps=st.lists(
        st.one_of(
            st.sampled_from(["1", "2", "3", "98", "0", "12", "", "*", "**"]),
            st.text(max_size=60),
            st.text(alphabet="áçã😀*#0123456789", max_size=40),
        ),
        max_size=10,
    ),
    cumulative=st.booleans(),
)
def test_any_input_gets_a_valid_screen(
    client: Client,
    channel: Channel,
    monkeypatch: pytest.MonkeyPatch,
    session_id: str,
    steps: list[str],
    cumulative: bool,
) -> None:
    monkeypatch.setenv("AMPARO_INTAKE_PHONE_RATE", "100000")
    monkeypatch.setenv("AMPARO_INTAKE_CHANNEL_RATE", "100000")
    Dialler.counter += 1
    if re.fullmatch(r"[A-Za-z0-9_.:\-]{1,100}", session_id):
        session_id = f"{session_id[:80]}-{Dialler.counter}"  # a fresh session for every example
    d = Dialler(client, channel, session_id, cumulative)
    status, body = d.post("")
    if status == 400:
        assert not re.fullmatch(r"[A-Za-z0-9_.:\-]{1,100}", session_id)
        return
    assert status == 200
    assert body.startswith("CON ")
    for step in steps:
        d.inputs.append(step)
        text = "*".join(d.inputs) if cumulative else step
        status, body = d.post(text)
        if "\x00" in text:
            assert status == 400
            continue
        assert status == 200
        assert body.startswith(("CON ", "END "))
        assert len(body) <= 182
        assert gsm.is_gsm7(body)
