"""The triage queue: new reports of the user's agency, in danger first, with duplicate suggestions
and one-click actions; outsiders get 404, the wrong role 403."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from amparo.cases.models import Case, ConsentRecord, Referral
from amparo.core import audit
from amparo.core.models import Agency
from amparo.core.tests.test_web import sign_in
from amparo.intake import actions
from amparo.intake.models import CaseLink, ReporterMessage

WEB = audit.Actor(channel="web")
SYSTEM = audit.Actor.system("tests")


def submit(**overrides: object) -> actions.SubmittedReport:
    values = {
        "channel_kind": "web",
        "owning_agency": Agency.objects.get(code="linha-fala-crianca"),
        "forms": ["grooming"],
        "platforms": ["tiktok"],
        "who_affected": "me",
        "province": None,
        "district": None,
    }
    values.update(overrides)
    return actions.submit_public_report(WEB, **values)


@pytest.fixture
def operator(client, make_user):  # noqa: ANN001, ANN201
    user = make_user("helpline_operator", agency="linha-fala-crianca")
    sign_in(client, user)
    return user


def _queue(client) -> list[str]:  # noqa: ANN001
    html = client.get("/intake/triage/").content.decode()
    return re.findall(r'id="case-(AMP-[0-9A-Z-]+)"', html)


@pytest.mark.django_db
def test_the_queue_lists_new_reports_of_the_agency_in_danger_first_then_oldest_first(
    client, operator, make_case
):
    old = submit()
    Case.objects.filter(pk=old.case.pk).update(received_at=timezone.now() - dt.timedelta(days=2))
    new = submit()
    danger = submit(immediate_danger=True)
    other_agency = make_case(agency="sernic", channel="sms")
    triaged = submit()
    actions.accept_report(operator, triaged.case)
    assert _queue(client) == [danger.case.reference, old.case.reference, new.case.reference]
    assert other_agency.reference not in client.get("/intake/triage/").content.decode()


@pytest.mark.django_db
def test_the_queue_shows_cases_from_every_channel(client, operator, make_case):
    sms = make_case(agency="linha-fala-crianca", channel="sms")
    web = submit()
    assert set(_queue(client)) == {sms.reference, web.case.reference}


@pytest.mark.django_db
def test_reports_with_the_same_call_back_phone_or_account_are_suggested_as_duplicates(
    client, operator, make_case
):
    first = submit(callback_phone="84 111 2222", callback_consented=True, link_or_account="@Invented.Account")
    same_phone = submit(callback_phone="+258841112222", callback_consented=True)
    same_link = submit(link_or_account="https://www.tiktok.com/@invented.account/")
    known_person = make_case(agency="linha-fala-crianca", victim_name="Ana Teste", victim_phone="841112222")
    unrelated = submit(link_or_account="@someone.else")
    html = client.get("/intake/triage/").content.decode()
    section = html.split(f'id="case-{first.case.reference}"', 1)[1].split("</section>", 1)[0]
    assert same_phone.case.reference in section
    assert known_person.reference in section
    assert unrelated.case.reference not in section
    section = html.split(f'id="case-{same_link.case.reference}"', 1)[1].split("</section>", 1)[0]
    assert first.case.reference in section


@pytest.mark.django_db
def test_duplicate_suggestions_never_name_cases_the_user_cannot_see(client, operator):
    mine = submit(callback_phone="84 333 4444", callback_consented=True)
    theirs = submit(
        owning_agency=Agency.objects.get(code="sernic"), callback_phone="84 333 4444", callback_consented=True
    )
    html = client.get("/intake/triage/").content.decode()
    assert mine.case.reference in html
    assert theirs.case.reference not in html


@pytest.mark.django_db
def test_accepting_moves_the_case_to_triaged(client, operator):
    report = submit()
    response = client.post(f"/intake/triage/{report.case.reference}/accept/")
    assert response.status_code == 302
    assert Case.objects.get(pk=report.case.pk).status == "triaged"


@pytest.mark.django_db
def test_marking_not_ocsea_needs_a_reason_and_closes_with_no_offence(client, operator):
    report = submit()
    client.post(f"/intake/triage/{report.case.reference}/not-ocsea/", {"reason": ""})
    assert Case.objects.get(pk=report.case.pk).status == "received"
    client.post(f"/intake/triage/{report.case.reference}/not-ocsea/", {"reason": "Adult dispute, no child."})
    case = Case.objects.get(pk=report.case.pk)
    assert (case.status, case.outcome) == ("closed", "no_offence")


@pytest.mark.django_db
def test_referring_from_triage_creates_the_referral_and_marks_the_case_referred(client, operator):
    report = submit()
    sernic = Agency.objects.get(code="sernic")
    client.post(
        f"/intake/triage/{report.case.reference}/refer/",
        {
            "to_agency": sernic.pk,
            "reason": "Extortion.",
            "shared_fields": ["narrative", "offender_identity"],
            "child_consent": "not_asked",
            "caregiver_consent": "not_asked",
            "legal_basis": "criminal_offence",
            "justification": "Sexual extortion of a child is a public crime.",
        },
    )
    assert Case.objects.get(pk=report.case.pk).status == "referred"
    referral = Referral.objects.get(case=report.case)
    assert referral.to_agency == sernic
    assert referral.shared_fields == ["narrative", "offender_identity"]
    assert referral.consent.legal_basis == "criminal_offence"


@pytest.mark.django_db
def test_referring_from_triage_without_consent_or_legal_basis_changes_nothing(client, operator):
    report = submit()
    sernic = Agency.objects.get(code="sernic")
    client.post(
        f"/intake/triage/{report.case.reference}/refer/",
        {
            "to_agency": sernic.pk,
            "reason": "Extortion.",
            "child_consent": "refused",
            "caregiver_consent": "given",
        },
    )
    assert Case.objects.get(pk=report.case.pk).status == "received"
    assert not Referral.objects.filter(case=report.case).exists()
    # Not even the refusal is kept: accepting, the consent record and the referral are one step.
    assert not ConsentRecord.objects.filter(case=report.case).exists()
    assert actions.reporter_status(report.receipt).status == "received"


@pytest.mark.django_db
def test_referring_from_triage_with_a_legal_basis_but_no_justification_changes_nothing(client, operator):
    report = submit()
    sernic = Agency.objects.get(code="sernic")
    client.post(
        f"/intake/triage/{report.case.reference}/refer/",
        {
            "to_agency": sernic.pk,
            "reason": "Extortion.",
            "child_consent": "not_asked",
            "caregiver_consent": "not_asked",
            "legal_basis": "criminal_offence",
            "justification": "   ",
        },
    )
    assert Case.objects.get(pk=report.case.pk).status == "received"
    assert not Referral.objects.filter(case=report.case).exists()
    assert not ConsentRecord.objects.filter(case=report.case).exists()


@pytest.mark.django_db
def test_merging_links_the_cases_closes_the_new_one_and_can_be_undone(client, operator):
    existing, duplicate = submit(), submit()
    client.post(f"/intake/triage/{duplicate.case.reference}/merge/", {"existing": existing.case.reference})
    link = CaseLink.objects.get()
    assert (link.case_id, link.duplicate_of_id) == (duplicate.case.pk, existing.case.pk)
    case = Case.objects.get(pk=duplicate.case.pk)
    assert (case.status, case.outcome) == ("closed", "duplicate")
    client.post(f"/intake/triage/{duplicate.case.reference}/unmerge/")
    assert CaseLink.objects.get().undone_at is not None
    assert Case.objects.get(pk=duplicate.case.pk).status == "triaged"


@pytest.mark.django_db
def test_merging_with_a_case_of_another_agency_is_refused(client, operator, make_case):
    report = submit()
    foreign = make_case(agency="sernic")
    client.post(f"/intake/triage/{report.case.reference}/merge/", {"existing": foreign.reference})
    assert CaseLink.objects.count() == 0
    assert Case.objects.get(pk=report.case.pk).status == "received"


@pytest.mark.django_db
def test_an_outsider_gets_404_for_every_triage_action(client, make_user):
    report = submit()
    sign_in(client, make_user("helpline_operator", agency="sernic"))
    for action in ("accept", "not-ocsea", "refer", "merge", "unmerge"):
        assert (
            client.post(f"/intake/triage/{report.case.reference}/{action}/", {"reason": "x"}).status_code
            == 404
        )
    assert client.get(f"/intake/cases/{report.case.reference}/reporter/").status_code == 404
    assert Case.objects.get(pk=report.case.pk).status == "received"


@pytest.mark.django_db
def test_roles_without_triage_are_refused(client, make_user):
    report = submit()
    sign_in(client, make_user("court_officer", agency="linha-fala-crianca"))
    assert client.get("/intake/triage/").status_code == 403
    assert client.post(f"/intake/triage/{report.case.reference}/accept/").status_code == 403
    sign_in(client, make_user("analyst", agency="linha-fala-crianca"))
    assert client.get("/intake/triage/").status_code == 403


@pytest.mark.django_db
def test_staff_message_the_reporter_from_the_case_and_read_replies(client, operator):
    report = submit()
    url = f"/intake/cases/{report.case.reference}/reporter/"
    assert client.post(url, {"text": "Can you tell us the account name?"}).status_code == 302
    assert ReporterMessage.objects.get().author == operator
    actions.add_reporter_reply(WEB, report.receipt, "It is @invented.name")
    html = client.get(url).content.decode()
    assert "Can you tell us the account name?" in html
    assert "@invented.name" in html


@pytest.mark.django_db
def test_viewing_the_queue_is_audited(client, operator):
    client.get("/intake/triage/")
    assert audit.AuditEntry.objects.filter(action="intake:triage:list", actor_user_id=operator.pk).exists()


@pytest.mark.django_db
def test_a_supervisor_who_may_not_see_identities_cannot_read_or_write_reporter_messages(client, make_user):
    report = submit()
    sign_in(client, make_user("agency_supervisor", agency="linha-fala-crianca"))
    url = f"/intake/cases/{report.case.reference}/reporter/"
    assert client.get(url).status_code == 403
    assert client.post(url, {"text": "Hello"}).status_code == 403
    assert ReporterMessage.objects.count() == 0


@pytest.mark.django_db
def test_the_queue_warns_when_stored_reports_wait_too_long_for_the_worker(client, operator):
    from amparo.intake.models import WebSubmission

    assert 'id="intake-stalled"' not in client.get("/intake/triage/").content.decode()
    WebSubmission.objects.create(receipt_hash="f" * 64, payload="{}", received_at=timezone.now())
    assert 'id="intake-stalled"' not in client.get("/intake/triage/").content.decode()  # just arrived
    WebSubmission.objects.update(received_at=timezone.now() - dt.timedelta(minutes=5))
    page = client.get("/intake/triage/").content.decode()
    assert 'id="intake-stalled"' in page
