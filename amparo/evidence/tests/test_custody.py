"""Every event in an item's life is in its chain of custody, with actor, time, purpose and the file's
SHA-256 at that moment, and an audit entry; the custody report for court is a PDF with real text."""

from __future__ import annotations

import hashlib
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from pypdf import PdfReader

from amparo.conftest import SYSTEM
from amparo.core.models import Agency, AuditEntry
from amparo.core.tests.test_web import sign_in, totp_code
from amparo.evidence import actions, vault
from amparo.evidence.models import CustodyEvent, CustodyKind, EvidenceItem
from amparo.evidence.permissions import EvidenceAudit
from amparo.evidence.tests import test_vault
from amparo.evidence.tests.test_matching_db import make_list
from amparo.evidence.tests.test_vault import textured_png

evidence_dir = test_vault.evidence_dir  # the shared fixture

IMAGE = textured_png(31)


@pytest.fixture(autouse=True)
def _static_root(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STATIC_ROOT.mkdir()


@pytest.mark.django_db
def test_a_full_life_is_recorded_event_by_event_with_an_audit_entry_each(
    evidence_dir, make_case, make_user, django_capture_on_commit_callbacks
):
    make_list(rows=[("sha256", hashlib.sha256(IMAGE).hexdigest(), "A1")])
    case = make_case(agency="sernic")
    investigator = make_user("investigator", agency="sernic")
    item = actions.add_item(
        investigator, case, io.BytesIO(IMAGE), received_from="Officer Teste, on a USB stick", channel="desk"
    )
    actions.preview(investigator, item, "Check the label")
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=investigator, name="phone", confirmed=True)
    actions.reveal(investigator, item, "Check the label", totp_code(device), download=True)
    list(actions.export_case_hashes(investigator, case))
    actions.share_item(
        investigator, item, Agency.objects.get(code="linha-fala-crianca"), "Joint case meeting"
    )
    actions.place_legal_hold(investigator, item, "Court order 12/2026")
    with pytest.raises(ValidationError):
        actions.destroy_item(investigator, item, "Retention period over")
    actions.release_legal_hold(investigator, item, "Case closed by the court")
    with django_capture_on_commit_callbacks(execute=True):
        actions.destroy_item(investigator, item, "Retention period over")

    events = list(CustodyEvent.objects.filter(item=item).order_by("id"))
    assert [e.kind for e in events] == [
        CustodyKind.RECEIVED,
        CustodyKind.HASHED,
        CustodyKind.MATCHED,
        CustodyKind.PREVIEWED,
        CustodyKind.DOWNLOADED,
        CustodyKind.EXPORTED,
        CustodyKind.SHARED,
        CustodyKind.LEGAL_HOLD,
        CustodyKind.RELEASED,
        CustodyKind.DESTROYED,
    ]
    assert all(e.sha256 == item.sha256 and e.at is not None for e in events)
    received = events[0]
    assert received.actor_user == investigator
    assert received.actor_agency == "sernic"
    assert received.purpose == "Officer Teste, on a USB stick"
    assert received.detail == {"channel": "desk"}
    assert events[1].actor_channel == "evidence"
    assert events[1].detail["md5"] == hashlib.md5(IMAGE, usedforsecurity=False).hexdigest()
    assert events[2].detail["categories"] == ["A1"]
    assert events[6].counterpart.code == "linha-fala-crianca"
    assert events[7].purpose == "Court order 12/2026"
    audit_actions = list(
        AuditEntry.objects.filter(object_id=str(item.pk), action__startswith="evidence:item:")
        .exclude(action=EvidenceAudit.ITEM_VIEW)
        .values_list("action", flat=True)
    )
    assert audit_actions == [
        EvidenceAudit.ITEM_RECEIVE,
        EvidenceAudit.ITEM_HASH,
        EvidenceAudit.ITEM_MATCH,
        EvidenceAudit.ITEM_PREVIEW,
        EvidenceAudit.ITEM_DOWNLOAD,
        EvidenceAudit.ITEM_EXPORT,
        EvidenceAudit.ITEM_SHARE,
        EvidenceAudit.ITEM_HOLD,
        EvidenceAudit.ITEM_RELEASE,
        EvidenceAudit.ITEM_DESTROY,
    ]
    # Destroyed: the stored file is gone and its key shredded; the record and custody stay.
    item = EvidenceItem.objects.get(pk=item.pk)
    assert item.destroyed_at is not None
    assert not (evidence_dir / item.storage_key).exists()
    with pytest.raises(vault.Destroyed):
        vault.verify(item)
    assert not CustodyEvent.objects.filter(item=item, kind=CustodyKind.INTEGRITY_ALARM).exists()


