"""Case pages: the list shows only visible cases, the detail page loads only through the access
helper (outsider 404), identity is shown and audited only for identity roles, status changes go
through the workflow."""

from __future__ import annotations

import pytest

from amparo.cases import actions
from amparo.cases.models import Case, Transition
from amparo.cases.permissions import CaseAudit, CasePermission
from amparo.cases.tests.fixtures import given_consent
from amparo.conftest import SYSTEM
from amparo.core import audit, policy
from amparo.core.models import Agency, AuditEntry
from amparo.core.tests.test_web import csp_directives, sign_in

VICTIM = "Zélia Inventada"
NARRATIVE = "Relato sintético: um adulto pediu fotografias por WhatsApp."


@pytest.fixture(autouse=True)
def _static_root(settings, tmp_path):
    """WhiteNoise warns (an error here) when STATIC_ROOT does not exist yet, as before `collectstatic`."""
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STATIC_ROOT.mkdir()


@pytest.fixture
def case(make_case):
    """A case of Linha Fala Criança in Nampula, with a named victim."""
    return make_case(
        agency="linha-fala-crianca", victim_name=VICTIM, victim_phone="+258 84 000 1111", narrative=NARRATIVE
    )


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# ---------------------------------------------------------------------------
# List


@pytest.mark.django_db
def test_case_list_shows_only_visible_cases_and_is_audited(client, make_user, make_case, case):
    elsewhere = make_case(agency="sernic")
    operator = make_user("helpline_operator", agency="linha-fala-crianca")
    sign_in(client, operator)
    response = client.get("/cases/")
    assert response.status_code == 200
    body = response.content.decode()
    assert case.reference in body
    assert elsewhere.reference not in body
    entry = AuditEntry.objects.filter(action=CaseAudit.LIST).get()
    assert entry.actor_user_id == operator.pk
    assert (entry.object_type, entry.object_id) == ("", "")


