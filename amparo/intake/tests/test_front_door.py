"""`/`: the public front door (reporting first, the ways to report, the numbers to call)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders

from amparo.conftest import SYSTEM
from amparo.intake.models import ChannelKind
from amparo.intake.providers import create_channel

pytestmark = pytest.mark.django_db

FRONT_DOOR_BUDGET = 15 * 1024


def _weight(client, html: str, body: bytes) -> int:  # noqa: ANN001
    """The page and everything it loads from us (stylesheets and scripts)."""
    size = len(body)
    for path in re.findall(r'(?:<link rel="stylesheet" href|<script src)="/static/([^"]+)"', html):
        size += Path(finders.find(path)).stat().st_size
    return size


def _channel(kind: str, code: str, *, active: bool = True):  # noqa: ANN202
    channel = create_channel(SYSTEM, name=f"{kind} {code}", kind=kind, provider="log", short_code=code)
    if not active:
        type(channel).objects.filter(pk=channel.pk).update(active=False)
    return channel


def test_the_front_door_is_public_light_and_puts_reporting_first(client):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="pt")
    assert response.status_code == 200
    html = response.content.decode()
    main = html.split("<main>", 1)[1]
    links = re.findall(r'<a [^>]*href="([^"]+)"', main)
    # The quick exit first (always in reach), then reporting, then following a report up.
    assert links[:3] == ["/report/exit/", "/report/", "/report/follow-up/"]
    assert ">Denunciar<" in main
    assert 'href="/accounts/login/"' in main  # the staff way in, last and discreet
    assert links[-1] == "/accounts/login/"
    assert _weight(client, html, response.content) <= FRONT_DOOR_BUDGET
    assert "no-store" in response["Cache-Control"]


def test_the_front_door_works_without_javascript_and_loads_nothing_from_elsewhere(client):
    html = client.get("/").content.decode()
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/intake/quick-exit.js" defer>']
    for url in re.findall(r'(?:src|href|action)="([^"]*)"', html):
        assert url == "data:," or url.startswith(("/", "tel:")) and not url.startswith("//"), url


def test_the_front_door_shows_the_configured_numbers_as_tel_links(client, settings):
    settings.AMPARO_POLICE_NUMBER = "+25821325031"
    settings.AMPARO_CHILD_HELPLINE_NUMBER = "800116"
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<a class="tel" href="tel:+25821325031">Call the police: +25821325031</a>' in html
    assert 'href="tel:800116">Call Linha Fala Criança: 800116 (free, any time)</a>' in html
    assert "112" not in html


def test_the_front_door_lists_the_codes_of_active_sms_and_ussd_channels_only(client):
    _channel(ChannelKind.SMS, "1458")
    _channel(ChannelKind.USSD, "*458#")
    _channel(ChannelKind.SMS, "9999", active=False)
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "send a message to <strong>1458</strong>" in html
    assert '<a href="tel:*458%23"><strong>*458#</strong></a>' in html
    assert "9999" not in html


def test_without_sms_or_ussd_channels_the_front_door_offers_no_codes(client):
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Other ways to report" not in html


@pytest.mark.parametrize(
    ("accept", "lang"),
    [("en-US,en;q=0.9", "en"), ("fr-FR,fr;q=0.9", "pt"), ("pt-BR", "pt"), ("ts", "ts"), ("sw", "pt")],
)
def test_a_browser_gets_its_language_when_offered_and_portuguese_otherwise(client, accept, lang):
    html = client.get("/", HTTP_ACCEPT_LANGUAGE=accept).content.decode()
    assert f'<html lang="{lang}">' in html


def test_signed_in_staff_reach_their_workspace_from_the_brand_link(client, make_user, settings):
    settings.DEMO = True
    user = make_user("investigator")
    type(user).objects.filter(pk=user.pk).update(is_demo=True)
    client.force_login(type(user).objects.get(pk=user.pk))
    assert '<a class="brand" href="/staff/">' in client.get("/").content.decode()
    assert client.get("/staff/").status_code == 200
    client.logout()
    assert '<a class="brand" href="/">' in client.get("/").content.decode()


def test_the_anti_spam_field_is_hidden_from_screen_readers_and_the_keyboard(client):
    from amparo.intake.tests.test_web_report import ANSWERS, state_of

    response = client.get("/report/")
    for step in ("who", "what", "where"):
        response = client.post("/report/", {"state": state_of(response), "step": step, **ANSWERS[step]})
    html = response.content.decode()
    field = re.search(r'<div class="field hp" aria-hidden="true">.*?</div>', html, re.S)
    assert field is not None
    assert 'tabindex="-1"' in field.group(0)
    assert 'name="website"' in field.group(0)