@pytest.mark.django_db
def test_custody_actions_need_an_examining_role(evidence_dir, make_case, make_user):
    case = make_case(agency="linha-fala-crianca")
    operator = make_user("helpline_operator", agency="linha-fala-crianca")
    item = actions.add_item(operator, case, io.BytesIO(b"benign"))
    with pytest.raises(PermissionDenied):
        actions.place_legal_hold(operator, item, "Because I can")
    with pytest.raises(PermissionDenied):
        actions.destroy_item(operator, item, "Because I can")
    assert CustodyEvent.objects.filter(item=item).exclude(kind__in=["received", "hashed"]).count() == 0


@pytest.mark.django_db
def test_the_custody_report_is_a_pdf_with_extractable_text(client, evidence_dir, make_case, make_user):
    make_list(name="ICSE test", rows=[("sha256", hashlib.sha256(IMAGE).hexdigest(), "Category 1")])
    case = make_case(agency="sernic")
    investigator = make_user("investigator", agency="sernic")
    item = actions.add_item(investigator, case, io.BytesIO(IMAGE), received_from="Inspector Zélia Inventada")
    actions.place_legal_hold(investigator, item, "Ordem do tribunal nº 12 – urgente…")
    sign_in(client, investigator)
    response = client.get(f"/evidence/items/{item.pk}/custody.pdf", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert case.reference in text
    assert item.sha256 in text
    assert "ICSE test" in text
    assert "Category 1" in text
    assert "Zélia Inventada" in text
    assert "Ordem do tribunal nº 12 - urgente..." in text
    for label in ("Received", "Hashed", "Matched a hash list", "Placed under legal hold"):
        assert label in text
    assert AuditEntry.objects.filter(action=EvidenceAudit.CUSTODY_REPORT, object_id=str(item.pk)).count() == 1


@pytest.mark.django_db
def test_custody_actions_through_the_page(client, evidence_dir, make_case, make_user):
    case = make_case(agency="sernic")
    prosecutor = make_user("prosecutor", agency="sernic")
    item = actions.add_item(SYSTEM, case, io.BytesIO(b"benign bytes"))
    sign_in(client, prosecutor)
    url = f"/evidence/items/{item.pk}/custody/"
    assert client.post(url, {"action": "hold", "reason": ""}).status_code == 400
    assert client.post(url, {"action": "hold", "reason": "Court order"}).status_code == 302
    assert EvidenceItem.objects.get(pk=item.pk).legal_hold
    client.post(url, {"action": "destroy", "reason": "Retention over"})
    assert EvidenceItem.objects.get(pk=item.pk).destroyed_at is None
    other = Agency.objects.get(code="linha-fala-crianca")
    assert (
        client.post(url, {"action": "share", "reason": "Joint meeting", "agency": other.pk}).status_code
        == 302
    )
    assert CustodyEvent.objects.get(item=item, kind=CustodyKind.SHARED).counterpart == other


@pytest.mark.django_db
def test_an_upload_through_the_page_lands_in_the_vault_with_custody(
    client, evidence_dir, make_case, make_user
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    case = make_case(agency="sernic")
    investigator = make_user("investigator", agency="sernic")
    sign_in(client, investigator)
    upload = SimpleUploadedFile("photo.png", IMAGE, content_type="image/png")
    response = client.post(
        f"/evidence/cases/{case.reference}/", {"file": upload, "received_from": "The mother, in person"}
    )
    assert response.status_code == 302
    item = EvidenceItem.objects.get(case=case)
    assert item.sha256 == hashlib.sha256(IMAGE).hexdigest()
    assert item.hashing == "done"
    assert item.pdq
    page = client.get(f"/evidence/cases/{case.reference}/").content.decode()
    assert item.short_id in page
    assert "The mother" not in page


@pytest.mark.django_db
def test_a_case_with_known_material_is_flagged_on_its_evidence_page(
    client, evidence_dir, make_case, make_user
):
    make_list(rows=[("sha256", hashlib.sha256(IMAGE).hexdigest(), "A1")])
    case = make_case(agency="sernic")
    actions.add_item(SYSTEM, case, io.BytesIO(IMAGE))
    sign_in(client, make_user("investigator", agency="sernic"))
    response = client.get(f"/evidence/cases/{case.reference}/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.context["known_material"] is True
    assert "This case holds known child sexual abuse material" in response.content.decode()
    assert "A1" in response.content.decode()


@pytest.mark.django_db
def test_custody_events_cannot_be_changed_or_deleted_in_postgresql(evidence_dir, make_case):
    from django.db import DatabaseError, connection, transaction

    if connection.vendor != "postgresql":
        pytest.skip("the append-only trigger exists on PostgreSQL only")
    item = actions.add_item(SYSTEM, make_case(), io.BytesIO(b"benign"))
    for attempt in (
        lambda: CustodyEvent.objects.filter(item=item).update(sha256="0" * 64),
        lambda: CustodyEvent.objects.filter(item=item).delete(),
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            attempt()
    assert CustodyEvent.objects.filter(item=item).count() == 2
