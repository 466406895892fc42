"""Evidence is never shown by default; revealing takes a reason, a blurred preview first, then a fresh
TOTP code; every step is audited and in custody. Access: outsiders 404, roles without the right 403,
analysts, supervisors and system administrators never see evidence."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from PIL import Image

from amparo.conftest import SYSTEM
from amparo.core.models import AuditEntry
from amparo.core.tests.test_web import sign_in, totp_code, wrong_code
from amparo.evidence import actions
from amparo.evidence.models import CustodyEvent, CustodyKind
from amparo.evidence.permissions import EvidenceAudit
from amparo.evidence.tests import test_vault
from amparo.evidence.tests.test_vault import textured_png

evidence_dir = test_vault.evidence_dir  # the shared fixture

IMAGE = textured_png(21)


@pytest.fixture(autouse=True)
def _static_root(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STATIC_ROOT.mkdir()


@pytest.fixture
def item(evidence_dir, make_case):
    case = make_case(agency="sernic")
    return actions.add_item(
        SYSTEM, case, io.BytesIO(IMAGE), original_name="IMG_2041.png", declared_type="image/png"
    )


def actions_since(entry_id: int) -> list[str]:
    return list(AuditEntry.objects.filter(id__gt=entry_id).values_list("action", flat=True))


def last_audit_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


@pytest.mark.django_db
def test_the_item_page_shows_hashes_but_never_the_file(client, make_user, item):
    sign_in(client, make_user("investigator", agency="sernic"))
    response = client.get(f"/evidence/items/{item.pk}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert item.sha256 in body
    assert "<img" not in body
    assert "IMG_2041" not in body  # the original name is not shown
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_a_blurred_preview_needs_a_reason_and_is_small_grey_and_recorded(client, make_user, item):
    user = make_user("investigator", agency="sernic")
    sign_in(client, user)
    refused = client.post(f"/evidence/items/{item.pk}/preview/", {"reason": ""})
    assert refused.status_code == 400
    assert not CustodyEvent.objects.filter(kind=CustodyKind.PREVIEWED).exists()
    before = last_audit_id()
    response = client.post(f"/evidence/items/{item.pk}/preview/", {"reason": "Classify for the prosecutor"})
    assert response.status_code == 200
    src = response.context["preview"]
    import base64

    png = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
    assert png.mode == "L"
    assert max(png.size) <= actions.PREVIEW_SIZE
    event = CustodyEvent.objects.get(item=item, kind=CustodyKind.PREVIEWED)
    assert event.actor_user == user
    assert event.purpose == "Classify for the prosecutor"
    assert event.sha256 == item.sha256
    assert actions_since(before) == [EvidenceAudit.ITEM_VIEW, EvidenceAudit.ITEM_PREVIEW]


@pytest.mark.django_db
def test_the_full_item_needs_a_preview_first_and_a_valid_totp_code(client, make_user, item):
    user = make_user("investigator", agency="sernic")
    device = sign_in(client, user)
    url = f"/evidence/items/{item.pk}/reveal/"
    reason = "Classify for the prosecutor"
    no_preview = client.post(url, {"reason": reason, "code": totp_code(device)})
    assert no_preview.status_code == 400
    client.post(f"/evidence/items/{item.pk}/preview/", {"reason": reason})
    before = last_audit_id()
    wrong = client.post(url, {"reason": reason, "code": wrong_code(device)})
    assert wrong.status_code == 400
    assert actions_since(before) == [EvidenceAudit.ITEM_VIEW, EvidenceAudit.ITEM_REVEAL_REFUSED]
    assert not CustodyEvent.objects.filter(kind=CustodyKind.VIEWED).exists()
    # django-otp's throttling: right after a wrong code even the right one is refused for a while.
    assert client.post(url, {"reason": reason, "code": totp_code(device)}).status_code == 400
    assert not CustodyEvent.objects.filter(kind=CustodyKind.VIEWED).exists()


@pytest.mark.django_db
def test_the_full_item_is_streamed_after_preview_and_code_and_recorded_exactly(client, make_user, item):
    user = make_user("investigator", agency="sernic")
    device = sign_in(client, user)
    url = f"/evidence/items/{item.pk}/reveal/"
    reason = "Classify for the prosecutor"
    client.post(f"/evidence/items/{item.pk}/preview/", {"reason": reason})
    before = last_audit_id()
    response = client.post(url, {"reason": reason, "code": totp_code(device)})
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == IMAGE
    assert response["Content-Disposition"].startswith("inline")
    assert "IMG_2041" not in response["Content-Disposition"]
    assert "sandbox" in response["Content-Security-Policy"]
    assert actions_since(before) == [EvidenceAudit.ITEM_VIEW, EvidenceAudit.ITEM_REVEAL]
    event = CustodyEvent.objects.get(item=item, kind=CustodyKind.VIEWED)
    assert (event.actor_user, event.purpose, event.detail) == (user, reason, {"step": "full"})


@pytest.mark.django_db
def test_a_download_is_recorded_as_a_download(client, make_user, item):
    user = make_user("prosecutor", agency="sernic")
    device = sign_in(client, user)
    client.post(f"/evidence/items/{item.pk}/preview/", {"reason": "Court bundle"})
    response = client.post(
        f"/evidence/items/{item.pk}/reveal/",
        {"reason": "Court bundle", "code": totp_code(device), "download": "on"},
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert b"".join(response.streaming_content) == IMAGE
    assert CustodyEvent.objects.filter(item=item, kind=CustodyKind.DOWNLOADED, actor_user=user).count() == 1


@pytest.mark.django_db
def test_reveal_requires_a_reason_in_the_action_too(item, make_user):
    user = make_user("investigator", agency="sernic")
    with pytest.raises(ValidationError):
        actions.preview(user, item, "  ")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "role", ["analyst", "sysadmin", "auditor", "agency_supervisor", "social_worker", "national_coordinator"]
)
def test_roles_without_evidence_rights_never_see_evidence(client, make_user, item, role):
    sign_in(client, make_user(role, agency="sernic"))
    assert client.get(f"/evidence/items/{item.pk}/").status_code == 404
    assert client.get(f"/evidence/items/{item.pk}/custody.pdf").status_code == 404
    assert client.post(f"/evidence/items/{item.pk}/preview/", {"reason": "curiosity"}).status_code == 404


@pytest.mark.django_db
def test_an_outsider_agency_gets_404_for_items_and_the_case_page(client, make_user, item):
    sign_in(client, make_user("investigator", agency="linha-fala-crianca"))
    assert client.get(f"/evidence/items/{item.pk}/").status_code == 404
    assert client.get(f"/evidence/cases/{item.case.reference}/").status_code == 404


@pytest.mark.django_db
def test_a_helpline_operator_sees_only_what_their_agency_received_and_cannot_reveal(
    client, make_user, make_case, evidence_dir
):
    case = make_case(agency="linha-fala-crianca")
    operator = make_user("helpline_operator", agency="linha-fala-crianca")
    theirs = actions.add_item(operator, case, io.BytesIO(b"received on the helpline"))
    other = actions.add_item(
        SYSTEM,
        case,
        io.BytesIO(b"added by the system"),
        received_by=make_user("investigator", agency="sernic").agency,
    )
    sign_in(client, operator)
    assert client.get(f"/evidence/items/{theirs.pk}/").status_code == 200
    assert client.get(f"/evidence/items/{other.pk}/").status_code == 404
    assert client.post(f"/evidence/items/{theirs.pk}/preview/", {"reason": "looking"}).status_code == 403
    page = client.get(f"/evidence/cases/{case.reference}/").content.decode()
    assert theirs.short_id in page
    assert other.short_id not in page


@pytest.mark.django_db
def test_a_malformed_item_id_is_a_404(client, make_user):
    sign_in(client, make_user("investigator", agency="sernic"))
    assert client.get("/evidence/items/not-a-uuid/").status_code == 404


form_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)


@pytest.mark.django_db
@hsettings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    reason=form_text,
    code=form_text,
    download=st.sampled_from(["", "on", "x"]),
    action=st.sampled_from(["hold", "release", "share", "destroy", "", "drop table"]),
    agency=st.one_of(st.integers(-5, 10**6).map(str), form_text),
)
def test_evidence_forms_never_fail_on_odd_input(
    client, make_user, item, reason, code, download, action, agency
):
    if not hasattr(client, "_fuzz_user"):
        client._fuzz_user = make_user("investigator", agency="sernic")
        sign_in(client, client._fuzz_user)
    base = f"/evidence/items/{item.pk}/"
    for url, data in (
        (base + "preview/", {"reason": reason}),
        (base + "reveal/", {"reason": reason, "code": code, "download": download}),
        (base + "custody/", {"action": action, "reason": reason, "agency": agency}),
        (f"/evidence/cases/{item.case.reference}/", {"received_from": reason}),
    ):
        assert client.post(url, data).status_code in (200, 302, 400, 403, 404, 409)
