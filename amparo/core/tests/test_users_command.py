"""`amparo users list`: agency, roles, scope, activity and two-factor enrolment; never a secret."""

from __future__ import annotations

import io
import json

from django.core.management import call_command
from django_otp.plugins.otp_totp.models import TOTPDevice

from amparo.core import audit
from amparo.core.actions import update_user

SYSTEM = audit.Actor.system("tests")


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("users", "list", *args, stdout=out)
    return out.getvalue()


def test_json_lists_each_user_with_agency_roles_scope_and_two_factor(make_user):
    enrolled = make_user("investigator", "agency_supervisor", agency="sernic", username="ana-sernic")
    TOTPDevice.objects.create(user=enrolled, name="phone", confirmed=True)
    narrowed = make_user(
        "social_worker", agency="mgcas", username="joao-mgcas", scope_level="province", scope_province="MZ07"
    )
    update_user(SYSTEM, narrowed, is_active=False)
    users = {u["username"]: u for u in json.loads(run("--json"))["users"]}
    assert users["ana-sernic"] == {
        "username": "ana-sernic",
        "agency": "sernic",
        "roles": ["agency_supervisor", "investigator"],
        "scope": {"level": "national", "province": None, "district": None},
        "active": True,
        "two_factor": True,
        "demo": False,
    }
    assert users["joao-mgcas"]["scope"] == {"level": "province", "province": "MZ07", "district": None}
    assert users["joao-mgcas"]["active"] is False
    assert users["joao-mgcas"]["two_factor"] is False


def test_output_holds_no_password_hash_or_totp_secret(make_user):
    user = make_user("investigator", agency="sernic", username="ana-sernic")
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    user.refresh_from_db()
    for output in (run("--json"), run()):
        assert user.password not in output
        assert device.key not in output  # what the database holds (encrypted) …
        assert device.bin_key.hex() not in output  # … and the secret itself
        assert "password" not in output.lower()


def test_plain_table_has_one_line_per_user_and_filters_by_agency(make_user):
    make_user("investigator", agency="sernic", username="ana-sernic")
    make_user("prosecutor", agency="pgr", username="rui-pgr")
    table = run()
    assert "ana-sernic" in table
    assert "rui-pgr" in table
    assert "investigator" in table
    only = json.loads(run("--agency", "pgr", "--json"))["users"]
    assert [u["username"] for u in only] == ["rui-pgr"]
