from django.test import RequestFactory, override_settings

from amparo.core.monitoring import monitoring_authorized

rf = RequestFactory()


@override_settings(AMPARO_MONITORING_TOKEN="s3cret-token")
def test_the_configured_bearer_token_is_accepted():
    assert monitoring_authorized(rf.get("/", HTTP_AUTHORIZATION="Bearer s3cret-token"))


@override_settings(AMPARO_MONITORING_TOKEN="s3cret-token")
def test_a_wrong_missing_or_non_bearer_token_is_refused():
    assert not monitoring_authorized(rf.get("/", HTTP_AUTHORIZATION="Bearer other"))
    assert not monitoring_authorized(rf.get("/"))
    assert not monitoring_authorized(rf.get("/", HTTP_AUTHORIZATION="Basic s3cret-token"))


@override_settings(AMPARO_MONITORING_TOKEN=None)
def test_no_configured_token_refuses_everyone():
    assert not monitoring_authorized(rf.get("/", HTTP_AUTHORIZATION="Bearer "))
    assert not monitoring_authorized(rf.get("/", HTTP_AUTHORIZATION="Bearer anything"))
