"""The helpline console and the agency desk: one form, immediate risk first, a receipt to read aloud."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amparo.cases.models import Case
from amparo.core.tests.test_web import sign_in
from amparo.intake import actions, receipts
from amparo.intake.models import Report

CALL = {
    "immediate_danger": "no",
    "caller_type": "caregiver",
    "who_affected": "child_known",
    "forms": ["sextortion"],
    "platforms": ["facebook"],
    "province": "MZ07",
    "district": "MZ0702",
    "narrative": "Invented: a mother calls about threats to her daughter.",
    "action_taken": "advice",
}


@pytest.fixture
def operator(client, make_user):  # noqa: ANN001, ANN201
    user = make_user("helpline_operator", agency="linha-fala-crianca")
    sign_in(client, user)
    return user


def _receipt(response: Any) -> str:
    return re.search(r'id="receipt">([0-9 ]+)<', response.content.decode()).group(1)


@pytest.mark.django_db
def test_the_immediate_danger_question_comes_first(client, operator):
    html = client.get("/intake/console/").content.decode()
    form = html.split('class="panel contact-form"', 1)[1]
    names = [n for n in re.findall(r'name="(\w+)"', form) if n != "csrfmiddlewaretoken"]
    first_field = names[0]
    assert first_field == "immediate_danger"


@pytest.mark.django_db
def test_a_call_opens_a_case_for_the_operators_agency_and_gives_a_receipt_to_read_aloud(client, operator):
    response = client.post("/intake/console/", CALL)
    assert response.status_code == 200, response.content.decode()[-1500:]
    report = receipts.lookup(_receipt(response))
    case = Case.objects.get(pk=report.case_id)
    assert case.channel == "helpline"
    assert case.owning_agency_id == operator.agency_id
    assert case.reference in response.content.decode()
    assert report.caller_type == "caregiver"
    assert report.action_taken == "advice"
    assert report.receipt_read_aloud
    assert response["Cache-Control"].startswith("no-store") or "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_a_child_in_danger_makes_the_case_immediate(client, operator):
    response = client.post("/intake/console/", {**CALL, "immediate_danger": "yes"})
    assert receipts.lookup(_receipt(response)).case.priority == "immediate"


@pytest.mark.django_db
def test_a_desk_visit_is_recorded_by_an_intake_officer(client, make_user):
    officer = make_user("intake_officer", agency="sernic")
    sign_in(client, officer)
    response = client.post("/intake/desk/", {**CALL, "caller_type": "child"})
    report = receipts.lookup(_receipt(response))
    assert report.case.channel == "desk"
    assert report.case.owning_agency.code == "sernic"


@pytest.mark.django_db
def test_the_read_aloud_receipt_is_replaced_when_the_caller_first_uses_it(client, operator):
    receipt = _receipt(client.post("/intake/console/", CALL))
    client.logout()
    response = client.post("/report/follow-up/", {"receipt": receipt})
    new = re.search(r'id="receipt">([0-9 ]+)<', response.content.decode()).group(1)
    assert new.replace(" ", "") != receipt.replace(" ", "")
    assert client.post("/report/follow-up/", {"receipt": receipt}).status_code == 404
    assert client.post("/report/follow-up/", {"receipt": new}).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "role"),
    [
        ("/intake/console/", "investigator"),
        ("/intake/console/", "intake_officer"),
        ("/intake/desk/", "helpline_operator"),
        ("/intake/desk/", "analyst"),
    ],
)
def test_the_wrong_role_is_refused(client, make_user, path, role):
    sign_in(client, make_user(role, agency="linha-fala-crianca"))
    assert client.get(path).status_code == 403
    assert client.post(path, CALL).status_code == 403
    assert Case.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/intake/console/", "/intake/desk/", "/intake/triage/"])
def test_staff_pages_ask_anonymous_visitors_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.django_db
def test_a_missing_answer_keeps_what_was_typed(client, operator):
    response = client.post("/intake/console/", {**CALL, "caller_type": ""})
    assert response.status_code == 400
    assert "a mother calls about threats" in response.content.decode()
    assert Report.objects.count() == 0


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    values=st.dictionaries(
        st.sampled_from(sorted(CALL) + ["suggested_agency", "callback_phone"]),
        st.text(max_size=60),
        max_size=8,
    )
)
def test_any_post_to_the_console_gets_a_clear_answer_never_a_server_error(client, operator, values):
    response = client.post("/intake/console/", values)
    assert response.status_code in (200, 400)


@pytest.mark.django_db
def test_recording_a_contact_checks_the_role_in_the_action_too(make_user):
    from django.core.exceptions import PermissionDenied

    investigator = make_user("investigator", agency="sernic")
    with pytest.raises(PermissionDenied):
        actions.record_contact(
            investigator,
            desk=True,
            immediate_danger=False,
            caller_type="child",
            forms=["grooming"],
            platforms=[],
            who_affected="me",
            province=None,
            district=None,
            action_taken="advice",
        )
