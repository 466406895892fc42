"""The admin: only a verified system administrator gets in; no case model is ever registered;
user and role changes are audited through amparo.core.actions."""

from __future__ import annotations

from typing import Any

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from amparo.core import actions, audit
from amparo.core.admin import site
from amparo.core.audit import CoreAudit
from amparo.core.models import Agency, AuditEntry, DutyRequest, Province, RoleGrant, User
from amparo.core.roles import Role
from amparo.core.tests.test_web import sign_in


@pytest.fixture(autouse=True)
def _static_root(settings, tmp_path):
    """WhiteNoise warns (an error here) when STATIC_ROOT does not exist yet, as before `collectstatic`."""
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STATIC_ROOT.mkdir()


@pytest.fixture
def admin_client(client, make_user):
    """A client signed in (with a second factor) as a system administrator; `.user` is that user."""
    client.user = make_user("sysadmin", agency="intic")
    sign_in(client, client.user)
    return client


def _user_form(user: User, **changes: Any) -> dict[str, Any]:
    """The change form as the browser would send it, with the user's role rows and one empty row."""
    grants = list(user.role_grants.order_by("pk"))
    data: dict[str, Any] = {
        "username": user.username,
        "agency": user.agency_id,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on" if user.is_active else "",
        "scope_level": user.scope_level,
        "scope_province": user.scope_province_id or "",
        "scope_district": user.scope_district_id or "",
        "new_password1": "",
        "new_password2": "",
        "role_grants-TOTAL_FORMS": str(len(grants) + 1),
        "role_grants-INITIAL_FORMS": str(len(grants)),
        "role_grants-MIN_NUM_FORMS": "0",
        "role_grants-MAX_NUM_FORMS": "1000",
    }
    for i, grant in enumerate(grants):
        data[f"role_grants-{i}-id"] = str(grant.pk)
        data[f"role_grants-{i}-user"] = str(user.pk)
    data[f"role_grants-{len(grants)}-user"] = str(user.pk)
    data[f"role_grants-{len(grants)}-role"] = ""
    data.update(changes)
    return {k: v for k, v in data.items() if v != "" or k.endswith(("-role", "password1", "password2"))}


# ---------------------------------------------------------------------------
# Who gets in


@pytest.mark.django_db
def test_verified_sysadmin_gets_the_admin_and_the_user_list(admin_client):
    assert admin_client.get("/admin/").status_code == 200
    response = admin_client.get("/admin/core/user/")
    assert response.status_code == 200
    assert admin_client.user.username in response.content.decode()
    assert admin_client.get("/admin/core/agency/").status_code == 200


@pytest.mark.parametrize("role", [r for r in Role.values if r != Role.SYSADMIN])
@pytest.mark.django_db
def test_every_other_role_is_kept_out_of_the_admin(client, make_user, role):
    sign_in(client, make_user(role))
    response = client.get("/admin/", follow=True)
    assert response.status_code == 403
    assert client.get("/admin/core/user/").status_code != 200
    assert client.get("/admin/core/user/", follow=True).status_code == 403


@pytest.mark.django_db
def test_superuser_and_staff_flags_do_not_open_the_admin(client, make_user):
    user = make_user("investigator")
    User.objects.filter(pk=user.pk).update(is_superuser=True, is_staff=True)
    sign_in(client, User.objects.get(pk=user.pk))
    assert client.get("/admin/", follow=True).status_code == 403


@pytest.mark.django_db
def test_unverified_sysadmin_is_sent_to_two_factor(client, make_user):
    sign_in(client, make_user("sysadmin"), verified=False)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/two-factor/"


@pytest.mark.django_db
def test_unverified_sysadmin_is_refused_by_the_admin_site_itself(rf, make_user):
    from django.contrib.auth.models import AnonymousUser

    user = make_user("sysadmin")
    request = rf.get("/admin/")
    user.is_verified = lambda: False  # what django-otp's middleware installs for a session without a device
    request.user = user
    assert site.has_permission(request) is False
    user.is_verified = lambda: True
    assert site.has_permission(request) is True
    request.user = AnonymousUser()
    assert site.has_permission(request) is False


@pytest.mark.django_db
def test_demo_sysadmin_gets_in_without_second_factor_only_in_demo_mode(client, settings):
    from amparo.conftest import SYSTEM
    from amparo.core.actions import create_user

    user = create_user(
        SYSTEM,
        username="demo-admin",
        agency=Agency.objects.get(code="intic"),
        roles=["sysadmin"],
        is_demo=True,
    )
    client.force_login(user)
    settings.DEMO = True
    assert client.get("/admin/").status_code == 200
    settings.DEMO = False
    assert client.get("/admin/").status_code == 302


