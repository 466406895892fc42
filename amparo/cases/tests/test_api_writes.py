"""Staff API writes: status, notes, referrals with consent, answers and revocation — through the actions,
with their audit entries, clear refusals (400/403/404/422) and never a server error."""

from __future__ import annotations

import uuid

import pytest

from amparo.cases import actions
from amparo.cases.models import Case, ConsentRecord, Referral, ReferralStatus
from amparo.cases.permissions import CaseAudit
from amparo.cases.tests.api_support import CONSENT, SYSTEM, api_for, refer
from amparo.cases.tests.fixtures import given_consent
from amparo.core.models import AuditEntry


@pytest.fixture
def case(make_case) -> Case:
    return make_case(agency="linha-fala-crianca", victim_name="Ana Sintética")


@pytest.fixture
def operator(make_user):  # noqa: ANN001, ANN201
    return make_user("helpline_operator", agency="linha-fala-crianca")


@pytest.fixture
def police(make_user):  # noqa: ANN001, ANN201
    return make_user("investigator", agency="sernic")


def actions_of(user, obj=None) -> list[str]:  # noqa: ANN001
    entries = AuditEntry.objects.filter(actor_user_id=user.pk)
    if obj is not None:
        entries = entries.filter(object_id=str(obj.pk))
    return list(entries.order_by("id").values_list("action", flat=True))


def test_status_change_goes_through_the_workflow_and_is_audited(operator, case):
    api = api_for(operator)
    response = api.post(f"/cases/{case.reference}/status", {"to_status": "triaged", "reason": "Checked"})
    assert response.status_code == 200
    assert response.json()["status"] == "triaged"
    case.refresh_from_db()
    assert case.status == "triaged"
    assert actions_of(operator, case) == [CaseAudit.VIEW, CaseAudit.TRANSITION]


def test_a_transition_the_workflow_forbids_is_refused_with_the_reason(operator, case):
    api = api_for(operator)
    response = api.post(f"/cases/{case.reference}/status", {"to_status": "in_court", "reason": "Skip"})
    assert response.status_code == 400
    assert "cannot become" in response.json()["detail"]
    closing = api.post(f"/cases/{case.reference}/status", {"to_status": "closed", "reason": "Done"})
    assert closing.status_code == 400
    assert "outcome" in closing.json()["detail"]
    blank = api.post(f"/cases/{case.reference}/status", {"to_status": "triaged", "reason": "   "})
    assert blank.status_code == 422
    case.refresh_from_db()
    assert case.status == "received"


def test_note_is_added_and_audited(operator, case):
    response = api_for(operator).post(f"/cases/{case.reference}/notes", {"text": "Called the school."})
    assert response.status_code == 201
    assert response.json()["author"] == operator.username
    note = case.notes.get()
    assert note.text == "Called the school."
    assert actions_of(operator, note) == [CaseAudit.NOTE_ADD]


def test_outsider_cannot_write_to_a_case_it_cannot_see(police, case):
    api = api_for(police)
    assert api.post(f"/cases/{case.reference}/notes", {"text": "x"}).status_code == 404
    status = api.post(f"/cases/{case.reference}/status", {"to_status": "triaged", "reason": "x"})
    assert status.status_code == 404
    assert case.notes.count() == 0


