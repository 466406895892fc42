"""Staff API reads: the same access policy, section visibility and audit as the pages; tokens only."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import timezone

from amparo.cases import actions
from amparo.cases.models import Case
from amparo.cases.permissions import CaseAudit
from amparo.cases.tests.api_support import SYSTEM, Api, api_for, refer, token_for
from amparo.core.actions import create_api_token, revoke_api_token
from amparo.core.models import ApiToken, AuditEntry
from amparo.core.tests.test_web import sign_in

VICTIM = "Ana Sintética"
OFFENDER = "Conta Inventada"
NARRATIVE = "A synthetic account of what happened, for tests."
NOTE = "Synthetic note naming nobody real."


@pytest.fixture
def helpline_case(make_case) -> Case:
    case = make_case(
        agency="linha-fala-crianca", narrative=NARRATIVE, victim_name=VICTIM, victim_phone="841234567"
    )
    actions.add_person(SYSTEM, case, role="offender", name=OFFENDER, age=30, sex="male")
    actions.add_note(SYSTEM, case, NOTE)
    return case


@pytest.fixture
def operator(make_user):  # noqa: ANN001, ANN201
    return make_user("helpline_operator", agency="linha-fala-crianca")


def test_case_list_holds_only_the_cases_the_user_may_see_and_is_audited(operator, helpline_case, make_case):
    make_case(agency="sernic")
    response = api_for(operator).get("/cases")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    assert [c["reference"] for c in body["items"]] == [helpline_case.reference]
    assert body["items"][0]["forms"] == ["grooming"]
    entry = AuditEntry.objects.filter(action=CaseAudit.LIST).latest("id")
    assert entry.actor_user_id == operator.pk


def test_case_read_is_audited_like_the_page(operator, helpline_case):
    response = api_for(operator).get(f"/cases/{helpline_case.reference}")
    assert response.status_code == 200
    body = response.json()
    assert body["narrative"] == NARRATIVE
    assert {p["name"] for p in body["persons"]} == {VICTIM, OFFENDER}
    assert [n["text"] for n in body["notes"]] == [NOTE]
    reads = AuditEntry.objects.filter(object_id=str(helpline_case.pk), actor_user_id=operator.pk)
    assert list(reads.values_list("action", flat=True).order_by("id")) == [
        CaseAudit.VIEW,
        CaseAudit.VIEW_IDENTITY,
    ]
    identity = reads.get(action=CaseAudit.VIEW_IDENTITY)
    assert identity.fields == ["narrative", "note.text", "person.name", "person.phone"]


def test_outsider_gets_404_for_a_case_it_cannot_see(make_user, helpline_case):
    police = api_for(make_user("investigator", agency="sernic"))
    assert police.get(f"/cases/{helpline_case.reference}").status_code == 404
    assert police.get("/cases").json()["count"] == 0
    assert police.get("/cases/not-a-reference").status_code == 404
    assert police.get("/cases/AMP-0000-0000").status_code == 404
    assert not AuditEntry.objects.filter(action=CaseAudit.VIEW, object_id=str(helpline_case.pk)).exists()


def test_fields_not_chosen_for_sharing_are_not_visible_to_the_receiving_agency(make_user, helpline_case):
    refer(helpline_case, "sernic", ("offender_identity",), accept=True)
    investigator = make_user("investigator", agency="sernic")
    response = api_for(investigator).get(f"/cases/{helpline_case.reference}")
    assert response.status_code == 200
    body = response.json()
    assert body["visible_sections"] == ["offender_identity"]
    assert body["narrative"] is None
    assert body["notes"] is None
    persons = {p["role"]: p for p in body["persons"]}
    assert persons["offender"]["name"] == OFFENDER
    assert persons["offender"]["identity_visible"]
    assert persons["victim"]["name"] is None
    assert persons["victim"]["phone"] is None
    assert persons["victim"]["age_band"]
    assert persons["victim"]["sex"] == "female"
    assert body["consents"] is None  # the consent records stay with the referring agency
    text = response.content.decode()
    for secret in (VICTIM, "841234567", NARRATIVE, NOTE):
        assert secret not in text
    identity = AuditEntry.objects.get(action=CaseAudit.VIEW_IDENTITY, actor_user_id=investigator.pk)
    assert identity.fields == ["person.name", "referral.reason"]  # the reason of the referral made to it


def test_receiving_agency_sees_only_referrals_made_to_it(make_user, helpline_case):
    refer(helpline_case, "sernic", ("narrative",), accept=True)
    refer(helpline_case, "mgcas", ("victim_identity",), accept=True)
    body = api_for(make_user("investigator", agency="sernic")).get(f"/cases/{helpline_case.reference}").json()
    assert [r["to_agency"] for r in body["referrals"]] == ["sernic"]
    assert body["narrative"] == NARRATIVE


@pytest.mark.parametrize("accept", [False, None], ids=["declined", "pending"])
def test_declined_or_pending_referral_grants_no_access(make_user, helpline_case, accept):
    refer(helpline_case, "sernic", ("narrative",), accept=accept)
    police = api_for(make_user("investigator", agency="sernic"))
    assert police.get(f"/cases/{helpline_case.reference}").status_code == 404
    assert police.get("/cases").json()["count"] == 0


def test_revoked_referral_grants_no_access(make_user, helpline_case):
    referral = refer(helpline_case, "sernic", ("narrative",), accept=True)
    police = api_for(make_user("investigator", agency="sernic"))
    assert police.get(f"/cases/{helpline_case.reference}").status_code == 200
    note = police.post(f"/cases/{helpline_case.reference}/notes", {"text": "Seen by the police."})
    assert note.status_code == 201
    actions.revoke_referral(SYSTEM, referral, reason="Sent by mistake")
    assert police.get(f"/cases/{helpline_case.reference}").status_code == 404
    assert police.get("/cases").json()["count"] == 0
    late = police.post(f"/cases/{helpline_case.reference}/notes", {"text": "Too late."})
    assert late.status_code == 404
    status = police.post(
        f"/cases/{helpline_case.reference}/status", {"to_status": "under_investigation", "reason": "x"}
    )
    assert status.status_code == 404
    assert helpline_case.notes.count() == 2  # the fixture's note and the one written before revocation


def test_identity_fields_need_an_identity_role(make_user, helpline_case):
    supervisor = make_user("agency_supervisor", agency="linha-fala-crianca")
    body = api_for(supervisor).get(f"/cases/{helpline_case.reference}").json()
    assert body["identity_visible"] is False
    assert body["narrative"] is None
    assert all(p["name"] is None for p in body["persons"])
    assert [n["text"] for n in body["notes"]] == [None]
    assert not AuditEntry.objects.filter(action=CaseAudit.VIEW_IDENTITY).exists()


def test_token_of_a_user_without_case_roles_gets_403_on_case_endpoints(make_user, helpline_case):
    analyst = api_for(make_user("analyst", agency="linha-fala-crianca"))
    assert analyst.get("/cases").status_code == 403
    assert analyst.get(f"/cases/{helpline_case.reference}").status_code == 403
    assert analyst.get("/referrals").status_code == 403
    me = analyst.get("/me")
    assert me.status_code == 200
    assert me.json()["works_on_cases"] is False


def test_missing_expired_and_revoked_tokens_get_401(operator, helpline_case):
    assert Client().get("/api/v1/cases").status_code == 401
    row, plaintext = create_api_token(SYSTEM, operator)
    api = Api(plaintext)
    assert api.get("/cases").status_code == 200
    ApiToken.objects.filter(pk=row.pk).update(expires_at=timezone.now())
    expired = api.get("/cases")
    assert expired.status_code == 401
    assert expired["WWW-Authenticate"].startswith("Bearer")
    assert "token" in expired.json()["detail"]
    row2, plaintext2 = create_api_token(SYSTEM, operator)
    revoke_api_token(SYSTEM, row2)
    assert Api(plaintext2).get("/cases").status_code == 401
    assert Api("amp_" + "x" * 43).get("/cases").status_code == 401
    basic = Client().get("/api/v1/cases", HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")
    assert basic.status_code == 401


def test_a_signed_in_browser_session_is_not_accepted(client, operator, helpline_case):
    sign_in(client, operator)
    assert client.get("/cases/").status_code == 200  # the session works on the pages…
    assert client.get("/api/v1/cases").status_code == 401  # …but never on the API
    response = client.post(
        f"/api/v1/cases/{helpline_case.reference}/notes", {"text": "forged"}, content_type="application/json"
    )
    assert response.status_code == 401
    assert helpline_case.notes.count() == 1


def test_bearer_requests_need_no_csrf_token(operator, helpline_case):
    api = Api(token_for(operator), client=Client(enforce_csrf_checks=True))
    response = api.post(f"/cases/{helpline_case.reference}/notes", {"text": "Called the school."})
    assert response.status_code == 201


def test_each_token_is_rate_limited_with_retry_after(monkeypatch, operator):
    monkeypatch.setenv("AMPARO_API_RATE_PER_MINUTE", "2")
    api = api_for(operator)
    assert [api.get("/me").status_code for _ in range(2)] == [200, 200]
    limited = api.get("/me")
    assert limited.status_code == 429
    assert limited["Retry-After"] == "30"
    assert "30" in limited.json()["detail"]
    assert api_for(operator).get("/me").status_code == 200  # another token has its own budget


def test_pages_have_a_maximum_size_and_a_next_offset(operator, make_case):
    for _ in range(3):
        make_case(agency="linha-fala-crianca")
    api = api_for(operator)
    first = api.get("/cases", limit=2).json()
    assert first["count"] == 3
    assert len(first["items"]) == 2
    assert first["next_offset"] == 2
    last = api.get("/cases", limit=2, offset=2).json()
    assert len(last["items"]) == 1
    assert last["next_offset"] is None
    too_big = api.get("/cases", limit=1000)
    assert too_big.status_code == 422
    assert "limit" in too_big.json()["detail"]


def test_case_list_filters_by_status_and_change_time(operator, helpline_case):
    api = api_for(operator)
    assert api.get("/cases", status="received").json()["count"] == 1
    assert api.get("/cases", status="closed").json()["count"] == 0
    assert api.get("/cases", status="nonsense").status_code == 422
    assert api.get("/cases", updated_since="2000-01-01T00:00:00").json()["count"] == 1
    assert api.get("/cases", updated_since="9999-12-31T23:59:59-14:00").status_code == 422


def test_me_describes_the_account_and_the_token(operator):
    body = api_for(operator).get("/me").json()
    assert body["username"] == operator.username
    assert body["agency"] == "linha-fala-crianca"
    assert body["roles"] == ["helpline_operator"]
    assert body["works_on_cases"] is True
    assert body["token_prefix"].startswith("amp_")


def test_errors_follow_the_request_language(operator):
    english = Api(token_for(operator)).get("/cases/AMP-0000-0000").json()["detail"]
    portuguese = Api(token_for(operator), language="pt").get("/cases/AMP-0000-0000").json()["detail"]
    assert english == "Not found, or not shared with your agency."
    assert portuguese  # translated by the lead's catalogue run; never empty


def test_schema_and_docs_page_are_not_public(client, operator):
    for path in ("/api/v1/openapi.json", "/api/v1/docs"):
        anonymous = client.get(path)
        assert anonymous.status_code == 302
        assert anonymous["Location"].startswith("/accounts/login/")
        wrong = client.get(path, HTTP_AUTHORIZATION="Bearer amp_not-a-token")
        assert wrong.status_code == 401
        assert wrong["WWW-Authenticate"] == "Bearer"
        assert client.get(path, HTTP_AUTHORIZATION=f"Bearer {token_for(operator)}").status_code == 200


def test_a_signed_in_member_of_staff_reads_the_docs_without_a_token(client, operator, settings):
    settings.DEMO = True  # demo users skip the second factor; others pass it first (the middleware)
    operator.is_demo = True
    operator.save()
    client.force_login(operator)
    assert client.get("/api/v1/docs").status_code == 200
    assert client.get("/api/v1/openapi.json").status_code == 200


def test_schema_and_docs_page_need_no_script_or_third_party_asset(client, operator):
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token_for(operator)}"
    schema = client.get("/api/v1/openapi.json")
    assert schema.status_code == 200
    assert "/api/v1/cases/{reference}" in schema.json()["paths"]
    assert schema.json()["components"]["securitySchemes"]["TokenAuth"]["scheme"] == "bearer"
    docs = client.get("/api/v1/docs", HTTP_ACCEPT_LANGUAGE="en")
    assert docs.status_code == 200
    body = docs.content.decode()
    assert "/api/v1/cases/{reference}/referrals" in body
    assert "Authorization: Bearer" in body
    assert "<script" not in body
    assert "<style" not in body
    assert not re.search(r"\sstyle=", body)
    assert "https://" not in body
    assert "http://" not in body
    assert "default-src 'none'" in docs["Content-Security-Policy"]
