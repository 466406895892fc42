"""A referral that does not share the reporter's identity gives the receiving agency no way into the
reporter conversation, even though it can read the case."""

from __future__ import annotations

import pytest

from amparo.cases.models import ShareableField
from amparo.core.policy import can
from amparo.evidence.tests.test_referral_sections import _accepted_referral
from amparo.intake.permissions import IntakePermission

pytestmark = pytest.mark.django_db


def test_the_reporter_conversation_needs_the_reporter_identity_section(make_case, make_user) -> None:  # noqa: ANN001
    case = make_case(agency="linha-fala-crianca")
    receiver = make_user("investigator", "agency_supervisor", agency="sernic")
    _accepted_referral(case, receiver, [ShareableField.NARRATIVE, ShareableField.NOTES])
    assert not can(receiver, IntakePermission.MESSAGE_REPORTER, case)
    owner = make_user("helpline_operator", agency="linha-fala-crianca")
    assert can(owner, IntakePermission.MESSAGE_REPORTER, case)
