import pytest


@pytest.mark.django_db(transaction=False)
def test_login_page_follows_a_mozambican_browser_into_portuguese_without_javascript(browser, live_server):
    page = browser.new_page(java_script_enabled=False, locale="pt-MZ")
    page.goto(f"{live_server.url}/accounts/login/")
    assert page.title() == "Amparo"
    assert page.locator("html").get_attribute("lang") == "pt"
    assert page.locator("input[name=username]").count() == 1
    page.close()


def test_a_staff_user_created_in_the_test_can_sign_in_through_the_browser(
    live_db, browser, live_server, make_user, settings
):
    settings.DEMO = True  # demo users may skip the second factor only in demo mode
    user = make_user("investigator", agency="sernic", username="ines.teste")
    type(user).objects.filter(pk=user.pk).update(is_demo=True)
    page = browser.new_page(java_script_enabled=False, locale="pt-MZ")
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "ines.teste")
    page.fill("input[name=password]", "correct horse battery staple")
    page.locator("form:has(input[name=username]) [type=submit]").click()
    page.wait_for_load_state()
    assert page.url == f"{live_server.url}/staff/", page.inner_text("main")
    assert "DEMO" in page.content()
    page.close()
