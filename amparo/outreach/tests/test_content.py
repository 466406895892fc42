"""The review workflow: who may approve, the audit entries of each step, and that nothing unapproved
reaches any channel (SMS series, USSD tips, public pages, posters)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone

from amparo.core.models import Agency, AuditEntry
from amparo.intake.providers import create_channel
from amparo.intake.webhooks import webhook_query
from amparo.outreach import actions, seed, tasks
from amparo.outreach.models import ContentStatus, Format, Subscriber, SubscriberState, Translation
from amparo.outreach.tests.helpers import SYSTEM, maputo

pytestmark = pytest.mark.django_db


@pytest.fixture
def item(make_user):  # noqa: ANN001, ANN201
    editor = make_user("social_worker", agency="mgcas")
    created = actions.create_item(
        editor,
        slug="web-test",
        audience="children_13_17",
        topic="sextortion",
        format=Format.WEB_PAGE,
        owning_agency=Agency.objects.get(code="mgcas"),
    )
    return editor, created


def test_each_review_step_is_audited_with_field_names_only(item, make_user) -> None:  # noqa: ANN001
    editor, content = item
    approver = make_user("agency_supervisor", agency="mgcas")
    tr = actions.save_translation(editor, content, "pt", title="Ameaças", body="Não pagues.")
    tr = actions.submit_for_review(editor, tr)
    tr = actions.approve(approver, tr)
    assert tr.status == ContentStatus.APPROVED
    assert tr.approved_by == approver
    tr = actions.retire(approver, tr)
    entries = list(
        AuditEntry.objects.filter(action__startswith="outreach:")
        .order_by("id")
        .values_list("action", "fields")
    )
    assert [a for a, _f in entries] == [
        "outreach:content:create",
        "outreach:translation:update",
        "outreach:translation:submit",
        "outreach:translation:approve",
        "outreach:translation:retire",
    ]
    assert all("Não pagues." not in str(fields) for _a, fields in entries)
    assert AuditEntry.objects.get(action="outreach:translation:approve").actor_user_id == approver.pk


def test_only_an_approver_of_the_owning_agency_approves(item, make_user) -> None:  # noqa: ANN001
    editor, content = item
    tr = actions.submit_for_review(
        editor, actions.save_translation(editor, content, "pt", title="T", body="B")
    )
    for outsider in (
        editor,  # the author: no approver role
        make_user("agency_supervisor", agency="sernic"),  # an approver of another agency
        make_user("analyst", agency="mgcas"),
    ):
        with pytest.raises(PermissionDenied):
            actions.approve(outsider, tr)
    assert Translation.objects.get(pk=tr.pk).status == ContentStatus.IN_REVIEW
    actions.approve(make_user("national_coordinator", agency="mgcas"), tr)
    assert Translation.objects.get(pk=tr.pk).status == ContentStatus.APPROVED


def test_a_draft_cannot_be_approved_without_review_and_an_edit_unpublishes(item, make_user) -> None:  # noqa: ANN001
    editor, content = item
    approver = make_user("agency_supervisor", agency="mgcas")
    tr = actions.save_translation(editor, content, "pt", title="T", body="B")
    with pytest.raises(ValidationError):
        actions.approve(approver, tr)
    actions.approve(approver, actions.submit_for_review(editor, tr))
    assert actions.published(Format.WEB_PAGE).count() == 1
    actions.save_translation(editor, content, "pt", title="T", body="Changed")
    assert Translation.objects.get(pk=tr.pk).status == ContentStatus.DRAFT
    assert actions.published(Format.WEB_PAGE).count() == 0


def test_a_retired_translation_cannot_be_edited(item, make_user) -> None:  # noqa: ANN001
    editor, content = item
    tr = actions.save_translation(editor, content, "pt", title="T", body="B")
    actions.retire(make_user("agency_supervisor", agency="mgcas"), tr)
    with pytest.raises(ValidationError):
        actions.save_translation(editor, content, "pt", title="T", body="again")


def _ussd(client: Client, channel, session: str, text: str) -> str:  # noqa: ANN001
    form = {"sessionId": session, "serviceCode": "*123#", "phoneNumber": "+258841112223", "text": text}
    return client.post(f"/channels/{channel.pk}/ussd{webhook_query(channel)}", form).content.decode()


def test_nothing_unapproved_reaches_any_channel(client: Client, make_user, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("AMPARO_SMS_PROVIDER", "log")
    seed.seed(SYSTEM)  # everything in review, nothing approved
    assert Translation.objects.exclude(status=ContentStatus.IN_REVIEW).count() == 0
    client.cookies["django_language"] = "en"
    # Public pages: no advice shown, only the placeholder and how to get help.
    for group in ("children", "caregivers"):
        html = client.get(f"/safe-online/{group}/").content.decode()
        assert "being reviewed by experts" in html
        assert "Threats with photos" not in html
        assert "Signs of online grooming" not in html
        assert ".pdf" not in html
    # Posters: no PDF.
    assert client.get("/safe-online/posters/poster-teens-sextortion/en.pdf").status_code == 404
    # USSD: the option works but shows no tip.
    ussd_channel = create_channel(SYSTEM, name="USSD", kind="ussd", provider="log")
    sms_channel = create_channel(SYSTEM, name="SMS", kind="sms", provider="log", short_code="1458")
    _ussd(client, ussd_channel, "s1", "")
    _ussd(client, ussd_channel, "s1", "2")  # English
    screen = _ussd(client, ussd_channel, "s1", "2*4")  # Learn to stay safe
    assert screen.startswith("CON")
    assert "Who are you?" in screen
    screen = _ussd(client, ussd_channel, "s1", "2*4*2")  # teenager
    assert "If someone threatens you" not in screen
    assert "1 Tips by SMS every week" in screen
    # SMS series: a subscriber gets nothing.
    Subscriber.objects.create(
        channel=sms_channel,
        phone_index="x" * 64,
        phone="+258840000001",
        audience="caregivers",
        state=SubscriberState.ACTIVE,
        next_due_at=timezone.now(),
    )
    assert tasks.send_due(maputo(1, 9, 0)) == 0

    # Once approved, every channel shows it.
    approver = make_user("agency_supervisor", agency="mgcas")
    for tr in Translation.objects.filter(language="en"):
        actions.approve(approver, tr)
    html = client.get("/safe-online/children/").content.decode()
    assert "Threats with photos" in html
    assert client.get("/safe-online/posters/poster-teens-sextortion/en.pdf").status_code == 200
    screen = _ussd(client, ussd_channel, "s2", "")
    screen = _ussd(client, ussd_channel, "s2", "2")
    screen = _ussd(client, ussd_channel, "s2", "2*4")
    screen = _ussd(client, ussd_channel, "s2", "2*4*2")
    assert "If someone threatens you" in screen
    done = _ussd(client, ussd_channel, "s2", "2*4*2*1")
    assert done.startswith("END")
    assert "1458" in done
    subscriber = Subscriber.objects.exclude(phone_index="x" * 64).get()
    assert (subscriber.channel_id, subscriber.audience, subscriber.language) == (
        sms_channel.pk,
        "children_13_17",
        "en",
    )
    assert subscriber.state == SubscriberState.ACTIVE
    assert tasks.send_due(maputo(1, 9, 0)) == 1  # the English series for teenagers is approved
