"""The monthly bulletin: a PDF in Portuguese and English, from the command line and the UI, with
the map and the charts, and never a count from 1 to 4."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.core.management import CommandError, call_command
from pypdf import PdfReader

from amparo.core.tests.test_web import sign_in
from amparo.observatory import bulletin, compute
from amparo.observatory.tests.test_dashboard import MONTH, _static_root, make_world  # noqa: F401  (fixture)

# A figure line of the bulletin reads "<label>: <value>"; a value of 1 to 4 would be a leak.
SMALL_FIGURE = re.compile(r":\s*[1-4](?![\d.,%])")


@pytest.fixture
def world(db):  # noqa: ANN001, ANN201
    return make_world()


def _text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def _drawing_operations(pdf: bytes) -> int:
    """Line-to operators in the page contents: the SVG map and charts are drawn as paths."""
    reader = PdfReader(io.BytesIO(pdf))
    return sum(len(re.findall(rb" l\b", page.get_contents().get_data())) for page in reader.pages)


@pytest.mark.django_db
def test_the_portuguese_bulletin_is_in_portuguese_with_the_figures(world, tmp_path):
    out = tmp_path / "boletim.pdf"
    call_command("bulletin", "--month", MONTH, "--lang", "pt", "-o", str(out))
    pdf = out.read_bytes()
    assert pdf.startswith(b"%PDF")
    text = _text(pdf)
    assert "Boletim mensal do Observatório Nacional de OCSEA" in text
    assert "Outubro" in text or "outubro" in text  # the month, in Portuguese
    assert "Números principais" in text
    assert "Limites administrativos" in text
    assert "CC BY 3.0 IGO" in text
    assert "Nampula: 12" in text
    assert "<5" in text
    assert not SMALL_FIGURE.search(text), SMALL_FIGURE.search(text)


@pytest.mark.django_db
def test_the_english_bulletin_has_the_map_and_the_charts(world, tmp_path):
    out = tmp_path / "bulletin.pdf"
    call_command("bulletin", "--month", MONTH, "--lang", "en", "-o", str(out))
    pdf = out.read_bytes()
    text = _text(pdf)
    assert "Monthly bulletin of the national OCSEA observatory" in text
    assert "October 2026" in text
    assert "Administrative boundaries" in text
    assert not SMALL_FIGURE.search(text)
    # The province map, the time series, channels, forms, platforms and the funnel are drawn.
    assert _drawing_operations(pdf) > 1000
    assert "Maputo" in text
    assert "Niassa: <5" in text


@pytest.mark.django_db
def test_the_bulletin_command_is_quiet_with_json(world, tmp_path, capsys):
    out = tmp_path / "b.pdf"
    call_command("bulletin", "--month", "202610", "--lang", "pt", "-o", str(out), "--json")
    summary = json.loads(capsys.readouterr().out)
    assert summary["month"] == MONTH
    assert summary["bytes"] == out.stat().st_size


@pytest.mark.django_db
@pytest.mark.parametrize("month", ["2026", "2026Q3", "october", "2026-13"])
def test_the_bulletin_command_refuses_anything_but_a_month(month, tmp_path):
    with pytest.raises(CommandError):
        call_command("bulletin", "--month", month, "-o", str(tmp_path / "x.pdf"))


@pytest.mark.django_db
def test_the_bulletin_downloads_from_the_dashboard(client, make_user, world):
    sign_in(client, make_user("national_coordinator", agency="mgcas"))
    response = client.get(f"/observatory/bulletin.pdf?month={MONTH}&lang=pt")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "Boletim mensal" in _text(response.content)


@pytest.mark.django_db
def test_an_agency_supervisor_gets_their_own_agencys_bulletin(client, make_user, world):
    sign_in(client, make_user("agency_supervisor", agency="sernic"))  # SERNIC owns none of the cases
    response = client.get(f"/observatory/bulletin.pdf?month={MONTH}&lang=en")
    text = _text(response.content)
    assert "Cases of SERNIC only" in text
    assert "Nampula: 12" not in text


@pytest.mark.django_db
def test_the_bulletin_is_refused_to_case_workers(client, make_user):
    sign_in(client, make_user("investigator", agency="sernic"))
    assert client.get(f"/observatory/bulletin.pdf?month={MONTH}").status_code == 403


def test_latin1_replaces_what_core_fonts_cannot_write():
    assert bulletin.latin1("Relatório – “Moçambique”… ✓") == 'Relatório - "Moçambique"... ?'


@pytest.mark.django_db
def test_last_complete_month_is_the_month_before():
    import datetime as dt

    assert bulletin.last_complete_month(dt.date(2026, 1, 15)) == compute.Period.parse("2025-12")
