"""Consent and referral in one transaction (cases.actions.refer_with_consent), which the case page and the
staff API both call: a refused referral keeps no consent record and no audit entry."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from amparo.cases import actions
from amparo.cases.models import ConsentRecord, Referral
from amparo.cases.permissions import CaseAudit
from amparo.core.models import Agency, AuditEntry

pytestmark = pytest.mark.django_db

GIVEN = {"purpose": "Referral (tests)", "child_consent": "given", "caregiver_consent": "given"}


def test_a_new_consent_and_the_referral_are_recorded_together(make_case, make_user) -> None:  # noqa: ANN001
    case = make_case(agency="linha-fala-crianca")
    operator = make_user("helpline_operator", agency="linha-fala-crianca")
    referral = actions.refer_with_consent(
        operator, case, Agency.objects.get(code="sernic"), reason="Investigar.", new_consent=GIVEN
    )
    assert referral.consent == ConsentRecord.objects.get(case=case)
    assert list(
        AuditEntry.objects.filter(action__in=[CaseAudit.CONSENT_RECORD, CaseAudit.REFERRAL_CREATE])
        .order_by("id")
        .values_list("action", flat=True)
    ) == [CaseAudit.CONSENT_RECORD, CaseAudit.REFERRAL_CREATE]


def test_a_refused_referral_keeps_no_consent_record(make_case, make_user) -> None:  # noqa: ANN001
    case = make_case(agency="linha-fala-crianca")
    operator = make_user("helpline_operator", agency="linha-fala-crianca")
    owner = Agency.objects.get(code="linha-fala-crianca")  # a case cannot be referred to its owner
    with pytest.raises(ValidationError):
        actions.refer_with_consent(operator, case, owner, reason="Investigar.", new_consent=GIVEN)
    assert not ConsentRecord.objects.filter(case=case).exists()
    assert not Referral.objects.filter(case=case).exists()
    assert not AuditEntry.objects.filter(action=CaseAudit.CONSENT_RECORD).exists()


def test_an_existing_consent_record_is_used_as_it_is(make_case, make_user) -> None:  # noqa: ANN001
    case = make_case(agency="linha-fala-crianca")
    operator = make_user("helpline_operator", agency="linha-fala-crianca")
    consent = actions.record_consent(operator, case, **GIVEN)
    referral = actions.refer_with_consent(
        operator, case, Agency.objects.get(code="sernic"), reason="Investigar.", consent=consent
    )
    assert referral.consent == consent
    assert ConsentRecord.objects.filter(case=case).count() == 1


def test_exactly_one_source_of_consent_is_given(make_case) -> None:  # noqa: ANN001
    case = make_case()
    sernic = Agency.objects.get(code="sernic")
    with pytest.raises(ValueError, match="either"):
        actions.refer_with_consent(None, case, sernic, reason="x")