@pytest.mark.django_db
def test_admin_login_page_sends_to_our_sign_in(client):
    response = client.get("/admin/login/?next=/admin/core/user/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/admin/core/user/"
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/login/?next=/admin/"
    assert response.status_code == 200


@pytest.mark.django_db
def test_admin_login_page_sends_a_verified_sysadmin_to_the_index(admin_client):
    response = admin_client.get("/admin/login/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/"


# ---------------------------------------------------------------------------
# What is registered


@pytest.mark.django_db
def test_user_page_never_shows_the_password_hash(admin_client, make_user):
    other = make_user("investigator")
    body = admin_client.get(f"/admin/core/user/{other.pk}/change/").content.decode()
    assert other.password not in body
    assert other.password.split("$")[-1] not in body
    assert "md5$" not in body
    assert 'name="password"' not in body
    assert 'name="is_superuser"' not in body
    assert 'name="is_staff"' not in body


@pytest.mark.django_db
def test_geography_is_read_only(admin_client):
    assert admin_client.get("/admin/core/province/").status_code == 200
    assert admin_client.get("/admin/core/district/").status_code == 200
    assert admin_client.get("/admin/core/province/add/").status_code == 403
    assert admin_client.post("/admin/core/province/MZ07/change/", {"name": "X"}).status_code == 403
    assert Province.objects.get(pk="MZ07").name != "X"


@pytest.mark.django_db
def test_nothing_can_be_deleted_from_the_admin(admin_client, make_user):
    other = make_user("investigator")
    assert admin_client.get(f"/admin/core/user/{other.pk}/delete/").status_code == 403
    agency = Agency.objects.get(code="sernic")
    assert admin_client.get(f"/admin/core/agency/{agency.pk}/delete/").status_code == 403


# ---------------------------------------------------------------------------
# Writes go through the actions and are audited


@pytest.mark.django_db
def test_creating_a_user_in_the_admin_is_audited_with_its_role_grants(admin_client):
    agency = Agency.objects.get(code="pgr")
    data = {
        "username": "nova.procuradora",
        "agency": agency.pk,
        "first_name": "Nova",
        "last_name": "Procuradora",
        "email": "",
        "scope_level": "",
        "password1": "um-segredo-bem-comprido",
        "password2": "um-segredo-bem-comprido",
        "role_grants-TOTAL_FORMS": "2",
        "role_grants-INITIAL_FORMS": "0",
        "role_grants-MIN_NUM_FORMS": "0",
        "role_grants-MAX_NUM_FORMS": "1000",
        "role_grants-0-role": "prosecutor",
        "role_grants-1-role": "",
    }
    response = admin_client.post("/admin/core/user/add/", data)
    assert response.status_code == 302, (
        response.context["adminform"].form.errors if response.context else response
    )
    user = User.objects.get(username="nova.procuradora")
    assert user.agency == agency
    assert user.roles == frozenset()  # a case role waits for a second administrator (separation of duties)
    duty = DutyRequest.objects.get(user=user, role="prosecutor", status="pending")
    assert user.check_password("um-segredo-bem-comprido")
    entries = AuditEntry.objects.filter(object_id__in=[str(user.pk), str(duty.pk)]).order_by("id")
    assert [(e.action, e.fields) for e in entries] == [
        (CoreAudit.USER_CREATE, ["agency", "password", "scope_level", "username"]),
        (CoreAudit.DUTY_REQUEST, ["kind:grant_role", "role:prosecutor", "user"]),
    ]
    assert {e.actor_user_id for e in entries} == {admin_client.user.pk}
    assert list(audit.verify()) == []


@pytest.mark.django_db
def test_add_form_refuses_a_weak_password_and_an_inconsistent_scope(admin_client):
    data = {
        "username": "fraca",
        "agency": Agency.objects.get(code="pgr").pk,
        "scope_level": "district",
        "scope_province": "MZ07",
        "scope_district": "MZ0102",
        "password1": "123",
        "password2": "123",
        "role_grants-TOTAL_FORMS": "0",
        "role_grants-INITIAL_FORMS": "0",
        "role_grants-MIN_NUM_FORMS": "0",
        "role_grants-MAX_NUM_FORMS": "1000",
    }
    response = admin_client.post("/admin/core/user/add/", data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "password1" in errors
    assert "scope_district" in errors
    assert not User.objects.filter(username="fraca").exists()


@pytest.mark.django_db
def test_role_grants_and_revokes_in_the_admin_are_audited(admin_client, make_user):
    other = make_user("investigator", "social_worker")
    investigator = other.role_grants.get(role="investigator")
    grants = list(other.role_grants.order_by("pk"))
    index = grants.index(investigator)
    data = _user_form(
        other, **{f"role_grants-{index}-DELETE": "on", f"role_grants-{len(grants)}-role": "prosecutor"}
    )
    response = admin_client.post(f"/admin/core/user/{other.pk}/change/", data)
    assert response.status_code == 302
    # The revoke applies at once; the case role waits for a second administrator.
    assert set(RoleGrant.objects.filter(user=other).values_list("role", flat=True)) == {"social_worker"}
    duty = DutyRequest.objects.get(user=other, role="prosecutor", status="pending")
    entries = AuditEntry.objects.filter(
        object_id__in=[str(other.pk), str(duty.pk)],
        action__in=[CoreAudit.ROLE_GRANT, CoreAudit.ROLE_REVOKE, CoreAudit.DUTY_REQUEST],
    )
    recent = [(e.action, e.fields) for e in entries.filter(actor_user_id=admin_client.user.pk).order_by("id")]
    assert recent == [
        (CoreAudit.ROLE_REVOKE, ["role:investigator"]),
        (CoreAudit.DUTY_REQUEST, ["kind:grant_role", "role:prosecutor", "user"]),
    ]


@pytest.mark.django_db
def test_sysadmin_cannot_remove_their_own_sysadmin_role(admin_client):
    me = admin_client.user
    data = _user_form(me, **{"role_grants-0-DELETE": "on"})
    response = admin_client.post(f"/admin/core/user/{me.pk}/change/", data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "You cannot remove your own system administrator role" in response.content.decode()
    assert RoleGrant.objects.filter(user=me, role="sysadmin").exists()


@pytest.mark.django_db
def test_changing_user_details_and_resetting_a_password_is_audited_by_field_name(admin_client, make_user):
    other = make_user("investigator")
    data = _user_form(
        other,
        email="novo@example.org",
        new_password1="outra-frase-bem-longa",
        new_password2="outra-frase-bem-longa",
    )
    response = admin_client.post(f"/admin/core/user/{other.pk}/change/", data)
    assert response.status_code == 302
    other.refresh_from_db()
    assert other.email == "novo@example.org"
    # Another user's password waits for a second administrator (separation of duties).
    assert not other.check_password("outra-frase-bem-longa")
    assert DutyRequest.objects.filter(user=other, kind="set_password", status="pending").exists()
    entry = AuditEntry.objects.filter(action=CoreAudit.USER_UPDATE, object_id=str(other.pk)).get()
    assert entry.fields == ["email"]
    assert entry.actor_user_id == admin_client.user.pk


@pytest.mark.django_db
def test_resetting_two_factor_asks_a_second_administrator_who_removes_the_devices(admin_client, make_user):
    other = make_user("investigator")
    TOTPDevice.objects.create(user=other, name="lost phone", confirmed=True)
    response = admin_client.post(
        "/admin/core/user/", {"action": "reset_two_factor", "_selected_action": [str(other.pk)], "index": "0"}
    )
    assert response.status_code == 302
    assert TOTPDevice.objects.filter(user=other).exists()
    duty = DutyRequest.objects.get(user=other, kind="reset_totp", status="pending")
    actions.approve_request(make_user("sysadmin", agency="intic"), duty)
    assert not TOTPDevice.objects.filter(user=other).exists()
    entry = AuditEntry.objects.get(action=CoreAudit.TOTP_RESET, object_id=str(other.pk))
    assert entry.fields == ["totp_device"]


@pytest.mark.django_db
def test_agency_changes_are_audited(admin_client):
    agency = Agency.objects.get(code="cndh")
    data = {
        "name": agency.name,
        "short_name": "CNDH-MZ",
        "kind": agency.kind,
        "scope_level": "national",
        "active": "on",
    }
    response = admin_client.post(f"/admin/core/agency/{agency.pk}/change/", data)
    assert response.status_code == 302
    agency.refresh_from_db()
    assert agency.short_name == "CNDH-MZ"
    assert agency.code == "cndh"
    entry = AuditEntry.objects.get(action=CoreAudit.AGENCY_UPDATE)
    assert entry.fields == ["short_name"]
    assert entry.object_id == str(agency.pk)
