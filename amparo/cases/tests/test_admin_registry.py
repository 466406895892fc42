"""The admin never shows case content: of the cases app a system administrator maintains only the
configuration directories (service providers, the service directory), never a case, a person or any
case content, not even by typing the address (the admin's sign-in rules are tested in core)."""

from __future__ import annotations

import pytest
from django.apps import apps

from amparo.cases.models import Case, Service, ServiceProvider
from amparo.core.admin import site
from amparo.core.models import Agency, District, DutyRequest, Province, User
from amparo.core.tests.test_admin import _static_root, admin_client  # noqa: F401  (fixtures)

# What a system administrator maintains: the core directory (users, agencies, geography) and the
# configuration directories of the cases app (service providers for preservation requests; the service
# directory, if its admin is registered). Never a case, a person or any case content.
CORE_DIRECTORY = {User, Agency, Province, District, DutyRequest}
CASE_CONFIGURATION = {ServiceProvider, Service}


def _case_content_models() -> list[type]:
    return [m for m in apps.get_app_config("cases").get_models() if m not in CASE_CONFIGURATION]


def test_only_directory_models_are_registered_and_no_case_model():
    registered = set(site._registry)
    assert CORE_DIRECTORY | {ServiceProvider} <= registered
    assert registered - CORE_DIRECTORY <= CASE_CONFIGURATION
    assert Case in _case_content_models()
    assert not registered & set(_case_content_models())


@pytest.mark.django_db
def test_case_admin_urls_are_404_even_for_a_sysadmin(admin_client):  # noqa: F811  (the fixture)
    for model in _case_content_models():
        name = model._meta.model_name
        for url in (f"/admin/cases/{name}/", f"/admin/cases/{name}/add/"):
            assert admin_client.get(url).status_code == 404, url
    assert admin_client.get("/admin/core/auditentry/").status_code == 404
    # The cases app's index lists its configuration directories only: it names no case model.
    response = admin_client.get("/admin/cases/")
    assert response.status_code == 200
    [app] = response.context["app_list"]
    listed = {m["model"] for m in app["models"]}
    assert listed == set(site._registry) & CASE_CONFIGURATION
    body = admin_client.get("/admin/").content.decode() + response.content.decode()
    for model in _case_content_models():
        assert f"/admin/cases/{model._meta.model_name}/" not in body
