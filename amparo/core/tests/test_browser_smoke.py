import pytest


@pytest.mark.django_db(transaction=False)
def test_login_page_follows_a_mozambican_browser_into_portuguese_without_javascript(browser, live_server):
    page = browser.new_page(java_script_enabled=False, locale="pt-MZ")
    page.goto(f"{live_server.url}/accounts/login/")
    assert page.title() == "Amparo"
    assert page.locator("html").get_attribute("lang") == "pt"
    assert page.locator("input[name=username]").count() == 1
    page.close()
