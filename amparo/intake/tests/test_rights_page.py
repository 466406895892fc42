"""The victim rights package (amparo.cases.rights) reached by the reporter with the receipt: the page is
recorded and audited, a wrong receipt says nothing, odd input never fails."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from amparo.cases.models import RightsDelivery
from amparo.cases.permissions import RightsAudit
from amparo.cases.rights_content import pt
from amparo.cases.tests.test_rights import _static_root, pdf_text  # noqa: F401  (_static_root: fixture)
from amparo.core.models import AuditEntry
from amparo.intake.tests.test_follow_up import submit

# --- The reporter's page, opened with the receipt ---------------------------------------------------------


def _submit() -> Any:
    return submit(narrative="Um relato inventado para testes.")


@pytest.mark.django_db
def test_reporter_opens_the_rights_page_with_the_receipt_and_it_is_recorded(client):
    from amparo.intake import receipts

    submitted = _submit()
    status = client.post(reverse("intake:follow_up"), {"receipt": submitted.receipt})
    assert reverse("intake:rights") in status.content.decode()
    response = client.post(reverse("intake:rights"), {"receipt": submitted.receipt, "audience": "child"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    assert pt.CONTENT["title"]["child"] in html
    assert f"O teu recibo: {receipts.display(submitted.receipt)}" in html
    assert submitted.case.reference not in html  # the reporter's reference is the receipt
    delivery = RightsDelivery.objects.get(case=submitted.case)
    assert (delivery.method, delivery.audience, delivery.delivered_by) == ("web", "child", None)
    assert AuditEntry.objects.filter(action=RightsAudit.PACKAGE_VIEW, actor_channel="web").exists()

    pdf = client.post(
        reverse("intake:rights"), {"receipt": submitted.receipt, "audience": "caregiver", "format": "pdf"}
    )
    assert pdf["Content-Type"] == "application/pdf"
    assert "Direito à privacidade" in pdf_text(pdf.content)


@pytest.mark.django_db
def test_rights_page_with_a_wrong_receipt_says_nothing(client):
    _submit()
    response = client.post(reverse("intake:rights"), {"receipt": "0000 0000 0000 0000", "audience": "child"})
    assert response.status_code == 404
    assert not RightsDelivery.objects.exists()
    assert client.get(reverse("intake:rights")).status_code == 405


@pytest.mark.django_db
def test_rights_page_never_fails_on_odd_input(client):
    @hsettings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        receipt=st.one_of(st.text(max_size=80), st.from_regex(r"\A[0-9 ]{16,19}\Z")),
        audience=st.text(max_size=20),
        fmt=st.sampled_from(["", "pdf", "html", "x" * 40]),
    )
    def check(receipt: str, audience: str, fmt: str) -> None:
        response = client.post(
            reverse("intake:rights"), {"receipt": receipt, "audience": audience, "format": fmt}
        )
        assert response.status_code in (404, 429)

    check()
    assert not RightsDelivery.objects.exists()
