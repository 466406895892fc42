"""The case dossier for the prosecutor: a PDF watermarked on every page with the exporting user and the
time (Maputo), audited with the sections it holds, exported only by identity readers of the case, and
holding only what the exporting agency may see (sections not shared with a receiving agency stay out)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from amparo.cases import actions as case_actions
from amparo.cases.actions import justice as actions
from amparo.cases.dossier import build_dossier, export_dossier
from amparo.cases.models import Case, ShareableField
from amparo.cases.permissions import JusticeAudit
from amparo.cases.tests.justice_support import (
    CHILD,
    CHILD_PHONE,
    NARRATIVE,
    ago,
    entries_since,
    flat,
    mark,
    new_case,
    pdf_pages,
    share,
)
from amparo.conftest import SYSTEM
from amparo.core import audit
from amparo.core.models import AuditEntry
from amparo.core.tests.test_web import sign_in

pytestmark = pytest.mark.django_db

NOTE = "Nota interna inventada: a mãe telefonou duas vezes."
INTERVIEW_NOTE = "Declarações tomadas com a técnica presente."
COURT_NUMBER = "Proc. 77/2026-TMCM"
# 13:05 UTC is 15:05 in Maputo (UTC+2 all year).
EXPORTED_AT = dt.datetime(2026, 11, 20, 13, 5, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _static_root(settings, tmp_path):
    """WhiteNoise warns (an error here) when STATIC_ROOT does not exist yet, as before `collectstatic`."""
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STATIC_ROOT.mkdir()


@pytest.fixture
def case() -> Case:
    """A SERNIC case with a note, a justice event and an interview."""
    case = new_case()
    case_actions.add_note(SYSTEM, case, NOTE)
    actions.record_justice_event(
        SYSTEM, case, kind="court_case_registered", court_case_number=COURT_NUMBER, occurred_at=ago(days=2)
    )
    actions.record_interview(
        SYSTEM,
        case,
        occurred_at=ago(days=3),
        interviewer_name="Inspectora (tests)",
        interviewer_trained=True,
        support_person_present=True,
        recorded=True,
        recording_reference="Arquivo SERNIC",
        notes=INTERVIEW_NOTE,
    )
    return case


def _text(content: bytes) -> str:
    return flat("\n".join(pdf_pages(content)))


def test_every_page_is_watermarked_with_the_exporting_user_and_maputo_time(make_user, case):
    for number in range(40):  # enough notes for several pages
        case_actions.add_note(SYSTEM, case, f"Nota {number}: " + "texto de enchimento " * 20)
    investigator = make_user("investigator", agency="sernic", username="inspectora.dossie")
    content = export_dossier(investigator, case, now=EXPORTED_AT)
    pages = pdf_pages(content)
    assert len(pages) > 2
    for page in pages:
        text = flat(page)
        assert "inspectora.dossie" in text
        assert "2026-11-20 15:05" in text  # Maputo time, not UTC (13:05)
    assert "2026-11-20 13:05" not in _text(content)  # not UTC


def test_the_export_is_audited_with_the_sections_it_holds(make_user, case):
    investigator = make_user("investigator", agency="sernic")
    start = mark()
    export_dossier(investigator, case)
    [entry] = entries_since(start)
    assert entry.action == JusticeAudit.DOSSIER_EXPORT == "cases:case:export_dossier"
    assert (entry.object_type, entry.object_id) == ("cases.case", str(case.pk))
    assert entry.actor_user_id == investigator.pk
    assert set(entry.fields) >= {
        "facts",
        "persons",
        "persons.identity",
        "transitions",
        "referrals",
        "narrative",
        "justice",
        "interviews",
        "notes",
    }
    assert list(audit.verify()) == []


def test_the_owning_agency_dossier_holds_the_whole_case(make_user, case):
    investigator = make_user("investigator", agency="sernic")
    text = _text(export_dossier(investigator, case, now=EXPORTED_AT))
    for expected in (case.reference, NARRATIVE, CHILD, CHILD_PHONE, NOTE, COURT_NUMBER, INTERVIEW_NOTE):
        assert flat(expected) in text, expected


def test_sections_not_shared_with_the_receiving_agency_stay_out_of_its_dossier(make_user, case):
    prosecutor = make_user("prosecutor", agency="pgr", username="procuradora.pgr")
    share(case, "pgr", [ShareableField.JUSTICE], prosecutor)
    start = mark()
    text = _text(export_dossier(prosecutor, case, now=EXPORTED_AT))
    assert case.reference in text
    assert COURT_NUMBER in text  # the justice record was shared
    for hidden in (NARRATIVE, CHILD, CHILD_PHONE, NOTE, INTERVIEW_NOTE, "Arquivo SERNIC"):
        assert flat(hidden) not in text, hidden
    assert "procuradora.pgr" in text
    [entry] = entries_since(start)
    assert "justice" in entry.fields
    assert not {"narrative", "notes", "interviews", "persons.identity"} & set(entry.fields)


def test_a_shared_identity_section_shows_only_that_persons_identity(make_user, case):
    case_actions.add_person(
        SYSTEM, case, role="caregiver", name="Cuidadora Inventada", phone="+258 82 999 0000"
    )
    prosecutor = make_user("prosecutor", agency="pgr")
    share(case, "pgr", [ShareableField.CAREGIVER_IDENTITY, ShareableField.INTERVIEWS], prosecutor)
    content, included = build_dossier(prosecutor, case)
    text = _text(content)
    assert "Cuidadora Inventada" in text
    assert "+258 82 999 0000" in text
    assert CHILD not in text
    assert CHILD_PHONE not in text
    assert INTERVIEW_NOTE in text
    assert COURT_NUMBER not in text
    assert "interviews" in included
    assert "justice" not in included


def test_a_revoked_referral_takes_the_shared_sections_and_the_export_away(make_user, case):
    prosecutor = make_user("prosecutor", agency="pgr")
    referral = share(case, "pgr", [ShareableField.NARRATIVE, ShareableField.NOTES], prosecutor)
    assert NARRATIVE in _text(export_dossier(prosecutor, case))
    case_actions.revoke_referral(SYSTEM, referral)
    with pytest.raises(PermissionDenied):
        export_dossier(prosecutor, case)


@pytest.mark.parametrize("role", ["agency_supervisor", "analyst", "auditor"])
def test_roles_without_identity_export_no_dossier_and_nothing_is_audited(make_user, case, role):
    start = mark()
    with pytest.raises(PermissionDenied):
        export_dossier(make_user(role, agency="sernic"), case)
    assert entries_since(start, prefix="cases:case:export") == []


def test_the_dossier_is_downloaded_by_post_and_marked_with_the_time_of_the_request(client, make_user, case):
    investigator = make_user("investigator", agency="sernic", username="inspector.web")
    sign_in(client, investigator)
    body = client.get(f"/cases/{case.reference}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'action="/cases/{case.reference}/dossier.pdf"' in body
    before = timezone.localtime(timezone.now())
    response = client.post(f"/cases/{case.reference}/dossier.pdf")
    after = timezone.localtime(timezone.now())
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"]
    assert f"dossier-{case.reference}-" in response["Content-Disposition"]
    text = _text(response.content)
    assert "inspector.web" in text
    stamps = {before.strftime("%Y-%m-%d %H:%M"), after.strftime("%Y-%m-%d %H:%M")}
    assert any(stamp in text for stamp in stamps)
    assert (
        AuditEntry.objects.filter(
            action=JusticeAudit.DOSSIER_EXPORT, actor_user_id=investigator.pk, object_id=str(case.pk)
        ).count()
        == 1
    )
    assert client.get(f"/cases/{case.reference}/dossier.pdf").status_code == 405


def test_dossier_page_keeps_outsiders_out_and_readers_without_identity_from_exporting(
    client, make_user, case
):
    sign_in(client, make_user("prosecutor", agency="pgr"))  # no referral
    assert client.post(f"/cases/{case.reference}/dossier.pdf").status_code == 404
    client.logout()
    supervisor = make_user("agency_supervisor", agency="sernic")
    sign_in(client, supervisor)
    body = client.get(f"/cases/{case.reference}/").content.decode()
    assert "/dossier.pdf" not in body
    assert client.post(f"/cases/{case.reference}/dossier.pdf").status_code == 403
    assert not AuditEntry.objects.filter(action=JusticeAudit.DOSSIER_EXPORT).exists()
