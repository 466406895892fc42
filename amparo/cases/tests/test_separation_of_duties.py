"""Separation of duties for system administrators (issue 16, item 6): an administrator cannot grant roles
to themselves; granting a role that reads cases (or the administrator role), resetting a second factor and
setting another user's password wait for a second administrator's approval."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from django_otp.plugins.otp_totp.models import TOTPDevice

from amparo.cases.permissions import CasePermission
from amparo.conftest import SYSTEM
from amparo.core import actions, audit
from amparo.core.audit import CoreAudit
from amparo.core.models import AuditEntry, DutyRequest, RoleGrant
from amparo.core.policy import can
from amparo.core.roles import Role

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():  # noqa: ANN202  (the messages are matched in English)
    with translation.override("en"):
        yield


@pytest.fixture
def admins(make_user):  # noqa: ANN001, ANN201
    return make_user("sysadmin", agency="intic", username="ana"), make_user(
        "sysadmin", agency="intic", username="bento"
    )


@pytest.mark.parametrize("role", [Role.INVESTIGATOR, Role.AUDITOR, Role.ANALYST])
def test_an_administrator_cannot_grant_any_role_to_themselves(admins, role):
    ana, _bento = admins
    with pytest.raises(ValidationError, match="yourself"):
        actions.grant_role(ana, ana, role)
    assert set(RoleGrant.objects.filter(user=ana).values_list("role", flat=True)) == {Role.SYSADMIN}
    assert not DutyRequest.objects.exists()


def test_a_case_role_granted_by_an_administrator_waits_for_another_administrator(
    admins, make_user, make_case
):
    ana, bento = admins
    target = make_user(agency="sernic", username="nova")
    case = make_case(agency="sernic")
    duty = actions.grant_role(ana, target, Role.INVESTIGATOR)
    assert isinstance(duty, DutyRequest)
    target = type(target).objects.get(pk=target.pk)
    assert Role.INVESTIGATOR not in target.roles
    assert not can(target, CasePermission.READ, case)
    # Neither the one who asked nor the user it changes may approve.
    with pytest.raises(ValidationError, match="Another administrator"):
        actions.approve_request(ana, duty)
    actions.approve_request(bento, duty)
    target = type(target).objects.get(pk=target.pk)
    assert can(target, CasePermission.READ, case)
    entries = AuditEntry.objects.filter(action__startswith="core:").order_by("id")
    trail = [
        (e.action, e.actor_username, e.fields)
        for e in entries
        if e.object_id in (str(target.pk), str(duty.pk))
    ]
    assert trail[-3:] == [
        (CoreAudit.DUTY_REQUEST, "ana", ["kind:grant_role", "role:investigator", "user"]),
        (CoreAudit.ROLE_GRANT, "bento", ["role:investigator"]),
        (CoreAudit.DUTY_APPROVE, "bento", ["status"]),
    ]
    with pytest.raises(ValidationError, match="already decided"):
        actions.approve_request(bento, duty)
    assert list(audit.verify()) == []


def test_an_administrator_cannot_make_a_second_administrator_account_to_approve_their_own_requests(
    admins, make_user
):
    ana, _bento = admins
    puppet = make_user(agency="intic", username="puppet")
    assert isinstance(actions.grant_role(ana, puppet, Role.SYSADMIN), DutyRequest)
    assert Role.SYSADMIN not in type(puppet).objects.get(pk=puppet.pk).roles
    created = actions.create_user(ana, username="puppet2", agency=puppet.agency, roles=[Role.SYSADMIN])
    assert created.roles == frozenset()
    assert DutyRequest.objects.filter(user=created, role=Role.SYSADMIN, status="pending").exists()


def test_the_approving_administrator_cannot_be_the_user_the_change_is_for(admins):
    ana, bento = admins
    duty = actions.grant_role(ana, bento, Role.INVESTIGATOR)
    with pytest.raises(ValidationError, match="Another administrator"):
        actions.approve_request(bento, duty)
    assert Role.INVESTIGATOR not in type(bento).objects.get(pk=bento.pk).roles


def test_roles_that_read_no_case_are_granted_at_once(admins, make_user):
    ana, _bento = admins
    target = make_user(agency="sernic")
    assert actions.grant_role(ana, target, Role.ANALYST) is None
    assert RoleGrant.objects.filter(user=target, role=Role.ANALYST).exists()


def test_a_second_factor_reset_waits_for_another_administrator(admins, make_user):
    ana, bento = admins
    target = make_user("investigator", agency="sernic")
    TOTPDevice.objects.create(user=target, name="phone", confirmed=True)
    duty = actions.reset_two_factor(ana, target)
    assert isinstance(duty, DutyRequest)
    assert TOTPDevice.objects.filter(user=target).exists()
    actions.approve_request(bento, duty)
    assert not TOTPDevice.objects.filter(user=target).exists()
    assert AuditEntry.objects.filter(action=CoreAudit.TOTP_RESET, actor_username="bento").exists()


def test_setting_another_users_password_waits_and_the_request_keeps_only_a_hash(admins, make_user):
    ana, bento = admins
    target = make_user("investigator", agency="sernic", password="a frase antiga bem comprida")
    actions.update_user(ana, target, password="uma frase nova bem comprida")
    target.refresh_from_db()
    assert target.check_password("a frase antiga bem comprida")
    duty = DutyRequest.objects.get(user=target, kind=DutyRequest.Kind.SET_PASSWORD)
    assert "uma frase nova" not in duty.password
    actions.approve_request(bento, duty)
    target.refresh_from_db()
    assert target.check_password("uma frase nova bem comprida")
    duty.refresh_from_db()
    assert duty.password == ""


def test_a_rejected_request_changes_nothing(admins, make_user):
    ana, bento = admins
    target = make_user(agency="sernic")
    duty = actions.grant_role(ana, target, Role.PROSECUTOR)
    actions.reject_request(bento, duty)
    assert not RoleGrant.objects.filter(user=target).exists()
    assert AuditEntry.objects.filter(action=CoreAudit.DUTY_REJECT, object_id=str(duty.pk)).exists()


def test_the_operators_command_applies_at_once(make_user):
    target = make_user(agency="sernic")
    assert actions.grant_role(SYSTEM, target, Role.INVESTIGATOR) is None
    assert RoleGrant.objects.filter(user=target, role=Role.INVESTIGATOR).exists()


def test_the_admin_lists_pending_changes_and_another_administrator_approves_them(client, admins, make_user):
    from amparo.core.tests.test_web import sign_in

    ana, bento = admins
    duty = actions.grant_role(ana, make_user(agency="sernic", username="nova"), Role.SOCIAL_WORKER)
    sign_in(client, bento)
    assert "nova" in client.get("/admin/core/dutyrequest/").content.decode()
    response = client.post(
        "/admin/core/dutyrequest/", {"action": "approve", "_selected_action": [str(duty.pk)], "index": "0"}
    )
    assert response.status_code == 302
    duty.refresh_from_db()
    assert (duty.status, duty.decided_by) == ("approved", bento)
