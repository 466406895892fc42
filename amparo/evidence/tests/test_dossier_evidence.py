"""The prosecutor's dossier (amparo.cases.dossier) lists the evidence's hashes only for the agencies given
the evidence section, and never a file's original name."""

from __future__ import annotations

import hashlib
import io

import pytest

from amparo.cases.dossier import build_dossier
from amparo.cases.models import ShareableField
from amparo.cases.tests.justice_support import share
from amparo.cases.tests.test_dossier import _text, case  # noqa: F401  (case: fixture)
from amparo.evidence.tests.test_vault import evidence_dir  # noqa: F401  (fixture: local vault in tmp)

pytestmark = pytest.mark.django_db


@pytest.mark.usefixtures("evidence_dir")
def test_evidence_hashes_are_in_the_dossier_only_for_agencies_given_the_evidence(
    make_user,
    case,  # noqa: F811  (the fixture)
    django_capture_on_commit_callbacks,
):
    from amparo.evidence import actions as evidence_actions

    content = b"synthetic evidence bytes for the dossier test"
    digest = hashlib.sha256(content).hexdigest()
    investigator = make_user("investigator", agency="sernic")
    with django_capture_on_commit_callbacks(execute=True):  # hashing runs after the commit
        evidence_actions.add_item(investigator, case, io.BytesIO(content), original_name="foto-privada.jpg")

    def squeezed(user) -> tuple[str, list[str]]:
        pdf, included = build_dossier(user, case)
        return "".join(_text(pdf).split()), included  # a long hash may wrap at the margin

    text, included = squeezed(investigator)
    assert digest in text
    assert "evidence" in included
    assert "foto-privada" not in text  # hashes only, never the original name

    prosecutor = make_user("prosecutor", agency="pgr")
    share(case, "pgr", [ShareableField.JUSTICE], prosecutor)
    text, included = squeezed(prosecutor)
    assert digest not in text
    assert "evidence" not in included

    court = make_user("court_officer", agency="tribunal-menores-maputo")
    share(case, "tribunal-menores-maputo", [ShareableField.EVIDENCE], court)
    text, included = squeezed(court)
    assert digest in text
    assert "evidence" in included