def test_referral_is_made_with_its_consent_record_in_one_request(operator, police, case):
    response = api_for(operator).post(
        f"/cases/{case.reference}/referrals",
        {
            "to_agency": "sernic",
            "reason": "Offender identified on WhatsApp",
            "urgency": "high",
            "shared_fields": ["offender_identity", "narrative", "narrative"],
            "consent": CONSENT,
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "pending"
    assert body["to_agency"] == "sernic"
    assert body["shared_fields"] == ["narrative", "offender_identity"]
    assert body["consent"]["child_consent"] == "given"
    referral = Referral.objects.get(pk=body["id"])
    assert referral.consent.case_id == case.pk
    assert actions_of(operator)[-2:] == [CaseAudit.CONSENT_RECORD, CaseAudit.REFERRAL_CREATE]


def test_referral_without_consent_or_legal_basis_is_refused_and_leaves_no_consent_record(operator, case):
    api = api_for(operator)
    refused = dict(CONSENT, child_consent="refused")
    response = api.post(
        f"/cases/{case.reference}/referrals", {"to_agency": "sernic", "reason": "x", "consent": refused}
    )
    assert response.status_code == 400
    assert "consent" in response.json()["detail"]
    assert not ConsentRecord.objects.filter(case=case).exists()
    assert not Referral.objects.filter(case=case).exists()
    missing = api.post(f"/cases/{case.reference}/referrals", {"to_agency": "sernic", "reason": "x"})
    assert missing.status_code == 422
    assert "consent" in missing.json()["detail"]


def test_a_justified_legal_basis_allows_referral_without_consent(operator, case):
    consent = dict(
        CONSENT,
        child_consent="not_asked",
        caregiver_consent="refused",
        legal_basis="caregiver_is_suspect",
        justification="The stepfather is the suspect.",
    )
    response = api_for(operator).post(
        f"/cases/{case.reference}/referrals", {"to_agency": "sernic", "reason": "Suspect", "consent": consent}
    )
    assert response.status_code == 201
    assert response.json()["consent"]["legal_basis"] == "caregiver_is_suspect"
    unjustified = dict(consent, justification="")
    again = api_for(operator).post(
        f"/cases/{case.reference}/referrals", {"to_agency": "mgcas", "reason": "x", "consent": unjustified}
    )
    assert again.status_code == 400


def test_referral_may_cite_an_existing_consent_record_of_the_case(operator, case, make_case):
    recorded = given_consent(case)
    api = api_for(operator)
    listed = api.get(f"/cases/{case.reference}").json()["consents"]
    assert [(c["id"], c["permits_sharing"]) for c in listed] == [(str(recorded.pk), True)]
    response = api.post(
        f"/cases/{case.reference}/referrals",
        {"to_agency": "sernic", "reason": "Offender identified", "consent_id": str(recorded.pk)},
    )
    assert response.status_code == 201
    assert response.json()["consent"]["id"] == str(recorded.pk)
    assert Referral.objects.get(pk=response.json()["id"]).consent == recorded
    assert ConsentRecord.objects.filter(case=case).count() == 1  # no second record made


def test_consent_record_of_another_case_or_both_forms_of_consent_are_refused(operator, case, make_case):
    other = given_consent(make_case(agency="linha-fala-crianca"))
    api = api_for(operator)
    foreign = api.post(
        f"/cases/{case.reference}/referrals",
        {"to_agency": "sernic", "reason": "x", "consent_id": str(other.pk)},
    )
    assert foreign.status_code == 400
    assert "consent record" in foreign.json()["detail"]
    both = api.post(
        f"/cases/{case.reference}/referrals",
        {"to_agency": "sernic", "reason": "x", "consent": CONSENT, "consent_id": str(other.pk)},
    )
    assert both.status_code == 422
    assert "consent_id" in both.json()["detail"]
    assert not Referral.objects.filter(case=case).exists()
    assert not ConsentRecord.objects.filter(case=case).exists()


def test_a_consent_record_that_does_not_permit_sharing_cannot_be_cited(operator, case):
    refused = actions.record_consent(
        SYSTEM, case, purpose="Referral", child_consent="refused", caregiver_consent="given"
    )
    response = api_for(operator).post(
        f"/cases/{case.reference}/referrals",
        {"to_agency": "sernic", "reason": "x", "consent_id": str(refused.pk)},
    )
    assert response.status_code == 400
    assert not Referral.objects.filter(case=case).exists()


def test_referral_to_an_unknown_agency_says_where_to_find_the_codes(operator, case):
    response = api_for(operator).post(
        f"/cases/{case.reference}/referrals", {"to_agency": "nowhere", "reason": "x", "consent": CONSENT}
    )
    assert response.status_code == 400
    assert "/api/v1/agencies" in response.json()["detail"]
    assert "sernic" in [a["code"] for a in api_for(operator).get("/agencies").json()]


def test_receiving_agency_lists_accepts_and_then_reads_the_case(police, case):
    referral = refer(case, "sernic", ("narrative",))
    api = api_for(police)
    listed = api.get("/referrals", status="pending").json()
    assert [r["id"] for r in listed["items"]] == [str(referral.pk)]
    assert listed["items"][0]["reason"] == "Needs investigation"
    assert AuditEntry.objects.filter(action=CaseAudit.REFERRAL_LIST, actor_user_id=police.pk).exists()
    assert api.get(f"/cases/{case.reference}").status_code == 404
    answer = api.post(f"/referrals/{referral.pk}/decision", {"accept": True})
    assert answer.status_code == 200
    assert answer.json()["status"] == "accepted"
    assert api.get(f"/cases/{case.reference}").status_code == 200
    assert CaseAudit.REFERRAL_ACCEPT in actions_of(police, referral)


def test_declining_needs_a_reason_and_grants_no_access(police, case):
    referral = refer(case, "sernic", ("narrative",))
    api = api_for(police)
    no_reason = api.post(f"/referrals/{referral.pk}/decision", {"accept": False})
    assert no_reason.status_code == 400
    assert "reason" in no_reason.json()["detail"]
    declined = api.post(f"/referrals/{referral.pk}/decision", {"accept": False, "reason": "Not our area"})
    assert declined.status_code == 200
    assert declined.json()["decision_reason"] == "Not our area"
    assert api.get(f"/cases/{case.reference}").status_code == 404
    again = api.post(f"/referrals/{referral.pk}/decision", {"accept": True})
    assert again.status_code == 400
    assert "pending" in again.json()["detail"]


def test_only_the_receiving_agency_answers_and_only_the_referring_agency_revokes(operator, police, case):
    referral = refer(case, "sernic", ("narrative",), accept=True)
    assert api_for(operator).post(f"/referrals/{referral.pk}/decision", {"accept": True}).status_code == 403
    assert api_for(police).post(f"/referrals/{referral.pk}/revoke", {"reason": "x"}).status_code == 403
    revoked = api_for(operator).post(f"/referrals/{referral.pk}/revoke", {"reason": "Sent by mistake"})
    assert revoked.status_code == 200
    assert revoked.json()["status"] == "revoked"
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.REVOKED
    assert api_for(police).get(f"/cases/{case.reference}").status_code == 404
    assert CaseAudit.REFERRAL_REVOKE in actions_of(operator, referral)


def test_referrals_of_other_agencies_are_not_found(make_user, case):
    referral = refer(case, "sernic")
    outsider = api_for(make_user("prosecutor", agency="pgr"))
    assert outsider.post(f"/referrals/{referral.pk}/decision", {"accept": True}).status_code == 404
    assert outsider.post(f"/referrals/{uuid.uuid4()}/revoke", {}).status_code == 404
    assert outsider.post("/referrals/not-a-uuid/revoke", {}).status_code == 422
    assert outsider.get("/referrals", direction="outgoing").json()["count"] == 0


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("{not json", 400),
        ('"a string"', 422),
        ("[]", 422),
        ('{"text": "bad \\u0000 byte"}', 422),
        ('{"text": "lone \\ud800 surrogate"}', 422),
        ('{"text": 12}', 422),
        ('{"text": "' + "x" * 20001 + '"}', 422),
    ],
    ids=["malformed", "string", "list", "nul", "surrogate", "number", "too-long"],
)
def test_bad_input_gets_a_clear_4xx_never_a_server_error(operator, case, body, status):
    api = api_for(operator)
    response = api.client.post(
        f"/api/v1/cases/{case.reference}/notes", body, content_type="application/json", **api.headers
    )
    assert response.status_code == status
    assert response.json()["detail"]
    assert case.notes.count() == 0
