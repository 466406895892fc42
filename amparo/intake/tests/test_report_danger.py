"""A child in danger now: the report form shows whom to call before anything else, then goes on, and
the report reaches triage at the highest priority with the reason on it."""

from __future__ import annotations

import re

import pytest

from amparo.core.tests.test_web import sign_in
from amparo.intake import receipts
from amparo.intake.tests.test_web_report import ANSWERS, receipt_of, state_of

pytestmark = pytest.mark.django_db

DANGER = {"who_affected": "child_known", "immediate_danger": "yes"}


def _answer_who(client, who):  # noqa: ANN001, ANN202
    response = client.get("/report/", HTTP_ACCEPT_LANGUAGE="pt")
    return client.post(
        "/report/", {"state": state_of(response), "step": "who", **who}, HTTP_ACCEPT_LANGUAGE="pt"
    )


def test_danger_now_shows_the_numbers_to_call_before_anything_else(client, settings):
    settings.AMPARO_POLICE_NUMBER = "119"
    settings.AMPARO_CHILD_HELPLINE_NUMBER = "116"
    response = _answer_who(client, DANGER)
    assert response.status_code == 200
    html = response.content.decode()
    main = html.split("<main>", 1)[1]
    tels = re.findall(r'href="(tel:[^"]+)"', main)
    assert tels[:2] == ["tel:119", "tel:116"]
    # Nothing of the next step yet: the numbers come first.
    assert 'name="forms"' not in main
    assert main.index("tel:119") < main.index('name="step" value="urgent"')
    assert "Continuar a denúncia" in main


def test_after_the_urgent_screen_the_report_goes_on_where_it_was(client):
    urgent = _answer_who(client, DANGER)
    response = client.post("/report/", {"state": state_of(urgent), "step": "urgent"})
    assert response.status_code == 200
    assert 'name="step" value="what"' in response.content.decode()


def test_no_danger_goes_straight_to_the_next_question(client):
    response = _answer_who(client, ANSWERS["who"])
    assert 'name="step" value="what"' in response.content.decode()
    assert 'value="urgent"' not in response.content.decode()


def test_the_urgent_step_cannot_skip_the_first_question(client):
    response = client.get("/report/")
    response = client.post("/report/", {"state": state_of(response), "step": "urgent"})
    assert response.status_code == 400
    assert 'name="step" value="who"' in response.content.decode()


def test_a_report_of_danger_now_is_immediate_and_triage_says_why(client, make_user):
    response = _answer_who(client, DANGER)
    response = client.post("/report/", {"state": state_of(response), "step": "urgent"})
    for step in ("what", "where", "send"):
        response = client.post("/report/", {"state": state_of(response), "step": step, **ANSWERS[step]})
    case = receipts.lookup(receipt_of(response)).case
    assert case.priority == "immediate"
    assert "immediate_danger" in case.risk_flags
    staff = make_user("agency_supervisor", agency=case.owning_agency.code)
    sign_in(staff_client := type(client)(), staff)
    triage = staff_client.get("/intake/triage/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    row = triage.split(f'id="case-{case.reference}"', 1)[1].split("</section>", 1)[0]
    assert "The reporter said a child is in danger right now." in row
