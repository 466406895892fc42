"""Property tests (hypothesis) of the campaign's two parsers in place: any sequence of SMS messages
(keywords, answers, free text) and any input in the USSD "Learn to stay safe" menu.

SMS: whatever is sent, every message gets exactly one GSM-7 reply, and after PARAR/STOP the
subscriber is stopped, its number forgotten and nothing more is sent to it until it subscribes again.
USSD: every screen is a valid CON/END screen within 182 GSM-7 characters, and a number is subscribed
only when the person chose an audience and then asked for tips by SMS.
"""

from __future__ import annotations

import itertools

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amparo.core import crypto
from amparo.intake import gsm
from amparo.intake.hooks import UssdContext
from amparo.intake.models import Channel
from amparo.intake.providers import create_channel
from amparo.intake.tests.test_providers import FakeProvider
from amparo.intake.webhooks import webhook_query
from amparo.lib import normalise
from amparo.outreach import keywords, seed, tasks, ussd
from amparo.outreach.models import Audience, Dispatch, Subscriber, SubscriberState
from amparo.outreach.tests.helpers import SYSTEM, Phone, approve_all, make_sms_channel, maputo

pytestmark = pytest.mark.django_db

_numbers = itertools.count(1)
PROPERTY_SETTINGS = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _fresh_number() -> str:
    """A new phone number for every example (the database is shared by the examples of one test)."""
    return f"+25884{next(_numbers):07d}"


def _subscriber(channel: Channel, number: str) -> Subscriber | None:
    candidates = crypto.blind_index_candidates(normalise.phone(number))
    return Subscriber.objects.filter(channel=channel, phone_index__in=candidates).first()


class Campaign:
    """The SMS channel and the local provider server (with a short repr: hypothesis prints its arguments)."""

    def __init__(self, channel: Channel, provider: FakeProvider) -> None:
        self.channel, self.provider = channel, provider

    def __repr__(self) -> str:
        return "Campaign()"


@pytest.fixture
def campaign(fake_provider: FakeProvider, monkeypatch, make_user) -> Campaign:  # noqa: ANN001
    monkeypatch.setenv("AMPARO_SMS_API_BASE_URL", fake_provider.url)
    monkeypatch.delenv("AMPARO_SMS_PROVIDER", raising=False)
    monkeypatch.delenv("AMPARO_OUTREACH_SEND_HOURS", raising=False)
    monkeypatch.setenv("AMPARO_INTAKE_PHONE_RATE", "100000")
    monkeypatch.setenv("AMPARO_INTAKE_CHANNEL_RATE", "100000")
    seed.seed(SYSTEM)
    approve_all(make_user("agency_supervisor", agency="mgcas"))
    return Campaign(make_sms_channel(fake_provider.url), fake_provider)


SMS_TEXTS = st.one_of(
    st.sampled_from(
        [
            "APRENDER",
            "learn",
            "Aprender EN",
            "Parar!",
            "STOP",
            "parar 🙏",
            "3",
            "1",
            "0",
            "7",
            "EN",
            "PORTUGUES",
        ]
    ),
    st.sampled_from(["Ola, preciso de ajuda", "NOVO", "AJUDA", "😀", "stop it now please"]),
    st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc"]), max_size=40),
)


@PROPERTY_SETTINGS
@given(steps=st.lists(st.tuples(SMS_TEXTS, st.booleans()), min_size=1, max_size=6))
def test_after_stop_nothing_is_sent_whatever_was_sent_before(
    client: Client,
    campaign: Campaign,
    django_capture_on_commit_callbacks,  # noqa: ANN001
    steps: list[tuple[str, bool]],
) -> None:
    fake_provider = campaign.provider
    fake_provider.received.clear()  # only this example's messages
    number = _fresh_number()
    phone = Phone(client, campaign.channel, django_capture_on_commit_callbacks, number)
    stopped = False  # the model: the last campaign command from this phone was a stop
    day = 0
    for text, run_due in steps:
        before = len(fake_provider.received)
        assert phone.send(text) == 200
        assert len(fake_provider.received) == before + 1  # exactly one reply, whoever answers it
        assert gsm.is_gsm7(fake_provider.received[-1].form["message"])
        command = keywords.parse(text)
        if command is not None and command.kind == "subscribe":
            stopped = False
        elif command is not None and _subscriber(campaign.channel, number) is not None:
            stopped = True
        sub = _subscriber(campaign.channel, number)
        if stopped:
            assert sub is not None
            assert sub.state == SubscriberState.STOPPED
            assert sub.phone == ""
            assert sub.next_due_at is None
        if run_due:
            day += 8  # past any cadence: whatever is due is sent
            count_before = Dispatch.objects.filter(subscriber=sub).count() if sub else 0
            tasks.send_due(maputo(day, 10, 0))
            if stopped:
                assert Dispatch.objects.filter(subscriber=sub).count() == count_before


