"""A referral that does not share the evidence section (or the reporter's identity) gives the receiving
agency no way into the vault (or the reporter conversation), even though it can read the case."""

from __future__ import annotations

import pytest

from amparo.cases import actions
from amparo.cases.models import ShareableField
from amparo.cases.permissions import CasePermission
from amparo.cases.tests.fixtures import given_consent
from amparo.conftest import SYSTEM
from amparo.core.models import Agency
from amparo.core.policy import can
from amparo.evidence import actions as evidence_actions
from amparo.evidence.permissions import EvidencePermission

pytestmark = pytest.mark.django_db


def _accepted_referral(case, receiver, shared):  # noqa: ANN001, ANN202
    referral = actions.refer_case(
        SYSTEM,
        case,
        Agency.objects.get(code="sernic"),
        reason="Investigar.",
        consent=given_consent(case),
        shared_fields=shared,
    )
    actions.decide_referral(receiver, referral, accept=True)


@pytest.mark.parametrize("shared", [[], [ShareableField.NARRATIVE, ShareableField.VICTIM_IDENTITY]])
def test_a_referral_without_the_evidence_section_opens_no_evidence(make_case, make_user, shared) -> None:  # noqa: ANN001
    case = make_case(agency="linha-fala-crianca")
    item = evidence_actions.add_item(SYSTEM, case, [b"synthetic screenshot bytes"], original_name="a.png")
    receiver = make_user("investigator", "agency_supervisor", agency="sernic")
    _accepted_referral(case, receiver, shared)
    assert can(receiver, CasePermission.READ, case)  # reading the case itself is allowed …
    assert not can(receiver, EvidencePermission.READ, case)  # … its evidence is not
    assert not can(receiver, EvidencePermission.READ, item)


@pytest.mark.parametrize(
    "permission",
    [
        EvidencePermission.ADD,
        EvidencePermission.REVEAL,
        EvidencePermission.CUSTODY,
        EvidencePermission.EXPORT_HASHES,
    ],
)
def test_the_policy_itself_refuses_evidence_actions_without_the_evidence_section(
    make_case, make_user, permission
) -> None:  # noqa: ANN001
    case = make_case(agency="linha-fala-crianca")
    item = evidence_actions.add_item(SYSTEM, case, [b"synthetic screenshot bytes"], original_name="a.png")
    receiver = make_user("investigator", agency="sernic")
    _accepted_referral(case, receiver, [ShareableField.NARRATIVE])
    assert not can(receiver, permission, case)
    assert not can(receiver, permission, item)
    # The same user on a case whose referral shared the evidence may.
    shared = make_case(agency="linha-fala-crianca")
    shared_item = evidence_actions.add_item(SYSTEM, shared, [b"other synthetic bytes"], original_name="b.png")
    _accepted_referral(shared, receiver, [ShareableField.EVIDENCE])
    assert can(receiver, permission, shared_item)


def test_hashlist_export_refuses_a_user_whose_referral_did_not_share_the_evidence(
    make_case, make_user, tmp_path
) -> None:  # noqa: ANN001
    from django.core.management import CommandError, call_command

    case = make_case(agency="linha-fala-crianca")
    evidence_actions.add_item(SYSTEM, case, [b"synthetic screenshot bytes"], original_name="a.png")
    receiver = make_user("investigator", agency="sernic")
    _accepted_referral(case, receiver, [ShareableField.NARRATIVE])
    out = tmp_path / "hashes.csv"
    with pytest.raises(CommandError):
        call_command(
            "hashlist", "export", "--case", case.reference, "--format", "csv", "-o", str(out),
            "--user", receiver.username,
        )  # fmt: skip
    assert not out.exists()


def test_a_referral_that_shares_the_evidence_opens_it(make_case, make_user) -> None:  # noqa: ANN001
    case = make_case(agency="linha-fala-crianca")
    item = evidence_actions.add_item(SYSTEM, case, [b"synthetic screenshot bytes"], original_name="a.png")
    receiver = make_user("investigator", "agency_supervisor", agency="sernic")
    _accepted_referral(case, receiver, [ShareableField.EVIDENCE])
    assert can(receiver, EvidencePermission.READ, case)
    assert can(receiver, EvidencePermission.READ, item)
