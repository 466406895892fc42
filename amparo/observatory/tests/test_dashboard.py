"""The observatory dashboard: who may see it, what it shows, and that no small count leaks.

`world` is a month of synthetic cases with some provinces and channels holding 1 to 4 cases, so
that every output has something to suppress. The fixtures are imported by the bulletin tests.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amparo.cases import actions as case_actions
from amparo.conftest import SYSTEM
from amparo.core.models import Agency, District
from amparo.core.tests.test_web import sign_in
from amparo.observatory import compute

MONTH = "2026-10"
# (district, channel, how many): Nampula 12 and Maputo City 9 are publishable; Niassa 3 and Gaza 2
# are not, and whatever protects them must not show them either.
LAYOUT = (
    ("MZ0702", "helpline", 8),
    ("MZ0702", "web", 4),
    ("MZ0601", "helpline", 6),
    ("MZ0601", "sms", 3),
    ("MZ0801", "helpline", 3),
    ("MZ0201", "web", 2),
)
SMALL = re.compile(r'<td class="num">\s*[1-4]\s*</td>')
SMALL_SVG = re.compile(r">\s*[1-4]\s*</text>")


@pytest.fixture(autouse=True)
def _static_root(settings, tmp_path):
    """WhiteNoise warns (an error here) when STATIC_ROOT does not exist yet."""
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STATIC_ROOT.mkdir()


def make_world(agency_code: str = "linha-fala-crianca") -> list:
    agency = Agency.objects.get(code=agency_code)
    tz = timezone.get_current_timezone()
    cases = []
    day = 1
    for district, channel, n in LAYOUT:
        for _ in range(n):
            when = dt.datetime(2026, 10, 1 + day % 28, 10, 0, tzinfo=tz)
            day += 1
            cases.append(
                case_actions.create_case(
                    SYSTEM,
                    channel=channel,
                    owning_agency=agency,
                    district=District.objects.get(pk=district),
                    forms=("grooming",) if day % 3 else ("sextortion",),
                    platforms=("whatsapp",),
                    narrative="Um relato sintético.",
                    received_at=when,
                )
            )
    return cases


@pytest.fixture
def world(db):
    return make_world()


def assert_no_small_counts(html: str) -> None:
    assert not SMALL.search(html), SMALL.search(html)
    assert not SMALL_SVG.search(html), SMALL_SVG.search(html)


# ---------------------------------------------------------------------------------------------
# Access


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["national_coordinator", "analyst"])
def test_national_roles_see_the_national_dashboard(client, make_user, role, world):
    sign_in(client, make_user(role, agency="mgcas"))
    response = client.get(f"/observatory/?period={MONTH}", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    body = response.content.decode()
    assert "The whole country" in body
    assert 'id="MZ07"' in body  # the province map
    assert "<dd>26</dd>" in body  # every report of the month, a publishable total
    assert '<th scope="row">Nampula</th><td class="num">12</td>' in body


@pytest.mark.django_db
@pytest.mark.parametrize(
    "role", ["investigator", "helpline_operator", "prosecutor", "social_worker", "auditor", "sysadmin"]
)
def test_other_roles_are_refused_the_dashboard(client, make_user, role):
    sign_in(client, make_user(role, agency="sernic"))
    assert client.get("/observatory/").status_code == 403


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/observatory/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_an_agency_supervisor_sees_only_their_own_agencys_cases(client, make_user, world):
    make_world("sernic")  # SERNIC's cases double the national figures but not Linha Fala Criança's
    sign_in(client, make_user("agency_supervisor", agency="linha-fala-crianca"))
    body = client.get(f"/observatory/?period={MONTH}", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    national = compute.compute("OCSEA.REPORTS.RECEIVED", compute.Period.parse(MONTH)).total.display()
    own = compute.compute(
        "OCSEA.REPORTS.RECEIVED",
        compute.Period.parse(MONTH),
        agency=Agency.objects.get(code="linha-fala-crianca"),
    ).total.display()
    assert national != own
    assert f"<dd>{own}</dd>" in body
    assert f"<dd>{national}</dd>" not in body
    assert "Cases of Linha" in body or "Cases of" in body


# ---------------------------------------------------------------------------------------------
# Content


@pytest.mark.django_db
def test_dashboard_shows_no_count_from_one_to_four(client, make_user, world):
    sign_in(client, make_user("analyst", agency="mgcas"))
    for query in (
        f"period={MONTH}",
        f"period={MONTH}&indicator=OCSEA.REPORTS.RECEIVED&by=province",
        f"period={MONTH}&indicator=OCSEA.REPORTS.RECEIVED&by=channel",
        f"period={MONTH}&indicator=OCSEA.CASES.FORM&by=form",
        "period=2026Q4",
        "period=2026",
    ):
        body = client.get(f"/observatory/?{query}", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "&lt;5" in body or "<5" in body, query
        assert_no_small_counts(body)


@pytest.mark.django_db
def test_every_chart_has_a_table_and_a_text_alternative(client, make_user, world):
    sign_in(client, make_user("analyst", agency="mgcas"))
    body = client.get(f"/observatory/?period={MONTH}", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    sections = re.findall(r'<section class="obs-section.*?</section>', body, re.DOTALL)
    assert len(sections) >= 5
    for section in sections:
        if "<svg" in section:
            assert "<table>" in section
            assert "<figcaption" in section
            assert 'role="img"' in section


@pytest.mark.django_db
def test_dashboard_page_is_light_enough_for_a_slow_link(client, make_user, world):
    sign_in(client, make_user("analyst", agency="mgcas"))
    body = client.get(f"/observatory/?period={MONTH}").content
    # Everything inline (charts, map, tables); one small style sheet besides the site's; no script.
    assert len(body) < 200_000, len(body)
    assert b"<script" not in body
    assert b' style="' not in body  # the CSP forbids inline styles


@pytest.mark.django_db
def test_dashboard_reads_are_not_writes_and_unknown_filters_fall_back(client, make_user, world):
    sign_in(client, make_user("analyst", agency="mgcas"))
    response = client.get("/observatory/?period=not-a-period&indicator=NOPE&by=%3Cscript%3E")
    assert response.status_code == 200
    assert b"<script>" not in response.content


@pytest.mark.django_db
@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    period=st.text(max_size=12),
    indicator=st.text(max_size=30),
    by=st.sampled_from(["", "province", "district", "channel", "form", "sex", "stage", "x"]),
)
def test_dashboard_never_fails_on_any_filter(client, make_user, period, indicator, by):
    user = make_user("analyst", agency="mgcas")
    sign_in(client, user)
    response = client.get("/observatory/", {"period": period, "indicator": indicator, "by": by})
    assert response.status_code == 200


# ---------------------------------------------------------------------------------------------
# Downloads


@pytest.mark.django_db
def test_the_csv_and_json_links_carry_the_same_suppression_as_the_page(client, make_user, world):
    import json

    sign_in(client, make_user("analyst", agency="mgcas"))
    body = client.get(f"/observatory/?period={MONTH}", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    links = re.findall(r'href="(/observatory/export\.json\?[^"]+)"', body)
    province_link = next(link.replace("&amp;", "&") for link in links if "province" in link)
    response = client.get(province_link)
    assert response.status_code == 200
    results = json.loads(response.content)["results"]
    assert [r["by"] for r in results] == [["channel"], ["province"], ["district"]]
    shown = {row["key"]["province"]: row["display"] for row in results[1]["rows"]}
    assert shown["MZ07"] == "12"
    assert shown["MZ08"] == "<5"
    for name, display in shown.items():
        assert f'<td class="num">{display.replace("<", "&lt;")}</td>' in body, name
    csv_link = next(
        link.replace("&amp;", "&") for link in re.findall(r'href="(/observatory/export\.csv\?[^"]+)"', body)
    )
    csv_response = client.get(csv_link)
    assert csv_response["Content-Type"].startswith("text/csv")


@pytest.mark.django_db
def test_a_supervisor_exports_only_their_agency(client, make_user, world):
    import json

    sign_in(client, make_user("agency_supervisor", agency="sernic"))
    response = client.get(
        f"/observatory/export.json?indicator=OCSEA.REPORTS.RECEIVED&period={MONTH}&by=province"
    )
    payload = json.loads(response.content)["results"][0]
    assert payload["agency"] == "sernic"
    assert payload["total"]["display"] == "0"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        "indicator=NOPE&period=2026",
        "indicator=OCSEA.REPORTS.RECEIVED&period=soon",
        "indicator=OCSEA.FUNNEL&period=2026&by=sex,age_band,form",
    ],
)
def test_a_bad_export_request_says_what_to_choose(client, make_user, query):
    sign_in(client, make_user("analyst", agency="mgcas"))
    response = client.get(f"/observatory/export.csv?{query}", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert b"Choose an indicator" in response.content


@pytest.mark.django_db
def test_exports_are_refused_to_case_workers(client, make_user):
    sign_in(client, make_user("investigator", agency="sernic"))
    assert (
        client.get("/observatory/export.csv?indicator=OCSEA.REPORTS.RECEIVED&period=2026").status_code == 403
    )
    assert client.get("/observatory/export.xml?indicator=OCSEA.REPORTS.RECEIVED&period=2026").status_code in (
        403,
        404,
    )


@pytest.mark.django_db
def test_the_district_map_appears_only_where_counts_allow(client, make_user):
    agency = Agency.objects.get(code="linha-fala-crianca")
    tz = timezone.get_current_timezone()
    for district, n in (("MZ0702", 6), ("MZ0601", 2), ("MZ0801", 1), ("MZ0201", 3)):
        for i in range(n):
            case_actions.create_case(
                SYSTEM,
                channel="helpline",
                owning_agency=agency,
                district=District.objects.get(pk=district),
                received_at=dt.datetime(2026, 10, 2 + i, 9, tzinfo=tz),
            )
    sign_in(client, make_user("analyst", agency="mgcas"))
    body = client.get(f"/observatory/?period={MONTH}", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Reports received by province" in body
    assert "Reports received by district" not in body  # three of four districts would be withheld
    assert_no_small_counts(body)
