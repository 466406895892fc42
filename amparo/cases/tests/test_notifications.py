"""Notifications of case work, in the app and by e-mail: a new referral tells the receiving agency's
supervisors, a decision tells the person who referred, an assignment tells the assignee, and the overdue
job tells the assignee and the supervisors once per case and deadline. Notices name no one."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from amparo.cases import actions, notices, tasks
from amparo.cases.tests.fixtures import given_consent
from amparo.conftest import SYSTEM
from amparo.core.models import Agency, Notification, User
from amparo.core.notifications import notify
from amparo.core.tests.test_web import sign_in

pytestmark = pytest.mark.django_db

OWNER = "linha-fala-crianca"
PARTNER = "sernic"
VICTIM = "Zélia Inventada"
NARRATIVE = "Relato sintético: um adulto pediu fotografias por WhatsApp."
UTC = dt.UTC


@pytest.fixture(autouse=True)
def _static_root(settings, tmp_path):  # noqa: ANN001, ANN202
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STATIC_ROOT.mkdir()


def _with_email(user: User) -> User:
    User.objects.filter(pk=user.pk).update(email=f"{user.username}@example.invalid")
    user.refresh_from_db()
    return user


@pytest.fixture
def people(make_user):  # noqa: ANN001, ANN201
    return {
        "sender": _with_email(make_user("intake_officer", agency=OWNER)),
        "owner_supervisor": _with_email(make_user("agency_supervisor", agency=OWNER)),
        "receiver_supervisor": _with_email(make_user("agency_supervisor", agency=PARTNER)),
        "receiver_investigator": _with_email(make_user("investigator", agency=PARTNER)),
        # A supervisor of the receiving agency whose scope does not cover the case (Maputo, not Nampula).
        "far_supervisor": _with_email(
            make_user("agency_supervisor", agency=PARTNER, scope_level="province", scope_province="MZ11")
        ),
        "outsider": _with_email(make_user("agency_supervisor", agency="pgr")),
    }


@pytest.fixture
def case(make_case):  # noqa: ANN001, ANN201
    return make_case(agency=OWNER, victim_name=VICTIM, narrative=NARRATIVE)


def _kinds(user: User) -> list[str]:
    return list(
        Notification.objects.filter(recipient=user).order_by("created_at").values_list("kind", flat=True)
    )


def _refer(sender: User, case: Any, **kwargs: Any) -> Any:
    return actions.refer_case(
        sender,
        case,
        Agency.objects.get(code=PARTNER),
        reason="Investigar.",
        consent=given_consent(case),
        **kwargs,
    )


def test_a_new_referral_notifies_the_receiving_agency_s_supervisors_in_scope(
    people, case, django_capture_on_commit_callbacks
) -> None:  # noqa: ANN001
    with django_capture_on_commit_callbacks(execute=True):
        _refer(people["sender"], case)
    assert _kinds(people["receiver_supervisor"]) == [notices.REFERRAL_RECEIVED]
    for who in ("receiver_investigator", "far_supervisor", "outsider", "sender", "owner_supervisor"):
        assert _kinds(people[who]) == [], who

    notice = Notification.objects.get(recipient=people["receiver_supervisor"])
    assert (notice.reference, notice.url) == (case.reference, "/cases/referrals/")
    assert [m.to for m in mail.outbox] == [[people["receiver_supervisor"].email]]
    message = mail.outbox[0]
    assert case.reference in message.body
    assert "/cases/referrals/" in message.body
    for secret in (VICTIM, NARRATIVE, "Investigar."):
        assert secret not in message.body
        assert secret not in message.subject
    assert Notification.objects.get(pk=notice.pk).emailed_at is not None


def test_without_a_supervisor_the_receiving_agency_s_case_workers_are_told(make_user, case) -> None:  # noqa: ANN001
    sender = make_user("intake_officer", agency=OWNER)
    investigator = make_user("investigator", agency=PARTNER)
    analyst = make_user("analyst", agency=PARTNER)
    _refer(sender, case)
    assert _kinds(investigator) == [notices.REFERRAL_RECEIVED]
    assert _kinds(analyst) == []


@pytest.mark.parametrize(
    ("accept", "kind"), [(True, notices.REFERRAL_ACCEPTED), (False, notices.REFERRAL_DECLINED)]
)
def test_accepting_or_declining_notifies_the_referrer(
    people, case, accept: bool, kind: str, django_capture_on_commit_callbacks
) -> None:  # noqa: ANN001
    referral = _refer(people["sender"], case)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        actions.decide_referral(
            people["receiver_investigator"], referral, accept=accept, reason="Não é nosso."
        )
    assert _kinds(people["sender"]) == [kind]
    assert _kinds(people["owner_supervisor"]) == []
    notice = Notification.objects.get(recipient=people["sender"])
    assert notice.url == f"/cases/{case.reference}/"
    assert [m.to for m in mail.outbox] == [[people["sender"].email]]
    assert "Não é nosso." not in mail.outbox[0].body


def test_a_refused_or_back_dated_referral_notifies_nobody(people, case) -> None:  # noqa: ANN001
    refused = actions.record_consent(
        SYSTEM, case, purpose="Referral", child_consent="refused", caregiver_consent="given"
    )
    with pytest.raises(ValidationError):
        actions.refer_case(
            people["sender"], case, Agency.objects.get(code=PARTNER), reason="Investigar.", consent=refused
        )
    consent = given_consent(case, at=dt.datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    actions.refer_case(
        SYSTEM,
        case,
        Agency.objects.get(code=PARTNER),
        reason="Importado.",
        consent=consent,
        at=dt.datetime(2026, 1, 5, 10, 0, tzinfo=UTC),
    )
    assert not Notification.objects.exists()


def test_assignment_notifies_the_assignee_but_not_someone_assigning_themselves(
    people, case, make_user
) -> None:  # noqa: ANN001
    supervisor, sender = people["owner_supervisor"], people["sender"]
    actions.assign_case(supervisor, case, sender)
    assert _kinds(sender) == [notices.CASE_ASSIGNED]
    actions.assign_case(supervisor, case, supervisor)
    assert _kinds(supervisor) == []


def test_notify_with_an_unknown_kind_is_an_error(people) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match="unknown notification kind"):
        notify([people["sender"]], "cases.nonsense")


# ---------------------------------------------------------------------------
# The overdue job


def test_overdue_job_tells_the_assignee_and_supervisors_once_per_deadline(people, make_case) -> None:  # noqa: ANN001
    received = dt.datetime(2026, 2, 1, 8, 0, tzinfo=UTC)
    case = make_case(agency=OWNER, priority="high", received_at=received)
    actions.assign_case(SYSTEM, case, people["sender"])  # acknowledges it at the time of assignment
    Notification.objects.all().delete()

    before = received + dt.timedelta(hours=71)
    assert tasks.notify_overdue(now=before) == 0
    after = received + dt.timedelta(hours=72, minutes=1)
    assert tasks.notify_overdue(now=after) == 2
    assert _kinds(people["sender"]) == [notices.OVERDUE_ACT]
    assert _kinds(people["owner_supervisor"]) == [notices.OVERDUE_ACT]
    assert _kinds(people["receiver_supervisor"]) == []
    # Idempotent: running again (or every ten minutes) tells nobody twice.
    assert tasks.notify_overdue(now=after + dt.timedelta(minutes=10)) == 0
    assert Notification.objects.count() == 2


def test_overdue_job_tells_about_unacknowledged_cases_and_unanswered_referrals(people, make_case) -> None:  # noqa: ANN001
    received = dt.datetime(2026, 2, 1, 8, 0, tzinfo=UTC)
    case = make_case(agency=OWNER, priority="immediate", received_at=received)
    actions.refer_case(
        SYSTEM,
        case,
        Agency.objects.get(code=PARTNER),
        reason="Urgente.",
        consent=given_consent(case, at=received + dt.timedelta(minutes=5)),
        urgency="immediate",
        at=received + dt.timedelta(minutes=10),
    )
    Notification.objects.all().delete()
    # Referring acknowledged and acted on the case; the referral itself is due within an hour.
    now = received + dt.timedelta(hours=2)
    assert tasks.notify_overdue(now=now) == 1
    assert _kinds(people["receiver_supervisor"]) == [notices.REFERRAL_OVERDUE]
    assert _kinds(people["owner_supervisor"]) == []

    fresh = make_case(agency=OWNER, priority="immediate", received_at=now)
    assert tasks.notify_overdue(now=now + dt.timedelta(hours=1, seconds=1)) == 1
    notice = Notification.objects.get(recipient=people["owner_supervisor"])
    assert (notice.kind, notice.reference) == (notices.OVERDUE_ACKNOWLEDGE, fresh.reference)


# ---------------------------------------------------------------------------
# The notifications page


def test_notifications_page_shows_only_my_notices_and_marks_them_read(client, people, case) -> None:  # noqa: ANN001
    _refer(people["sender"], case)
    mine = Notification.objects.get(recipient=people["receiver_supervisor"])
    actions.assign_case(people["owner_supervisor"], case, people["sender"])
    theirs = Notification.objects.get(recipient=people["sender"])

    sign_in(client, people["receiver_supervisor"])
    body = client.get("/notifications/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "A case was referred to your agency and waits for an answer." in body
    assert "A case was assigned to you." not in body
    assert "1 new notification" in body

    client.post("/notifications/read/", {"id": [str(theirs.pk)]})  # not mine: ignored
    assert Notification.objects.get(pk=theirs.pk).read_at is None
    client.post("/notifications/read/", {"id": ["not-an-id"]})
    assert Notification.objects.get(pk=mine.pk).read_at is None
    client.post("/notifications/read/", {"id": [str(mine.pk)]})
    assert Notification.objects.get(pk=mine.pk).read_at is not None
    assert "new notification" not in client.get("/notifications/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_notifications_page_needs_sign_in(client) -> None:  # noqa: ANN001
    response = client.get("/notifications/")
    assert response.status_code == 302
    assert "/notifications/" not in response["Location"].split("?")[0]
