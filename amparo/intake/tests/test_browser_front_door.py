"""The front door on a phone and a laptop, without JavaScript, as a visitor sees it."""

from __future__ import annotations

import pytest

VIEWPORTS = {"phone-360": {"width": 360, "height": 640}, "laptop-1366": {"width": 1366, "height": 768}}


@pytest.mark.parametrize("name", VIEWPORTS)
def test_the_front_door_puts_report_and_the_numbers_on_the_first_screen(
    live_db, browser, live_server, screenshots, name
):
    viewport = VIEWPORTS[name]
    page = browser.new_page(java_script_enabled=False, locale="pt-MZ", viewport=viewport)
    response = page.goto(f"{live_server.url}/")
    assert response.status == 200
    report = page.get_by_role("link", name="Denunciar", exact=True)
    box = report.bounding_box()
    assert box is not None
    assert box["y"] + box["height"] <= viewport["height"], "Denunciar is below the first screen"
    assert box["height"] >= 40, "a thumb-sized button"
    police = page.locator('a[href^="tel:"]').first.bounding_box()
    assert police is not None
    assert police["y"] + police["height"] <= viewport["height"], (
        "the numbers to call are below the first screen"
    )
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], "the page is wider than the screen"
    page.screenshot(path=str(screenshots / f"front-door-{name}.png"), full_page=True)
    report.click()
    page.wait_for_load_state()
    assert page.url == f"{live_server.url}/report/"
    page.close()
