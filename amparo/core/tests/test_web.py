"""The staff web pages of core: sign-in, two-factor sign-in, lock-out, home, layout and CSP.

TOTP codes are computed from the device's real key (django_otp.oath.TOTP), never mocked.
`sign_in` and `totp_code` are imported by the other web test modules.
"""

from __future__ import annotations

import base64
import logging
import re
import time
from typing import Any

import pytest
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.utils import translation
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp import login as otp_login
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from amparo.conftest import SYSTEM
from amparo.core import audit
from amparo.core.actions import create_user
from amparo.core.audit import CoreAudit
from amparo.core.models import Agency, AuditEntry

PASSWORD = "correct horse battery staple"  # make_user's default
# Tests that read our wording ask for English: Portuguese is the default once catalogues exist.
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture(autouse=True)
def _static_root(settings, tmp_path):
    """WhiteNoise warns (an error here) when STATIC_ROOT does not exist yet, as before `collectstatic`."""
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STATIC_ROOT.mkdir()


# ---------------------------------------------------------------------------
# Helpers shared with test_admin.py and amparo/cases/tests/test_views.py


def sign_in(client: Client, user: Any, *, verified: bool = True) -> TOTPDevice | None:
    """Sign `user` in; with `verified`, also complete two-factor sign-in with a confirmed TOTP device."""
    client.force_login(user)
    if not verified:
        return None
    device = TOTPDevice.objects.create(user=user, name="test phone", confirmed=True)
    request = RequestFactory().get("/")
    request.user = user
    request.session = client.session
    otp_login(request, device)
    request.session.save()
    return device


