"""Browser tests (Playwright driving Debian's chromium): a report in Portuguese with and without
JavaScript, the receipt, follow-up with a staff reply, and the report in a staff user's triage queue."""

from __future__ import annotations

import re

import pytest

from amparo.intake import actions, receipts


def _report_through_the_form(browser, live_server, *, javascript: bool) -> str:  # noqa: ANN001
    context = browser.new_context(java_script_enabled=javascript, locale="pt-MZ")
    page = context.new_page()
    outside: list[str] = []
    page.on(
        "request",
        lambda r: (
            None if r.url.startswith(live_server.url) or r.url.startswith("data:") else outside.append(r.url)
        ),
    )
    page.goto(f"{live_server.url}/report/")
    assert page.locator("html").get_attribute("lang") == "pt"
    assert page.title() == "Amparo"
    page.check("input[name=who_affected][value=child_known]")
    page.check("input[name=immediate_danger][value=no]")
    page.click("#next")
    page.check("input[name=forms][value=sextortion]")
    page.check("input[name=platforms][value=whatsapp]")
    page.fill("input[name=link_or_account]", "@conta.inventada")
    page.select_option("select[name=incident_when]", "week")
    page.click("#next")
    page.select_option("select[name=province]", "MZ07")
    page.select_option("select[name=district]", "MZ0702")
    page.click("#next")
    page.fill("textarea[name=narrative]", "Uma história inventada para testes.")
    page.check("input[name=consent]")
    page.click("#next")
    receipt = page.locator("#receipt").inner_text().strip()
    assert re.fullmatch(r"\d{4} \d{4} \d{4} \d{4}", receipt), receipt
    assert outside == []
    context.close()
    return receipt


def _follow_up(browser, live_server, receipt: str) -> str:  # noqa: ANN001
    context = browser.new_context(java_script_enabled=False, locale="pt-MZ")
    page = context.new_page()
    page.goto(f"{live_server.url}/report/follow-up/")
    page.fill("input[name=receipt]", receipt)
    page.click("#check")
    text = page.inner_text("main")
    context.close()
    return text


@pytest.mark.parametrize("javascript", [False, True])
def test_a_reporter_sends_a_report_follows_it_up_and_reads_a_staff_reply(
    live_db, browser, live_server, make_user, javascript
):
    receipt = _report_through_the_form(browser, live_server, javascript=javascript)
    report = receipts.lookup(receipt)
    assert report is not None
    assert report.case.channel == "web"
    worker = make_user("helpline_operator", agency=report.case.owning_agency)
    actions.staff_message_reporter(worker, report.case, "Obrigado. A conta ainda escreve para ti?")
    shown = _follow_up(browser, live_server, receipt)
    assert "Obrigado. A conta ainda escreve para ti?" in shown
    assert report.case.reference not in shown


def test_a_staff_user_sees_a_new_web_report_in_the_triage_queue(
    live_db, browser, live_server, make_user, settings
):
    receipt = _report_through_the_form(browser, live_server, javascript=False)
    case = receipts.lookup(receipt).case
    settings.DEMO = True  # demo users may skip the second factor only in demo mode
    user = make_user("helpline_operator", agency=case.owning_agency, username="lina.teste")
    type(user).objects.filter(pk=user.pk).update(is_demo=True)
    context = browser.new_context(java_script_enabled=False, locale="pt-MZ")
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/?next=/intake/triage/")
    page.fill("input[name=username]", "lina.teste")
    page.fill("input[name=password]", "correct horse battery staple")
    page.locator("form:has(input[name=username]) [type=submit]").click()
    page.wait_for_load_state()
    page.goto(f"{live_server.url}/intake/triage/")
    assert page.locator(f"#case-{case.reference}").count() == 1, page.inner_text("main")
    assert page.locator(f"#case-{case.reference}").get_attribute("data-channel") == "web"
    context.close()


NEUTRAL = "https://neutral.example/recipes"


def _neutral_site(context) -> list[str]:  # noqa: ANN001
    """The configured neutral site, answered inside the browser (no request leaves the machine)."""
    seen: list[str] = []

    def fulfil(route) -> None:  # noqa: ANN001
        seen.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<title>Receitas</title><p>Matapa</p>")

    context.route("https://neutral.example/**", fulfil)
    return seen


@pytest.mark.parametrize("javascript", [True, False])
def test_the_quick_exit_goes_straight_to_the_neutral_site_with_no_way_back_to_the_form(
    live_db, browser, live_server, settings, javascript
):
    settings.AMPARO_QUICK_EXIT_URL = NEUTRAL
    context = browser.new_context(java_script_enabled=javascript, locale="pt-MZ")
    seen = _neutral_site(context)
    page = context.new_page()
    page.goto(f"{live_server.url}/")
    page.goto(f"{live_server.url}/report/")
    page.click("#quick-exit")
    page.wait_for_url(NEUTRAL)
    assert seen == [NEUTRAL]
    assert "Amparo" not in page.content()
    if javascript:  # the history entry of the form was replaced
        page.go_back()
        assert not page.url.endswith("/report/")
    context.close()