@pytest.mark.django_db
def test_case_list_shows_no_identifying_data(client, make_user, case):
    sign_in(client, make_user("investigator", agency="linha-fala-crianca"))
    body = client.get("/cases/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert VICTIM not in body
    assert "84 000 1111" not in body
    assert NARRATIVE not in body
    assert "Online grooming or solicitation" in body  # the form of abuse
    assert "Received" in body


@pytest.mark.django_db
def test_case_list_is_paginated_fifty_a_page(client, make_user, make_case):
    for _ in range(51):
        make_case(agency="sernic", narrative="")
    sign_in(client, make_user("investigator", agency="sernic"))
    first = client.get("/cases/")
    assert len(first.context["page"].object_list) == 50
    second = client.get("/cases/?page=2")
    assert len(second.context["page"].object_list) == 1
    assert client.get("/cases/?page=not-a-number").status_code == 200


@pytest.mark.django_db
def test_case_list_filters_by_status(client, make_user, make_case):
    received = make_case(agency="sernic")
    triaged = make_case(agency="sernic")
    actions.transition_case(SYSTEM, triaged, "triaged", reason="Triagem.")
    sign_in(client, make_user("investigator", agency="sernic"))
    body = client.get("/cases/?status=triaged").content.decode()
    assert triaged.reference in body
    assert received.reference not in body
    assert client.get("/cases/?status=bogus").status_code == 200


@pytest.mark.django_db
def test_case_list_is_empty_for_roles_that_do_not_work_on_cases(client, make_user, case):
    sign_in(client, make_user("sysadmin", agency="linha-fala-crianca"))
    response = client.get("/cases/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert case.reference not in response.content.decode()
    assert "Your roles do not include work on individual cases" in response.content.decode()


@pytest.mark.django_db
def test_anonymous_user_is_sent_to_login_from_case_pages(client, case):
    assert client.get("/cases/")["Location"] == "/accounts/login/?next=/cases/"
    assert client.get(f"/cases/{case.reference}/")["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_unverified_user_is_sent_to_two_factor_from_case_pages(client, make_user, case):
    sign_in(client, make_user("investigator", agency="linha-fala-crianca"), verified=False)
    assert client.get(f"/cases/{case.reference}/")["Location"] == "/accounts/two-factor/"


# ---------------------------------------------------------------------------
# Detail


@pytest.mark.django_db
def test_outsider_gets_404_on_case_detail(client, make_user, case):
    sign_in(client, make_user("investigator", agency="sernic"))
    response = client.get(f"/cases/{case.reference}/")
    assert response.status_code == 404
    body = response.content.decode()
    assert NARRATIVE not in body
    assert "priority-" not in body  # nothing of the case is rendered
    assert client.get("/cases/AMP-0000-0000/").status_code == 404


@pytest.mark.django_db
def test_identity_reader_sees_narrative_and_name_and_it_is_audited(client, make_user, case):
    operator = make_user("helpline_operator", agency="linha-fala-crianca")
    sign_in(client, operator)
    response = client.get(f"/cases/{case.reference}/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    body = response.content.decode()
    assert NARRATIVE in body
    assert VICTIM in body
    assert "+258 84 000 1111" in body
    assert "Hidden for your role" not in body
    assert "12 to 14" in body  # age band
    assert "Female" in body

    view = AuditEntry.objects.filter(action=CaseAudit.VIEW, actor_user_id=operator.pk).get()
    identity = AuditEntry.objects.filter(action=CaseAudit.VIEW_IDENTITY).get()
    assert identity.actor_user_id == operator.pk
    assert identity.object_id == str(case.pk) == view.object_id
    assert identity.fields == ["narrative", "person.name", "person.phone"]
    assert list(audit.verify()) == []


@pytest.mark.django_db
def test_agency_supervisor_sees_the_case_but_not_the_narrative_or_name(client, make_user, case):
    supervisor = make_user("agency_supervisor", agency="linha-fala-crianca")
    sign_in(client, supervisor)
    response = client.get(f"/cases/{case.reference}/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    body = response.content.decode()
    assert case.reference in body
    assert NARRATIVE not in body
    assert VICTIM not in body
    assert "84 000 1111" not in body
    assert "Hidden for your role." in body
    assert "Victim" in body  # non-identifying person fields are shown
    assert "12 to 14" in body
    assert AuditEntry.objects.filter(action=CaseAudit.VIEW, actor_user_id=supervisor.pk).exists()
    assert not AuditEntry.objects.filter(action=CaseAudit.VIEW_IDENTITY).exists()


@pytest.mark.django_db
def test_case_detail_shows_classification_place_risk_and_history(client, make_user, make_case):
    case = make_case(
        agency="sernic",
        forms=("sextortion",),
        platforms=("tiktok",),
        risk_flags=("images_spreading",),
        priority="high",
    )
    actions.transition_case(SYSTEM, case, "triaged", reason="Triagem feita.")
    investigator = make_user("investigator", agency="sernic")
    actions.transition_case(investigator, case, "assigned", reason="Atribuído.")
    sign_in(client, make_user("agency_supervisor", agency="sernic", username="chefe"))
    body = client.get(f"/cases/{case.reference}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for text in ("Sexual extortion", "TikTok", "Images are being spread", "High", "Nampula", "Helpline call"):
        assert text in body
    assert "Received → Triaged" in body
    assert "Triaged → Assigned" in body
    assert investigator.username in body
    assert "Atribuído." not in body  # free-text reasons are for identity roles only


@pytest.mark.django_db
def test_case_detail_lists_referrals(client, make_user, case):
    owner = make_user("helpline_operator", agency="linha-fala-crianca")
    actions.refer_case(
        owner, case, Agency.objects.get(code="sernic"), reason="Investigar.", consent=given_consent(case)
    )
    sign_in(client, owner)
    body = client.get(f"/cases/{case.reference}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "SERNIC" in body
    assert "Pending" in body
    assert "Investigar." in body
    identity = AuditEntry.objects.filter(action=CaseAudit.VIEW_IDENTITY).get()
    assert "referral.reason" in identity.fields


@pytest.mark.django_db
def test_case_pages_keep_the_strict_csp_and_no_outside_urls(client, make_user, case):
    sign_in(client, make_user("helpline_operator", agency="linha-fala-crianca"))
    for url in ("/cases/", f"/cases/{case.reference}/"):
        response = client.get(url)
        assert csp_directives(response)["default-src"] == "'none'"
        body = response.content.decode()
        assert "http://" not in body
        assert "https://" not in body
        assert " style=" not in body
        assert "<title>Amparo</title>" in body  # a neutral title: nothing about the case in the tab


# ---------------------------------------------------------------------------
# Status changes


@pytest.mark.django_db
def test_detail_offers_only_the_statuses_the_workflow_allows(client, make_user, case):
    sign_in(client, make_user("investigator", agency="linha-fala-crianca"))
    body = client.get(f"/cases/{case.reference}/").content.decode()
    assert 'value="triaged"' in body
    assert 'value="closed"' in body
    assert 'value="in_court"' not in body
    assert 'value="under_investigation"' not in body


@pytest.mark.django_db
def test_allowed_transition_changes_the_status(client, make_user, case):
    operator = make_user("helpline_operator", agency="linha-fala-crianca")
    sign_in(client, operator)
    response = client.post(
        f"/cases/{case.reference}/",
        {"to_status": "triaged", "reason": "Triagem inicial."},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert response.redirect_chain[0] == (f"/cases/{case.reference}/", 302)
    assert "The status of the case is now: Triaged." in _messages(response)
    case.refresh_from_db()
    assert case.status == "triaged"
    transition = Transition.objects.get(case=case)
    assert transition.actor_id == operator.pk
    assert transition.reason == "Triagem inicial."
    entry = AuditEntry.objects.get(action=CaseAudit.TRANSITION)
    assert entry.actor_user_id == operator.pk
    assert entry.fields == ["acknowledged_at", "status"]  # triage acknowledges the case (time limits)


@pytest.mark.django_db
def test_forbidden_transition_is_rejected_with_a_message(client, make_user, case):
    sign_in(client, make_user("investigator", agency="linha-fala-crianca"))
    response = client.post(
        f"/cases/{case.reference}/",
        {"to_status": "in_court", "reason": "Saltar etapas."},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    [message] = _messages(response)
    assert "A case that is Received cannot become In court" in message
    case.refresh_from_db()
    assert case.status == "received"
    assert not Transition.objects.filter(case=case).exists()
    assert not AuditEntry.objects.filter(action=CaseAudit.TRANSITION).exists()


@pytest.mark.django_db
def test_transition_without_reason_or_with_unknown_status_is_rejected(client, make_user, case):
    sign_in(client, make_user("investigator", agency="linha-fala-crianca"))
    url = f"/cases/{case.reference}/"
    response = client.post(
        url, {"to_status": "triaged", "reason": "  "}, follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert _messages(response) == ["Give a reason for the change of status."]
    response = client.post(
        url, {"to_status": "vanished", "reason": "x"}, follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert _messages(response) == ["Choose one of the statuses offered."]
    response = client.post(
        url, {"to_status": "closed", "reason": "Fechar."}, follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert _messages(response) == ["Closing a case needs an outcome."]
    case.refresh_from_db()
    assert case.status == "received"


@pytest.mark.django_db
def test_closing_with_an_outcome_works(client, make_user, case):
    sign_in(client, make_user("investigator", agency="linha-fala-crianca"))
    client.post(
        f"/cases/{case.reference}/",
        {"to_status": "closed", "outcome": "support_only", "reason": "Apoio prestado."},
    )
    case.refresh_from_db()
    assert (case.status, case.outcome) == ("closed", "support_only")


@pytest.mark.django_db
def test_outsider_post_gets_404_and_changes_nothing(client, make_user, case):
    sign_in(client, make_user("investigator", agency="sernic"))
    response = client.post(f"/cases/{case.reference}/", {"to_status": "triaged", "reason": "Intrusão."})
    assert response.status_code == 404
    case.refresh_from_db()
    assert case.status == "received"


@pytest.mark.django_db
def test_reader_without_the_transition_right_gets_403(client, make_user, case, monkeypatch):
    # No role today reads a case without being allowed to move it; tighten the rule for this test
    # (the policy registry is the one place rules live) to check that the view asks for TRANSITION.
    monkeypatch.setitem(policy._rules, str(CasePermission.TRANSITION), lambda user, obj: False)
    sign_in(client, make_user("investigator", agency="linha-fala-crianca"))
    page = client.get(f"/cases/{case.reference}/").content.decode()
    assert 'name="to_status"' not in page
    response = client.post(f"/cases/{case.reference}/", {"to_status": "triaged", "reason": "Sem direito."})
    assert response.status_code == 403
    assert Case.objects.get(pk=case.pk).status == "received"


@pytest.mark.django_db
def test_case_pages_need_get_or_post(client, make_user, case):
    sign_in(client, make_user("investigator", agency="linha-fala-crianca"))
    assert client.put(f"/cases/{case.reference}/").status_code == 405
    assert client.post("/cases/").status_code == 405
