"""The report form speaks to the reporter it has: its second step is worded for whom the report is
about and the common answers come first. (Its advice on screenshots agrees with the awareness pages:
tested with outreach, which publishes them, in amparo/outreach/tests/test_screenshot_advice.py.)"""

from __future__ import annotations

import re

import pytest

from amparo.intake.tests.test_web_report import ANSWERS, state_of

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def _what_step(client, who: str) -> str:  # noqa: ANN001
    response = client.get("/report/", **EN)
    response = client.post(
        "/report/",
        {"state": state_of(response), "step": "who", "who_affected": who, "immediate_danger": "no"},
        **EN,
    )
    return response.content.decode()


def _labels(html: str, name: str) -> list[str]:
    return re.findall(rf'<input type="checkbox" name="{name}" value="[^"]+"[^>]*> ([^<]+)</label>', html)


def test_a_child_reporting_for_themselves_reads_the_first_person(client):
    labels = _labels(_what_step(client, "me"), "forms")
    assert "Someone threatens to share pictures of me unless I send more, pay, or do what they say." in labels
    assert not any("the child" in label for label in labels)


def test_someone_reporting_for_a_child_they_know_reads_about_the_child(client):
    labels = _labels(_what_step(client, "child_known"), "forms")
    assert any("pictures of the child" in label for label in labels)
    assert not any(re.search(r"\b(me|my|I)\b", label) for label in labels[:-1]), labels


def test_someone_who_found_something_is_asked_what_they_found(client):
    html = _what_step(client, "content_found")
    assert "What did you find? Choose all that fit." in html
    assert "Where did you find it?" in html
    labels = _labels(html, "forms")
    assert labels[0] == "Sexual pictures or videos of a child."
    assert not any(re.search(r"\b(me|my)\b", label) for label in labels[:-1]), labels  # bar "something else"


@pytest.mark.parametrize("who", ["me", "child_known", "content_found"])
def test_the_common_answers_come_first_and_the_rest_behind_more_choices(client, who):
    html = _what_step(client, who)
    for name, shown in (("forms", 5), ("platforms", 5)):
        fieldset = re.search(
            rf'<fieldset>(?:(?!</fieldset>).)*name="{name}".*?</fieldset>', html, re.S
        ).group(0)
        before, _, after = fieldset.partition('<details class="more-choices">')
        assert after, f"{name}: no 'More choices'"
        assert len(re.findall(r'type="checkbox"', before)) == min(shown, len(_labels(html, name)))
    platforms = re.search(r'<fieldset>(?:(?!</fieldset>).)*name="platforms".*?</fieldset>', html, re.S).group(
        0
    )
    first = platforms.split('<details class="more-choices">')[0]
    for app in ("Facebook", "WhatsApp", "Instagram", "TikTok"):
        assert app in first


def test_a_rarer_answer_chosen_before_keeps_more_choices_open_when_going_back(client):
    response = client.get("/report/", **EN)
    response = client.post("/report/", {"state": state_of(response), "step": "who", **ANSWERS["who"]}, **EN)
    rare = {**ANSWERS["what"], "platforms": ["telegram"]}
    response = client.post("/report/", {"state": state_of(response), "step": "what", **rare}, **EN)
    back = client.post("/report/", {"state": state_of(response), "step": "where", "back": "1"}, **EN)
    html = back.content.decode()
    assert '<details class="more-choices" open>' in html
    assert re.search(r'value="telegram"[^>]*checked', html)
