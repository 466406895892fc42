"""Referrals between agencies through the staff pages: consent or a justified legal basis is required, the
receiving agency sees only the sections chosen for sharing, and a declined or revoked referral gives no
access at all."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from amparo.cases import actions
from amparo.cases.consent import consent_permits_sharing
from amparo.cases.models import ConsentRecord, Referral
from amparo.cases.permissions import CaseAudit
from amparo.cases.tests.fixtures import given_consent
from amparo.conftest import SYSTEM
from amparo.core import audit
from amparo.core.models import Agency, AuditEntry
from amparo.core.tests.test_web import sign_in

pytestmark = pytest.mark.django_db

OWNER = "linha-fala-crianca"
PARTNER = "sernic"
VICTIM = "Zélia Inventada"
OFFENDER = "Conta Falsa Inventada"
CAREGIVER = "Marta Inventada"
NARRATIVE = "Relato sintético: um adulto pediu fotografias por WhatsApp."
NOTE = "Nota sintética: a escola foi contactada."


@pytest.fixture(autouse=True)
def _static_root(settings, tmp_path):  # noqa: ANN001, ANN202
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STATIC_ROOT.mkdir()


@pytest.fixture
def case(make_case):  # noqa: ANN001, ANN201
    case = make_case(agency=OWNER, victim_name=VICTIM, victim_phone="+258 84 000 1111", narrative=NARRATIVE)
    actions.add_person(SYSTEM, case, role="offender", name=OFFENDER)
    actions.add_person(SYSTEM, case, role="caregiver", name=CAREGIVER, phone="+258 82 000 2222")
    actions.add_note(SYSTEM, case, NOTE)
    return case


@pytest.fixture
def owner(make_user):  # noqa: ANN001, ANN201
    return make_user("intake_officer", agency=OWNER)


@pytest.fixture
def receiver(make_user):  # noqa: ANN001, ANN201
    return make_user("investigator", agency=PARTNER)


def _refer(owner: Any, case: Any, shared: list[str]) -> Referral:
    return actions.refer_case(
        owner,
        case,
        Agency.objects.get(code=PARTNER),
        reason="Investigar a extorsão.",
        consent=given_consent(case),
        shared_fields=shared,
    )


def _page(client: Any, case: Any) -> Any:
    return client.get(f"/cases/{case.reference}/", HTTP_ACCEPT_LANGUAGE="en")


# ---------------------------------------------------------------------------
# Consent or a justified legal basis


@pytest.mark.parametrize(
    ("child", "caregiver", "basis", "justification", "permits"),
    [
        ("given", "given", "", "", True),
        ("given", "not_applicable", "", "", True),
        ("given", "refused", "", "", False),
        ("given", "not_asked", "", "", False),
        ("refused", "given", "", "", False),
        ("not_asked", "not_asked", "", "", False),
        ("refused", "refused", "criminal_offence", "A public crime against a child.", True),
        ("not_asked", "not_asked", "immediate_danger", "   ", False),
        ("not_asked", "not_asked", "caregiver_is_suspect", "", False),
    ],
)
def test_sharing_needs_both_consents_or_a_justified_legal_basis(
    child: str, caregiver: str, basis: str, justification: str, permits: bool
) -> None:
    consent = ConsentRecord(
        child_consent=child, caregiver_consent=caregiver, legal_basis=basis, justification=justification
    )
    assert consent_permits_sharing(consent) is permits


def test_refer_case_refuses_a_missing_refused_or_foreign_consent(make_case, owner, case) -> None:  # noqa: ANN001
    sernic = Agency.objects.get(code=PARTNER)
    refused = actions.record_consent(
        owner, case, purpose="Referral", child_consent="refused", caregiver_consent="given"
    )
    other_case = make_case(agency=OWNER)
    foreign = given_consent(other_case)
    for consent in (None, refused, foreign):
        with pytest.raises(ValidationError):
            actions.refer_case(owner, case, sernic, reason="Investigar.", consent=consent)
    assert not Referral.objects.exists()


def test_referring_from_the_case_page_without_consent_records_nothing(client, owner, case) -> None:  # noqa: ANN001
    sign_in(client, owner)
    response = client.post(
        f"/cases/{case.reference}/refer/",
        {
            "to_agency": Agency.objects.get(code=PARTNER).pk,
            "reason": "Investigar.",
            "urgency": "high",
            "child_consent": "given",
            "caregiver_consent": "refused",
            "legal_basis": "",
        },
        HTTP_ACCEPT_LANGUAGE="en",
        follow=True,
    )
    assert not Referral.objects.exists()
    assert not ConsentRecord.objects.exists()  # the refusal and the referral are one step, or nothing
    assert any("does not allow sharing" in str(m) for m in response.context["messages"])


def test_a_legal_basis_without_justification_is_refused_and_with_one_accepted(client, owner, case) -> None:  # noqa: ANN001
    sign_in(client, owner)
    form = {
        "to_agency": Agency.objects.get(code=PARTNER).pk,
        "reason": "Investigar.",
        "urgency": "high",
        "child_consent": "not_asked",
        "caregiver_consent": "not_asked",
        "legal_basis": "caregiver_is_suspect",
        "justification": "",
        "shared_fields": ["offender_identity"],
    }
    client.post(f"/cases/{case.reference}/refer/", form)
    assert not Referral.objects.exists()
    assert not ConsentRecord.objects.exists()

    form["justification"] = "The caregiver is named as the abuser by the child."
    client.post(f"/cases/{case.reference}/refer/", form)
    referral = Referral.objects.get()
    assert (referral.consent.legal_basis, referral.consent.justification) == (
        "caregiver_is_suspect",
        "The caregiver is named as the abuser by the child.",
    )
    assert (referral.urgency, referral.shared_fields, referral.status) == (
        "high",
        ["offender_identity"],
        "pending",
    )
    mark_actions = list(
        AuditEntry.objects.filter(object_id__in=[str(referral.pk), str(referral.consent_id)])
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert mark_actions == [CaseAudit.CONSENT_RECORD, CaseAudit.REFERRAL_CREATE]


# ---------------------------------------------------------------------------
# Declined and revoked referrals give no access


def test_declined_referral_grants_no_access(client, owner, receiver, case) -> None:  # noqa: ANN001
    referral = _refer(owner, case, ["narrative"])
    sign_in(client, receiver)
    assert _page(client, case).status_code == 404  # pending: nothing yet

    # Declining needs a reason.
    client.post(f"/cases/referrals/{referral.pk}/decide/", {"decision": "decline", "reason": ""})
    assert Referral.objects.get(pk=referral.pk).status == "pending"
    client.post(f"/cases/referrals/{referral.pk}/decide/", {"decision": "decline", "reason": "Não é nosso."})
    referral.refresh_from_db()
    assert (referral.status, referral.decision_reason) == ("declined", "Não é nosso.")

    assert _page(client, case).status_code == 404
    assert case.reference not in client.get("/cases/").content.decode()
    inbox = client.get("/cases/referrals/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'href="/cases/{case.reference}/"' not in inbox  # listed as answered, but not a way in
    # Accepting afterwards is refused: a decision stands.
    client.post(f"/cases/referrals/{referral.pk}/decide/", {"decision": "accept"})
    assert Referral.objects.get(pk=referral.pk).status == "declined"
    assert _page(client, case).status_code == 404


def test_revoked_referral_grants_no_access(client, owner, receiver, case) -> None:  # noqa: ANN001
    referral = _refer(owner, case, ["narrative", "notes"])
    sign_in(client, receiver)
    response = client.post(f"/cases/referrals/{referral.pk}/decide/", {"decision": "accept"})
    assert response.status_code == 302
    assert _page(client, case).status_code == 200
    assert NARRATIVE in _page(client, case).content.decode()

    # Only the referring agency may revoke.
    client.post(f"/cases/referrals/{referral.pk}/revoke/", {"reason": "Mine now."})
    assert Referral.objects.get(pk=referral.pk).status == "accepted"

    client.logout()
    sign_in(client, owner)
    client.post(f"/cases/referrals/{referral.pk}/revoke/", {"reason": "Unidade errada."})
    assert Referral.objects.get(pk=referral.pk).status == "revoked"

    client.logout()
    sign_in(client, receiver)
    assert _page(client, case).status_code == 404
    assert client.post(f"/cases/{case.reference}/notes/", {"text": "Ainda aqui?"}).status_code == 404
    assert case.reference not in client.get("/cases/").content.decode()
    assert list(audit.verify()) == []


# ---------------------------------------------------------------------------
# Only the chosen sections are visible to the receiving agency


@pytest.mark.parametrize(
    ("shared", "visible", "hidden"),
    [
        ([], [], [NARRATIVE, VICTIM, OFFENDER, CAREGIVER, NOTE, "84 000 1111"]),
        (["offender_identity"], [OFFENDER], [NARRATIVE, VICTIM, CAREGIVER, NOTE, "84 000 1111"]),
        (["narrative", "notes"], [NARRATIVE, NOTE], [VICTIM, OFFENDER, CAREGIVER, "84 000 1111"]),
        (["victim_identity"], [VICTIM, "84 000 1111"], [NARRATIVE, OFFENDER, CAREGIVER, NOTE]),
    ],
    ids=["nothing", "offender", "narrative-notes", "victim"],
)
def test_fields_not_chosen_for_sharing_are_not_visible_to_the_receiving_agency(
    client, owner, receiver, case, shared: list[str], visible: list[str], hidden: list[str]
) -> None:  # noqa: ANN001
    referral = _refer(owner, case, shared)
    actions.decide_referral(receiver, referral, accept=True)
    sign_in(client, receiver)
    response = _page(client, case)
    assert response.status_code == 200
    body = response.content.decode()
    for text in visible:
        assert text in body
    for text in hidden:
        assert text not in body
    # The non-identifying facts are always there.
    assert "Online grooming" in body
    assert "Nampula" in body
    # The owning agency still sees everything.
    client.logout()
    sign_in(client, owner)
    body = _page(client, case).content.decode()
    for text in (NARRATIVE, VICTIM, OFFENDER, CAREGIVER, NOTE):
        assert text in body


def test_receiving_agency_cannot_add_notes_unless_notes_were_shared(client, owner, receiver, case) -> None:  # noqa: ANN001
    referral = _refer(owner, case, ["offender_identity"])
    actions.decide_referral(receiver, referral, accept=True)
    sign_in(client, receiver)
    assert client.post(f"/cases/{case.reference}/notes/", {"text": "Nota."}).status_code == 403
    assert case.notes.count() == 1


def test_identity_reads_by_the_receiving_agency_name_only_what_was_shown(
    client, owner, receiver, case
) -> None:  # noqa: ANN001
    referral = _refer(owner, case, ["offender_identity"])
    actions.decide_referral(receiver, referral, accept=True)
    sign_in(client, receiver)
    _page(client, case)
    entry = AuditEntry.objects.filter(action=CaseAudit.VIEW_IDENTITY, actor_user_id=receiver.pk).get()
    assert "narrative" not in entry.fields
    assert "person.name" in entry.fields
    assert "person.phone" not in entry.fields  # the offender has none; the victim's is not shared


# ---------------------------------------------------------------------------
# The referrals inbox


def test_inbox_shows_pending_referrals_to_the_receiving_agency_only(
    client, make_user, owner, receiver, case
) -> None:  # noqa: ANN001
    _refer(owner, case, ["offender_identity"])
    sign_in(client, receiver)
    body = client.get("/cases/referrals/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert case.reference in body
    assert "alleged offender" in body  # the sections shared are named
    assert "Child: Consent given. Caregiver: Consent given." in body
    assert VICTIM not in body
    assert NARRATIVE not in body
    client.logout()
    sign_in(client, make_user("investigator", agency="pgr"))
    assert case.reference not in client.get("/cases/referrals/").content.decode()


# ---------------------------------------------------------------------------
# The timeline


def test_timeline_shows_consent_referral_and_every_decision(client, owner, receiver, make_user, case) -> None:  # noqa: ANN001
    referral = _refer(owner, case, ["notes"])
    actions.decide_referral(receiver, referral, accept=True)
    actions.revoke_referral(owner, referral, reason="Unidade errada.")
    owner_name = Agency.objects.get(code=OWNER).short_name
    partner_name = Agency.objects.get(code=PARTNER).short_name
    sign_in(client, owner)
    body = _page(client, case).content.decode()
    timeline = body[body.index('class="timeline"') :]
    expected = [
        "Consent to share recorded (Referral (tests)). Child: Consent given. Caregiver: Consent given.",
        f"Referred from {owner_name} to {partner_name}, urgency Normal. Shared: Case notes.",
        f"{partner_name} accepted the referral.",
        f"{owner_name} revoked the referral.",
        "Unidade errada.",
    ]
    positions = [timeline.index(text) for text in expected]
    assert positions == sorted(positions)  # in time order
    # Another agency's referral of the same case is not shown to the receiving agency.
    pgr_referral = actions.refer_case(
        owner, case, Agency.objects.get(code="pgr"), reason="Acusação.", consent=given_consent(case)
    )
    second = actions.refer_case(
        owner, case, Agency.objects.get(code=PARTNER), reason="De novo.", consent=given_consent(case)
    )
    actions.decide_referral(receiver, second, accept=True)
    client.logout()
    sign_in(client, receiver)
    body = _page(client, case).content.decode()
    assert "Acusação." not in body
    assert f"to {Agency.objects.get(code='pgr').short_name}" not in body
    assert str(pgr_referral.pk) not in body
