"""Denied access is audited (issue 16, item 13): a user refused another agency's case or evidence leaves
an entry naming who, which object and the outcome (404 or 403), at most `audit.DENIED_RATE` times per
window, so that probing ids cannot flood the log. (In evidence's tests: they load cases and evidence.)"""

from __future__ import annotations

import io

import pytest

from amparo.conftest import SYSTEM
from amparo.core import audit
from amparo.core.audit import CoreAudit
from amparo.core.models import AuditEntry
from amparo.core.tests.test_web import sign_in
from amparo.evidence import actions
from amparo.evidence.tests.test_vault import evidence_dir, textured_png  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def denied() -> list[tuple[str, str, str, list[str]]]:
    return list(
        AuditEntry.objects.filter(action=CoreAudit.ACCESS_DENIED)
        .order_by("id")
        .values_list("actor_username", "object_type", "object_id", "fields")
    )


def test_an_outsider_refused_a_case_leaves_an_entry_with_the_outcome(client, make_user, make_case):
    case = make_case(agency="sernic")
    outsider = make_user("investigator", agency="prm", username="outsider")
    sign_in(client, outsider)
    assert client.get(f"/cases/{case.reference}/").status_code == 404
    assert denied() == [("outsider", "cases.case", str(case.pk), ["outcome:404"])]


def test_a_case_that_does_not_exist_leaves_no_entry(client, make_user):
    sign_in(client, make_user("investigator", agency="prm"))
    assert client.get("/cases/MZ-2026-99999/").status_code == 404
    assert denied() == []


def test_an_outsider_refused_evidence_by_id_leaves_an_entry(client, make_user, make_case, evidence_dir):  # noqa: F811
    item = actions.add_item(
        SYSTEM, make_case(agency="sernic"), io.BytesIO(textured_png()), original_name="a.png"
    )
    sign_in(client, make_user("investigator", agency="prm", username="outsider"))
    assert client.get(f"/evidence/items/{item.pk}/").status_code == 404
    assert denied() == [("outsider", "evidence.evidenceitem", str(item.pk), ["outcome:404"])]


def test_a_reader_without_the_right_leaves_a_403_entry(make_user, make_case, evidence_dir):  # noqa: F811
    from django.core.exceptions import PermissionDenied

    from amparo.evidence.access import get_item_for_user
    from amparo.evidence.permissions import EvidencePermission

    case = make_case(agency="sernic")
    item = actions.add_item(SYSTEM, case, io.BytesIO(textured_png()), original_name="a.png")
    # An intake officer of the receiving agency sees the item's record but may not reveal it.
    officer = make_user("intake_officer", agency="sernic", username="officer")
    with pytest.raises(PermissionDenied):
        get_item_for_user(officer, item.pk, EvidencePermission.REVEAL)
    assert denied() == [("officer", "evidence.evidenceitem", str(item.pk), ["outcome:403"])]


def test_denied_entries_are_rate_limited_per_user(client, make_user, make_case, caplog):
    case = make_case(agency="sernic")
    prober = make_user("investigator", agency="prm", username="prober")
    sign_in(client, prober)
    with caplog.at_level("WARNING", logger="amparo.audit"):
        for _ in range(audit.DENIED_RATE + 5):
            assert client.get(f"/cases/{case.reference}/").status_code == 404
    assert len(denied()) == audit.DENIED_RATE
    assert caplog.text.count("not audited") == 5
    assert case.reference not in caplog.text  # ids only: the row's key, never the reference
    # Another user's refusals are still recorded.
    sign_in(client, make_user("investigator", agency="prm", username="other"))
    client.get(f"/cases/{case.reference}/")
    assert denied()[-1][0] == "other"
    assert list(audit.verify()) == []
