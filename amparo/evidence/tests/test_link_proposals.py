"""The same file in two cases proposes linking them: the case page offers it to whoever may read both
cases' evidence, and accepting it is an audited link."""

from __future__ import annotations

import pytest

from amparo.cases.actions import relations as relation_actions
from amparo.cases.models import CaseRelation, RelationReason
from amparo.cases.relations import link_suggestions
from amparo.conftest import SYSTEM
from amparo.core import audit
from amparo.core.tests.test_web import sign_in
from amparo.evidence import actions as evidence_actions
from amparo.evidence.models import LinkProposal

pytestmark = pytest.mark.django_db
SAME_FILE = b"synthetic screenshot of a chat, the same bytes in both cases"


@pytest.fixture
def two_cases(make_case):  # noqa: ANN001, ANN201
    first, second = make_case(agency="sernic"), make_case(agency="sernic")
    evidence_actions.add_item(SYSTEM, first, [SAME_FILE], original_name="a.png")
    evidence_actions.add_item(SYSTEM, second, [SAME_FILE], original_name="b.png")  # hashed on ingest
    return first, second


def test_the_same_file_in_two_cases_is_offered_as_a_link(two_cases, make_user, client) -> None:  # noqa: ANN001
    first, second = two_cases
    assert LinkProposal.objects.count() == 1
    investigator = make_user("investigator", agency="sernic")
    suggestions = link_suggestions(investigator, first)
    assert [(s.other.pk, s.reason) for s in suggestions] == [(second.pk, RelationReason.SAME_EVIDENCE)]
    sign_in(client, investigator)
    page = client.get(f"/cases/{first.reference}/").content.decode()
    assert second.reference in page


def test_accepting_the_suggestion_is_an_audited_link(two_cases, make_user) -> None:  # noqa: ANN001
    first, second = two_cases
    investigator = make_user("investigator", agency="sernic")
    relation_actions.link_cases(investigator, first, second, reason=RelationReason.SAME_EVIDENCE)
    assert CaseRelation.objects.filter(reason=RelationReason.SAME_EVIDENCE).count() == 1
    assert list(audit.verify()) == []


def test_no_suggestion_for_someone_who_may_not_read_the_evidence(two_cases, make_user) -> None:  # noqa: ANN001
    first, _second = two_cases
    analyst = make_user("analyst", agency="sernic")
    assert link_suggestions(analyst, first) == []
