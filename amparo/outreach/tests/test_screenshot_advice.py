"""The report form's advice on screenshots (amparo.intake) agrees with the awareness pages outreach
publishes: keep the link or the account's name; a screenshot of a threatening message is fine; never a
sexual image."""

from __future__ import annotations

import pytest

from amparo.intake.tests.test_web_report import ANSWERS, state_of
from amparo.outreach import seed
from amparo.outreach.tests.helpers import SYSTEM, approve_all

pytestmark = pytest.mark.django_db


def test_the_advice_on_screenshots_is_the_same_on_the_form_and_the_awareness_page(client, make_user):
    seed.seed(SYSTEM)
    approve_all(make_user("agency_supervisor", agency="mgcas"))
    client.cookies["django_language"] = "pt"
    response = client.get("/report/")
    form = client.post(
        "/report/", {"state": state_of(response), "step": "who", **ANSWERS["who"]}
    ).content.decode()
    advice = client.get("/safe-online/children/").content.decode()
    for page in (form, advice):
        text = " ".join(page.split())
        assert "link ou o nome da conta" in text
        assert "captura de ecrã de uma mensagem de ameaça" in text
    assert "tira capturas de ecrã e guarda" not in advice
