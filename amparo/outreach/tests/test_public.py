"""The public "stay safe online" pages and the posters: no JavaScript, within 30 KB with their style
sheet, nothing from another site, printable, ending with how to report; posters as PDF with the
Portuguese text extractable."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client
from pypdf import PdfReader

from amparo.core.tests.test_web import csp_directives
from amparo.outreach import posters, seed
from amparo.outreach.models import Translation
from amparo.outreach.tests.helpers import SYSTEM, approve_all

PAGE_BUDGET_BYTES = 30 * 1024
PAGES = ["/safe-online/", "/safe-online/children/", "/safe-online/caregivers/"]

pytestmark = pytest.mark.django_db


@pytest.fixture
def approved(make_user) -> None:  # noqa: ANN001
    seed.seed(SYSTEM)
    approve_all(make_user("agency_supervisor", agency="mgcas"))


def _asset_size(html: str) -> int:
    size = 0
    for href in re.findall(r'<link rel="stylesheet" href="/static/([^"]+)"', html):
        size += Path(finders.find(href)).stat().st_size
    for src in re.findall(r'<script src="/static/([^"]+)"', html):
        size += Path(finders.find(src)).stat().st_size
    return size


@pytest.mark.parametrize("language", ["pt", "en"])
def test_public_pages_need_no_javascript_stay_light_and_load_nothing_from_elsewhere(
    client: Client, approved: None, language: str
) -> None:
    client.cookies["django_language"] = language
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 200
        html = response.content.decode()
        # Only our own quick-exit script, as an enhancement: no inline script, nothing needed to read.
        assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/intake/quick-exit.js" defer>']
        assert 'id="quick-exit" href="/report/exit/"' in html
        csp = csp_directives(response)
        assert csp["default-src"] == "'none'"
        assert "script-src" not in csp or "'unsafe-inline'" not in csp["script-src"]
        assert len(response.content) + _asset_size(html) <= PAGE_BUDGET_BYTES, (path, len(response.content))
        for url in re.findall(r'(?:src|href|action)="([^"]*)"', html):
            assert (
                url == "data:,"
                or url.startswith("tel:")
                or (url.startswith("/") and not url.startswith("//"))
            ), url
        assert "http://" not in html
        assert "https://" not in html
        # Each page ends with how to report and the helpline numbers.
        tail = html.split('id="get-help"', 1)[1]
        assert f'href="tel:{settings.AMPARO_CHILD_HELPLINE_NUMBER}"' in tail
        assert f'href="tel:{settings.AMPARO_POLICE_NUMBER}"' in tail
        assert 'href="/report/"' in tail


def test_pages_show_approved_advice_in_the_chosen_language_and_are_printable(
    client: Client, approved: None
) -> None:
    html = client.get("/safe-online/children/").content.decode()
    assert "O teu corpo é teu" in html
    assert "Ameaças com fotos: o que fazer" in html
    client.cookies["django_language"] = "en"
    html = client.get("/safe-online/caregivers/").content.decode()
    assert "Signs of online grooming" in html
    assert "When a child tells you" in html
    css = Path(finders.find("outreach/outreach.css")).read_text(encoding="utf-8")
    assert "@media print" in css


def test_an_unknown_group_is_not_found(client: Client) -> None:
    assert client.get("/safe-online/everyone/").status_code == 404


def test_a_page_in_a_language_without_approved_text_falls_back_to_portuguese(
    client: Client, approved: None
) -> None:
    client.cookies["django_language"] = "vmw"
    html = client.get("/safe-online/children/").content.decode()
    assert "O teu corpo é teu" in html


def test_posters_render_to_pdf_with_the_portuguese_text_extractable(client: Client, approved: None) -> None:
    response = client.get("/safe-online/posters/poster-teens-sextortion/pt.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    flat = " ".join(text.split())
    assert "Ameaçado com fotos? Não estás sozinho." in flat
    assert "A culpa não é tua." in flat
    assert settings.AMPARO_CHILD_HELPLINE_NUMBER in flat
    assert settings.AMPARO_POLICE_NUMBER in flat


def test_a_poster_that_is_not_approved_is_never_rendered(make_user) -> None:  # noqa: ANN001
    seed.seed(SYSTEM)
    tr = Translation.objects.get(item__slug="poster-caregivers-privacy", language="pt")
    with pytest.raises(posters.NotPublished):
        posters.render(tr)


def test_the_poster_command_writes_an_approved_poster(approved: None, tmp_path) -> None:  # noqa: ANN001
    from django.core.management import call_command

    out = tmp_path / "poster.pdf"
    call_command("outreach", "poster", "poster-caregivers-privacy", "--lang", "pt", "-o", str(out))
    text = PdfReader(str(out)).pages[0].extract_text()
    assert "Proteja a sua criança" in " ".join(text.split())
