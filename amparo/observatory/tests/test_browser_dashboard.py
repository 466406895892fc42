"""A real browser (no JavaScript) signs in as a demo analyst, opens the dashboard on a phone-sized
and a desktop screen, and takes screenshots."""

from __future__ import annotations

import struct

import pytest

from amparo.observatory.tests.test_dashboard import MONTH, make_world


@pytest.fixture(autouse=True)
def _static_root(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STATIC_ROOT.mkdir()


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_the_dashboard_renders_in_a_browser_and_is_screenshotted(
    live_db, browser, live_server, make_user, settings, tmp_path
):
    settings.DEMO = True  # demo users may skip the second factor only in demo mode
    user = make_user("analyst", agency="mgcas", username="ana.analista")
    type(user).objects.filter(pk=user.pk).update(is_demo=True)
    make_world()
    for viewport, name in (
        ({"width": 390, "height": 844}, "phone"),
        ({"width": 1280, "height": 900}, "desktop"),
    ):
        page = browser.new_page(java_script_enabled=False, locale="en-GB", viewport=viewport)
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=username]", "ana.analista")
        page.fill("input[name=password]", "correct horse battery staple")
        page.locator("form:has(input[name=username]) [type=submit]").click()
        page.wait_for_load_state()
        response = page.goto(f"{live_server.url}/observatory/?period={MONTH}")
        assert response.status == 200, page.inner_text("main")
        assert page.locator("svg.map path#MZ07").count() == 1
        assert page.locator("svg.chart").count() >= 5
        # Nothing wider than the screen: the charts scale down to a phone.
        box = page.locator("svg.map").first.bounding_box()
        assert box is not None
        assert box["width"] <= viewport["width"]
        shot = tmp_path / f"dashboard-{name}.png"
        page.screenshot(path=str(shot), full_page=True)
        data = shot.read_bytes()
        w, h = _png_size(data)
        assert w == viewport["width"], (
            "the page is wider than the screen"
        )  # a full-page shot is as wide as the page
        assert h > 1500
        assert len(data) > 50_000
        page.close()
