"""The front door on a phone and a laptop, without JavaScript, as a visitor sees it."""

from __future__ import annotations

import re

import pytest

from amparo.intake import receipts

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


@pytest.mark.parametrize("name", VIEWPORTS)
def test_a_child_in_danger_now_sees_whom_to_call_then_reports_on_a_phone_without_javascript(
    live_db, browser, live_server, screenshots, name
):
    viewport = VIEWPORTS[name]
    page = browser.new_page(java_script_enabled=False, locale="pt-MZ", viewport=viewport)
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Denunciar", exact=True).click()
    page.screenshot(path=str(screenshots / f"report-1-who-{name}.png"), full_page=True)
    page.check("input[name=who_affected][value=me]")
    page.check("input[name=immediate_danger][value=yes]")
    page.click("#next")
    police = page.locator('main a[href^="tel:"]').first
    assert police.get_attribute("href") == "tel:119"
    box = police.bounding_box()
    assert box is not None
    assert box["y"] + box["height"] <= viewport["height"], "the number to call is below the first screen"
    page.screenshot(path=str(screenshots / f"report-2-urgent-{name}.png"), full_page=True)
    page.click("#next")
    page.check("input[name=forms][value=sextortion]")
    page.screenshot(path=str(screenshots / f"report-3-what-{name}.png"), full_page=True)
    page.click("#next")
    page.screenshot(path=str(screenshots / f"report-4-where-{name}.png"), full_page=True)
    page.click("#next")
    page.check("input[name=consent]")
    page.screenshot(path=str(screenshots / f"report-5-send-{name}.png"), full_page=True)
    page.click("#next")
    receipt = page.locator("#receipt").inner_text().strip()
    assert re.fullmatch(r"\d{4} \d{4} \d{4} \d{4}", receipt), receipt
    page.screenshot(path=str(screenshots / f"report-6-receipt-{name}.png"), full_page=True)
    assert receipts.lookup(receipt).case.priority == "immediate"
    page.close()