def _ussd(client: Client, channel: Channel, session: str, number: str, text: str) -> str:
    form = {"sessionId": session, "serviceCode": "*458#", "phoneNumber": number, "text": text}
    response = client.post(f"/channels/{channel.pk}/ussd{webhook_query(channel)}", form)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.startswith(("CON ", "END ")), body
    assert len(body) <= 182, body
    assert gsm.is_gsm7(body), body
    return body


USSD_INPUTS = st.one_of(
    st.sampled_from(["1", "2", "3", "4", "5", "6", "7", "0", "99", " 1 ", "01"]),
    st.text(alphabet=st.characters(blacklist_characters="*#\x00", blacklist_categories=["Cs"]), max_size=20),
)


@PROPERTY_SETTINGS
@given(inputs=st.lists(USSD_INPUTS, max_size=4))
def test_any_input_in_the_learn_menu_gets_a_valid_screen_and_subscribes_only_on_request(
    client: Client, campaign: Campaign, inputs: list[str]
) -> None:
    ussd = Channel.objects.filter(kind="ussd").first() or create_channel(
        SYSTEM, name="USSD *458#", kind="ussd", provider="log", short_code="*458#"
    )
    number = _fresh_number()
    session = f"ATUid_p{next(_numbers)}"
    _ussd(client, ussd, session, number, "")
    _ussd(client, ussd, session, number, "1")  # Portuguese
    screen = _ussd(client, ussd, session, number, "1*4")  # Aprender a estar seguro
    assert screen.startswith("CON ")
    chosen: str | None = None  # the audience the session is at, as the menu's model
    asked = False  # an answer to the offer of tips by SMS was "1"
    pressed = ["1", "4"]
    for value in inputs:
        if screen.startswith("END "):
            break
        pressed.append(value)
        screen = _ussd(client, ussd, session, number, "*".join(pressed))
        n = keywords.number(value)
        if chosen is None and n is not None and 1 <= n <= len(Audience.values):
            chosen = "picked"
        elif chosen is not None and n == 1:
            asked = True
    sub = _subscriber(campaign.channel, number)
    if asked:
        assert screen.startswith("END ")
        assert sub is not None
        assert sub.state == SubscriberState.ACTIVE
        assert sub.audience in Audience.values
    else:
        assert sub is None


@PROPERTY_SETTINGS
@given(
    step=st.one_of(st.none(), st.sampled_from(["audience", "offer", "done"]), st.text(max_size=5)),
    audience=st.one_of(st.sampled_from(Audience.values), st.text(max_size=20)),
    invalid=st.booleans(),
    text=st.one_of(st.none(), st.sampled_from(["1", "2", "6", "7", "0"]), st.text(max_size=20)),
)
def test_the_learn_menu_answers_any_state_and_input_and_never_stores_an_unknown_audience(
    campaign: Campaign, step: str | None, audience: str, invalid: bool, text: str | None
) -> None:
    number = _fresh_number()
    state = {"step": step, "audience": audience, **({"invalid": 1} if invalid else {})}
    screen = ussd.handle(
        UssdContext(channel=None, phone=number, language="pt", text=text, state=state, actor=SYSTEM)
    )
    assert screen.text.strip()
    if not screen.end:
        assert screen.state.get("step") in {"audience", "offer"}
    sub = _subscriber(campaign.channel, number)
    if sub is not None:
        assert sub.audience in Audience.values
        assert sub.audience == audience
        assert screen.end