def totp_code(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    """The code an authenticator app shows now (or `steps_ahead` time steps later)."""
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def wrong_code(device: TOTPDevice) -> str:
    """A six-digit code that no time step within the device's tolerance accepts."""
    near = {totp_code(device, steps_ahead=s) for s in range(-device.tolerance - 1, device.tolerance + 2)}
    candidate = 123456
    while f"{candidate:06d}" in near:
        candidate += 1
    return f"{candidate:06d}"


def csp_directives(response: Any) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    parts = [p.strip() for p in header.split(";") if p.strip()]
    return {p.split(" ", 1)[0]: (p.split(" ", 1)[1] if " " in p else "") for p in parts}


def audit_actions() -> list[str]:
    return list(AuditEntry.objects.order_by("id").values_list("action", flat=True))


def _password_sign_in(client: Client, user: Any, next_url: str = "") -> Any:
    data = {"username": user.username, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    return client.post("/accounts/login/", data)


# ---------------------------------------------------------------------------
# Layout, language, CSP


@pytest.mark.django_db
def test_login_page_is_in_portuguese_by_default(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    body = response.content.decode()
    assert '<html lang="pt">' in body
    assert "Palavra-passe" in body  # Django's own Portuguese catalogue
    assert "<title>Amparo</title>" in body


@pytest.mark.django_db
def test_login_page_switches_to_english_with_the_language_form(client):
    page = client.get("/accounts/login/").content.decode()
    assert 'action="/i18n/setlang/"' in page
    assert 'name="language" value="en"' in page

    response = client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    body = client.get("/accounts/login/").content.decode()
    assert '<html lang="en">' in body
    assert "Password" in body
    assert "Palavra-passe" not in body


@pytest.mark.django_db
def test_pages_send_a_csp_that_starts_from_default_src_none(client, make_user):
    responses = [client.get("/accounts/login/")]
    user = make_user("investigator")
    sign_in(client, user)
    responses.append(client.get("/staff/"))
    for response in responses:
        directives = csp_directives(response)
        assert directives["default-src"] == "'none'"
        assert directives["script-src"] == "'self'"
        assert directives["style-src"] == "'self'"
        assert directives["frame-ancestors"] == "'none'"
        assert "unsafe-inline" not in response["Content-Security-Policy"]


@pytest.mark.django_db
def test_pages_have_no_third_party_urls_inline_scripts_or_styles(client, make_user):
    pages = [client.get("/accounts/login/")]
    user = make_user("investigator")
    client.force_login(user)
    pages.append(client.get("/accounts/two-factor/"))  # the enrolment page with its QR code
    sign_in(client, user)
    pages.append(client.get("/staff/"))
    for response in pages:
        assert response.status_code == 200
        body = response.content.decode()
        assert "http://" not in body
        assert "https://" not in body
        assert not re.search(r"<script(?![^>]*\bsrc=)", body), "inline script"
        assert "<style" not in body
        assert not re.search(r"\sstyle=", body), "inline style attribute"
        assert len(response.content) < 12_000  # pages stay light (the QR code is the largest part)


@pytest.mark.django_db
def test_login_page_is_light_and_uses_our_own_stylesheet(client):
    response = client.get("/accounts/login/")
    assert len(response.content) < 6_000
    assert '<link rel="stylesheet" href="/static/core/amparo.css">' in response.content.decode()
    stylesheet = client.get("/static/core/amparo.css")
    assert stylesheet.status_code == 200
    stylesheet.close()


# ---------------------------------------------------------------------------
# Sign-in and two-factor sign-in


@pytest.mark.django_db
def test_anonymous_user_is_sent_to_the_login_page(client):
    response = client.get("/staff/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/staff/"


@pytest.mark.django_db
def test_unverified_user_is_sent_to_two_factor(client, make_user):
    client.force_login(make_user("investigator"))
    response = client.get("/staff/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/two-factor/"


@pytest.mark.django_db
def test_password_sign_in_goes_to_two_factor_and_keeps_the_destination(client, make_user):
    user = make_user("investigator")
    response = _password_sign_in(client, user, next_url="/cases/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/two-factor/?next=%2Fcases%2F"


@pytest.mark.django_db
def test_first_sign_in_enrols_a_totp_device_with_a_qr_code(client, make_user):
    user = make_user("investigator")
    _password_sign_in(client, user)
    page = client.get("/accounts/two-factor/?next=/cases/")
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]  # the page shows the secret key
    body = page.content.decode()
    assert '<svg class="qr"' in body or "<svg " in body
    device = TOTPDevice.objects.get(user=user)
    assert device.confirmed is False
    secret = page.context["secret"].replace(" ", "")
    assert base64.b32decode(secret) == device.bin_key
    assert page.context["secret"] in body
    # Reloading the page keeps the same key (the person may be scanning it).
    client.get("/accounts/two-factor/")
    assert TOTPDevice.objects.filter(user=user).count() == 1

    old_session = client.session.session_key
    response = client.post("/accounts/two-factor/", {"code": totp_code(device), "next": "/cases/"})
    assert response.status_code == 302
    assert response["Location"] == "/cases/"
    device.refresh_from_db()
    assert device.confirmed is True
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert client.session.session_key != old_session
    assert client.get("/staff/").status_code == 200
    entry = AuditEntry.objects.get(action=CoreAudit.TOTP_ENROL)
    assert entry.actor_user_id == user.pk
    assert entry.object_id == str(user.pk)


@pytest.mark.django_db
def test_enrolment_refuses_a_wrong_code(client, make_user):
    user = make_user("investigator")
    client.force_login(user)
    client.get("/accounts/two-factor/")
    device = TOTPDevice.objects.get(user=user)
    response = client.post("/accounts/two-factor/", {"code": wrong_code(device)}, **EN)
    assert response.status_code == 400
    assert "That code is not right." in response.content.decode()
    device.refresh_from_db()
    assert device.confirmed is False
    assert client.get("/staff/").status_code == 302
    assert not AuditEntry.objects.filter(action=CoreAudit.TOTP_ENROL).exists()


@pytest.mark.django_db
def test_code_that_is_not_six_digits_is_refused_with_a_clear_error(client, make_user):
    client.force_login(make_user("investigator"))
    response = client.post("/accounts/two-factor/", {"code": "12ab"}, **EN)
    assert response.status_code == 400
    assert "Enter the six digits shown in your authenticator app." in response.content.decode()


@pytest.mark.django_db
def test_returning_user_verifies_with_a_valid_code(client, make_user):
    user = make_user("investigator")
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    response = _password_sign_in(client, user)
    assert response["Location"] == "/accounts/two-factor/?next=%2Fstaff%2F"
    page = client.get("/accounts/two-factor/")
    assert page.status_code == 200
    assert "<svg" not in page.content.decode()  # no new key is shown to someone who already has one
    assert page.context["enrolling"] is False

    response = client.post("/accounts/two-factor/", {"code": totp_code(device), "next": "/staff/"})
    assert response.status_code == 302
    assert response["Location"] == "/staff/"
    assert client.get("/staff/").status_code == 200
    assert TOTPDevice.objects.filter(user=user).count() == 1


@pytest.mark.django_db
def test_wrong_code_is_refused_audited_and_then_throttled(client, make_user):
    user = make_user("investigator")
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client.force_login(user)
    response = client.post("/accounts/two-factor/", {"code": wrong_code(device)}, **EN)
    assert response.status_code == 400
    assert "That code is not right." in response.content.decode()
    assert client.get("/staff/").status_code == 302

    failed = AuditEntry.objects.get(action=CoreAudit.LOGIN_FAILED)
    assert failed.actor_username == ""
    assert failed.actor_user_id is None
    assert failed.object_id == str(user.pk)

    # django-otp's throttling: right after a wrong code even the right one is refused for a while.
    response = client.post("/accounts/two-factor/", {"code": totp_code(device)}, **EN)
    assert response.status_code == 400
    assert "Too many wrong codes." in response.content.decode()
    assert client.get("/staff/").status_code == 302


@pytest.mark.django_db
def test_verified_user_visiting_two_factor_goes_on(client, make_user):
    sign_in(client, make_user("investigator"))
    response = client.get("/accounts/two-factor/?next=/cases/")
    assert response.status_code == 302
    assert response["Location"] == "/cases/"


@pytest.mark.django_db
def test_two_factor_ignores_a_next_url_on_another_site(client, make_user):
    sign_in(client, make_user("investigator"))
    response = client.get("/accounts/two-factor/?next=https://evil.example/")
    assert response["Location"] == "/staff/"


@pytest.mark.django_db
def test_anonymous_user_cannot_open_two_factor(client):
    response = client.get("/accounts/two-factor/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# ---------------------------------------------------------------------------
# Demo mode


def _demo_user() -> Any:
    return create_user(
        SYSTEM,
        username="demo-investigator",
        agency=Agency.objects.get(code="sernic"),
        roles=["investigator"],
        password=PASSWORD,
        is_demo=True,
    )


@pytest.mark.django_db
def test_demo_user_skips_two_factor_only_when_demo_mode_is_on(client, settings):
    user = _demo_user()
    client.force_login(user)

    settings.DEMO = False
    response = client.get("/staff/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/two-factor/"

    settings.DEMO = True
    response = client.get("/staff/", **EN)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'class="demo-banner"' in body
    assert "DEMO" in body


@pytest.mark.django_db
def test_demo_user_signs_in_straight_to_home_in_demo_mode(client, settings):
    settings.DEMO = True
    response = _password_sign_in(client, _demo_user())
    assert response.status_code == 302
    assert response["Location"] == "/staff/"


@pytest.mark.django_db
def test_normal_user_still_needs_two_factor_in_demo_mode(client, settings, make_user):
    settings.DEMO = True
    client.force_login(make_user("investigator"))
    response = client.get("/staff/")
    assert response["Location"] == "/accounts/two-factor/"
    assert 'class="demo-banner"' in client.get("/accounts/two-factor/").content.decode()


@pytest.mark.django_db
def test_demo_banner_is_absent_outside_demo_mode(client, settings):
    settings.DEMO = False
    assert "demo-banner" not in client.get("/accounts/login/").content.decode()


# ---------------------------------------------------------------------------
# Lock-out and the audit trail of sessions


@pytest.mark.django_db
def test_sign_in_locks_out_after_the_failure_limit(client, settings, make_user):
    user = make_user("investigator")
    limit = settings.AXES_FAILURE_LIMIT
    for attempt in range(1, limit + 1):
        response = client.post(
            "/accounts/login/", {"username": user.username, "password": "wrong password"}, **EN
        )
        if attempt < limit:
            assert response.status_code == 200
            assert "_auth_user_id" not in client.session
    assert response.status_code == 429
    body = response.content.decode()
    assert "Sign-in is paused" in body
    assert f"Wait {round(settings.AXES_COOLOFF_TIME * 60)} minutes, then try again." in body
    assert user.username not in body

    # Even the right password is refused now.
    response = _password_sign_in(client, user)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_sign_in_and_sign_out_are_audited(client, make_user):
    user = make_user("investigator")
    _password_sign_in(client, user)
    login = AuditEntry.objects.get(action=CoreAudit.LOGIN)
    assert login.actor_user_id == user.pk
    assert login.actor_channel == "web-login"

    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    logout = AuditEntry.objects.get(action=CoreAudit.LOGOUT)
    assert logout.actor_user_id == user.pk
    assert "_auth_user_id" not in client.session
    assert list(audit.verify()) == []


@pytest.mark.django_db
def test_failed_sign_in_is_audited_without_username_or_password(client, make_user, caplog):
    make_user("investigator", username="maria.teste")
    with caplog.at_level(logging.DEBUG):
        response = client.post(
            "/accounts/login/", {"username": "maria.teste", "password": "Segredo-Muito-Secreto-1"}
        )
    assert response.status_code == 200
    entry = AuditEntry.objects.get(action=CoreAudit.LOGIN_FAILED)
    assert entry.actor_username == ""
    assert entry.actor_user_id is None
    assert entry.actor_channel == "web-login"
    assert (entry.object_type, entry.object_id) == ("", "")
    assert entry.fields == []
    assert "Segredo-Muito-Secreto-1" not in caplog.text
    assert "maria.teste" not in caplog.text
    assert not AuditEntry.objects.filter(action=CoreAudit.LOGIN).exists()


@pytest.mark.django_db
def test_logout_needs_post(client, make_user):
    sign_in(client, make_user("investigator"))
    assert client.get("/accounts/logout/").status_code == 405
    assert client.get("/staff/").status_code == 200


@pytest.mark.django_db
def test_locked_out_page_without_cool_off_says_whom_to_ask():
    with translation.override("en"):
        html = render_to_string("core/locked_out.html", {"failure_limit": 5, "username": "x"})
    assert "Sign-in is paused" in html
    assert "Ask your agency's system administrator to unlock the account." in html
    assert ">x<" not in html


# ---------------------------------------------------------------------------
# Home


@pytest.mark.django_db
def test_home_greets_the_user_and_shows_agency_and_translated_roles(client, make_user):
    user = make_user("investigator", "social_worker", agency="sernic")
    sign_in(client, user)
    client.post("/i18n/setlang/", {"language": "en", "next": "/staff/"})
    body = client.get("/staff/").content.decode()
    assert f"Hello, {user.username}." in body
    assert "Serviço Nacional de Investigação Criminal" in body
    assert "Investigator" in body
    assert "Social worker" in body
    assert 'href="/cases/"' in body
    assert "Open the case list" in body
    assert "Manage users and agencies" not in body


@pytest.mark.parametrize(
    ("role", "present", "absent"),
    [
        (
            "sysadmin",
            ["Manage users and agencies", 'href="/admin/"'],
            ["Open the case list", "Read the audit log"],
        ),
        (
            "auditor",
            ["Read the audit log (coming soon)"],
            ["Open the case list", "Manage users and agencies"],
        ),
        ("analyst", ['href="/observatory/"'], ["Open the case list", "Read the audit log"]),
        (
            "agency_supervisor",
            ["Open the case list", 'href="/observatory/"', 'href="/intake/triage/"'],
            ["Manage users and agencies"],
        ),
        ("helpline_operator", ['href="/intake/console/"', "Open the case list"], ['href="/intake/desk/"']),
        (
            "intake_officer",
            ['href="/intake/desk/"'],
            ['href="/intake/console/"', "Manage users and agencies"],
        ),
    ],
)
@pytest.mark.django_db
def test_home_lists_what_each_role_may_do(client, make_user, role, present, absent):
    sign_in(client, make_user(role))
    body = client.get("/staff/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for text in present:
        assert text in body
    for text in absent:
        assert text not in body


@pytest.mark.django_db
def test_home_of_a_user_without_roles_says_so(client, make_user):
    sign_in(client, make_user())
    body = client.get("/staff/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Your roles do not open any page yet." in body


@pytest.mark.django_db
def test_unknown_page_gets_our_plain_404(client, make_user):
    sign_in(client, make_user("investigator"))
    response = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_qr_code_svg_draws_exactly_the_modules_of_the_qr_code():
    import qrcode

    from amparo.core.views import qr_code_svg

    data = "otpauth://totp/Amparo%3Aana?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Amparo"
    svg = str(qr_code_svg(data, "QR <code>"))
    assert svg.startswith('<svg version="1.1" viewBox="0 0 ')
    assert "xmlns" not in svg
    assert 'aria-label="QR &lt;code&gt;"' in svg
    path = re.search(r'<path d="([^"]+)"', svg).group(1)
    drawn = set()
    for x, y, width in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\3z", path):
        drawn.update((int(x) + i, int(y)) for i in range(int(width)))
    assert (
        "".join(f"M{x} {y}h{w}v1h-{w}z" for x, y, w in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\3z", path)) == path
    )

    qr = qrcode.QRCode(border=4)
    qr.add_data(data)
    qr.make(fit=True)
    expected = {(x, y) for y, row in enumerate(qr.get_matrix()) for x, dark in enumerate(row) if dark}
    assert drawn == expected


@pytest.mark.django_db
def test_csrf_failure_page_is_ours_and_plain():
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "x", "password": "y"}, **EN)
    assert response.status_code == 403
    body = response.content.decode()
    assert "The form could not be sent" in body
    assert " style=" not in body
    assert not AuditEntry.objects.exists()  # the form never reached authentication


@pytest.mark.django_db
def test_forbidden_page_explains_in_plain_words(client, make_user):
    sign_in(client, make_user("investigator"))
    response = client.get("/admin/", follow=True, **EN)
    assert response.status_code == 403
    assert "Your roles do not allow this." in response.content.decode()
