"""Staff pages of the core app: sign-in, two-factor sign-in and the home page."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET  # noqa: S405  (we build SVG, we never parse untrusted XML)
from base64 import b32encode
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django_otp import login as otp_login
from django_otp import verify_token
from django_otp.plugins.otp_totp.models import TOTPDevice

from amparo.core import signin
from amparo.core.actions import confirm_totp_enrolment, record_wrong_second_factor, start_totp_enrolment
from amparo.core.forms import TOTPCodeForm
from amparo.core.middleware import user_needs_second_factor
from amparo.core.permissions import CorePermission
from amparo.core.policy import can
from amparo.core.roles import Role

# ---------------------------------------------------------------------------
# Sign-in and sign-out


def second_factor_done(user: Any) -> bool:
    """Whether a signed-in user has passed two-factor sign-in (or is exempt: demo users in demo mode)."""
    return (
        bool(getattr(user, "is_authenticated", False))
        and hasattr(user, "is_verified")
        and not user_needs_second_factor(user)
    )


def _safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME) or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


@method_decorator(never_cache, name="dispatch")
class LoginView(auth_views.LoginView):
    """Django's sign-in with our template. django-axes counts failures and locks an address out; a user
    name gets a growing delay instead, except in a browser where it signed in before (`core.signin`)."""

    template_name = "core/login.html"
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        username = str(request.POST.get("username", ""))[:150]
        wait = signin.username_wait_seconds(username)
        if wait and not signin.known_device(request, username):
            form = self.get_form()
            minutes = math.ceil(wait / 60)
            form.add_error(
                None,
                ngettext(
                    "Too many unsuccessful attempts to sign in with this user name. Wait %(minutes)s minute, then try again.",
                    "Too many unsuccessful attempts to sign in with this user name. Wait %(minutes)s minutes, then try again.",
                    minutes,
                )
                % {"minutes": minutes},
            )
            response = self.render_to_response(self.get_context_data(form=form))
            response.status_code = 429
            return response
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        username = form.get_user().get_username()
        signin.forget_failures(username)
        signin.remember_device(response, username)
        return response

    def get_success_url(self) -> str:
        url = super().get_success_url()
        user = self.request.user
        if settings.DEMO and getattr(user, "is_demo", False):
            return url
        # A fresh session has no second factor yet: go there first, then on to where the user was going.
        return f"{reverse('core:two_factor')}?{urlencode({REDIRECT_FIELD_NAME: url})}"


class LogoutView(auth_views.LogoutView):
    """Sign-out (POST only, as in Django); the audit entry comes from the user_logged_out signal."""


# ---------------------------------------------------------------------------
# Two-factor sign-in (TOTP)
#
# Enrolment writes and the record of a wrong code go through amparo.core.actions.


def _throttled_for(device: TOTPDevice) -> int:
    """Seconds the device refuses codes after wrong ones (django-otp's throttling); 0 when it accepts them."""
    allowed, info = device.verify_is_allowed()
    if allowed:
        return 0
    locked_until = (info or {}).get("locked_until")
    if locked_until is None:
        return 1
    return max(1, math.ceil((locked_until - timezone.now()).total_seconds()))


_MODULE = re.compile(r"M(\d+),(\d+)H(\d+)V(\d+)H(\d+)z")


def _merge_module_runs(path: str) -> str:
    """qrcode draws one square per dark module ("M4,4H5V5H4z"); merge each row's runs into one
    rectangle, which makes the enrolment page about three times lighter. Unknown formats pass through."""
    squares = _MODULE.findall(path)
    if not squares or "".join(f"M{x},{y}H{x2}V{y2}H{x3}z" for x, y, x2, y2, x3 in squares) != path:
        return path
    runs: list[list[int]] = []  # [x, y, width]
    for x, y, x2, y2, x3 in squares:
        x, y, x2 = int(x), int(y), int(x2)
        if int(y2) != y + 1 or int(x3) != x or x2 != x + 1:
            return path
        if runs and runs[-1][1] == y and runs[-1][0] + runs[-1][2] == x:
            runs[-1][2] += 1
        else:
            runs.append([x, y, 1])
    return "".join(f"M{x} {y}h{w}v1h-{w}z" for x, y, w in runs)


def qr_code_svg(data: str, label: str) -> SafeString:
    """An inline SVG QR code drawn here (never by an outside service); no namespace URL, no fixed size."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathFillImage, border=4)
    root = image.get_image()
    for attribute in ("xmlns", "width", "height"):
        root.attrib.pop(attribute, None)
    for path in root.iter("path"):
        path.set("d", _merge_module_runs(path.get("d", "")))
    root.set("class", "qr")
    root.set("role", "img")
    root.set("aria-label", label)
    # Everything in the SVG is generated here; the label is escaped by ElementTree.
    return mark_safe(ET.tostring(root, encoding="unicode"))  # noqa: S308


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _complete_second_factor(request: HttpRequest, device: TOTPDevice) -> None:
    request.session.cycle_key()  # a new session id for the now fully signed-in session
    otp_login(request, device)


@never_cache
@login_required
def two_factor(request: HttpRequest) -> HttpResponse:
    user = request.user
    next_url = _safe_next(request, reverse("core:home"))
    if second_factor_done(user):
        return redirect(next_url)

    device = TOTPDevice.objects.devices_for_user(user, confirmed=True).order_by("pk").first()
    enrolling = device is None
    if enrolling:
        device = start_totp_enrolment(user)

    form = TOTPCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        wait = _throttled_for(device)
        if wait:
            form.add_error(
                "code",
                ngettext(
                    "Too many wrong codes. Wait %(seconds)d second, then enter the newest code.",
                    "Too many wrong codes. Wait %(seconds)d seconds, then enter the newest code.",
                    wait,
                )
                % {"seconds": wait},
            )
        else:
            code = form.cleaned_data["code"]
            if enrolling:
                ok = confirm_totp_enrolment(user, device, code)
            else:
                ok = verify_token(user, device.persistent_id, code) is not None
            if ok:
                device.refresh_from_db()
                _complete_second_factor(request, device)
                if enrolling:
                    messages.success(
                        request,
                        _(
                            "Two-factor sign-in is set up. You will need your authenticator app every time you sign in."
                        ),
                    )
                return HttpResponseRedirect(next_url)
            record_wrong_second_factor(user)
            form.add_error(
                "code",
                _(
                    "That code is not right. Check that your phone's clock is correct and enter the newest code."
                ),
            )

    context: dict[str, Any] = {"form": form, "enrolling": enrolling, "next": next_url}
    if enrolling:
        context["qr_svg"] = qr_code_svg(
            device.config_url, _("QR code to add Amparo to your authenticator app")
        )
        context["secret"] = _grouped(b32encode(device.bin_key).decode("ascii"))
    status = 400 if form.errors else 200
    return render(request, "core/two_factor.html", context, status=status)


# ---------------------------------------------------------------------------
# Home


@dataclass(frozen=True)
class Ability:
    """One thing the user may do, shown on the home page; `url` is empty for pages not built yet."""

    label: str
    url: str = ""


# Other apps add their entries to the home page (core imports none of them): each registers a
# function user -> list of Ability from its AppConfig.ready().
_home_links: list[Callable[[Any], list[Ability]]] = []


def register_home_links(links: Callable[[Any], list[Ability]], *, first: bool = False) -> None:
    """`first`: the entries lead the page, before core's own (the case list is the daily work)."""
    if links not in _home_links and links not in _leading_links:
        (_leading_links if first else _home_links).append(links)


_leading_links: list[Callable[[Any], list[Ability]]] = []


def abilities_for(user: Any) -> list[Ability]:
    found: list[Ability] = []
    for links in _leading_links:
        found.extend(links(user))
    if can(user, CorePermission.USER_MANAGE) or can(user, CorePermission.AGENCY_MANAGE):
        found.append(Ability(gettext_lazy("Manage users and agencies"), reverse("admin:index")))
    if can(user, CorePermission.AUDIT_READ):
        found.append(Ability(gettext_lazy("Read the audit log")))
    for links in _home_links:
        found.extend(links(user))
    return found


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    roles = sorted((Role(r).label for r in user.roles if r in Role.values), key=str)
    context = {
        "display_name": user.get_full_name() or user.get_username(),
        "agency": user.agency,
        "roles": roles,
        "abilities": abilities_for(user),
        "verified": bool(getattr(user, "is_verified", None) and user.is_verified()),
    }
    return render(request, "core/home.html", context)
