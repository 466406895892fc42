"""Other apps add links to the case page and the staff home without the case core importing them."""

from __future__ import annotations

import pytest

from amparo.core import audit
from amparo.core.models import Agency
from amparo.core.tests.test_web import sign_in
from amparo.intake import actions

WEB = audit.Actor(channel="web")


def _web_report():  # noqa: ANN202
    return actions.submit_public_report(
        WEB,
        channel_kind="web",
        owning_agency=Agency.objects.get(code="linha-fala-crianca"),
        forms=["grooming"],
        platforms=["tiktok"],
        who_affected="me",
        province=None,
        district=None,
    )


@pytest.mark.django_db
def test_case_page_of_a_public_report_links_to_the_reporter_conversation(client, make_user):
    submitted = _web_report()
    sign_in(client, make_user("helpline_operator", agency="linha-fala-crianca"))
    body = client.get(f"/cases/{submitted.case.reference}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'href="/intake/cases/{submitted.case.reference}/reporter/"' in body


@pytest.mark.django_db
def test_case_page_of_a_staff_recorded_case_has_no_reporter_conversation(client, make_user, make_case):
    case = make_case(agency="linha-fala-crianca")
    sign_in(client, make_user("helpline_operator", agency="linha-fala-crianca"))
    body = client.get(f"/cases/{case.reference}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "/reporter/" not in body


@pytest.mark.django_db
def test_case_page_links_to_evidence_only_for_roles_that_may_see_it(client, make_user, make_case):
    case = make_case(agency="sernic")
    sign_in(client, make_user("investigator", agency="sernic"))
    assert (
        f'href="/evidence/cases/{case.reference}/"'
        in client.get(f"/cases/{case.reference}/").content.decode()
    )
    client.logout()
    sign_in(client, make_user("agency_supervisor", agency="sernic"))
    assert "/evidence/" not in client.get(f"/cases/{case.reference}/").content.decode()
