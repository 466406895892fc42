"""The victim rights information package on the case page: the panel "rights" with the printable
PDF, a preview of the web page and the SMS text, the form to record that the package was given, and
sending the SMS version to the reporter's consented number (when intake registered a sender).

The reporter's own web page, opened with the receipt, is served by intake (it owns receipts) and renders
`cases/rights_public.html` with `public_context` below.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from amparo.cases import rights
from amparo.cases.access import get_case_for_user
from amparo.cases.actions.rights import record_rights_delivery, rights_pdf, send_rights_sms
from amparo.cases.models import Case, DeliveryMethod, Person, PersonRole, RightsAudience
from amparo.cases.panels import Panel, register_panel
from amparo.cases.permissions import RightsPermission
from amparo.cases.rights_content import content_language
from amparo.cases.timeline import register_timeline_source
from amparo.core.policy import can
from amparo.lib import gsm

# ---------------------------------------------------------------------------
# Forms


class PackageForm(forms.Form):
    audience = forms.ChoiceField(label=gettext_lazy("For"), choices=RightsAudience.choices)
    language = forms.ChoiceField(label=gettext_lazy("Language"), choices=settings.LANGUAGES)


def _person_label(person: Person) -> str:
    return _("%(role)s, %(age)s") % {"role": person.get_role_display(), "age": person.get_age_band_display()}


class DeliveryForm(PackageForm):
    method = forms.ChoiceField(label=gettext_lazy("How"), choices=DeliveryMethod.choices)
    person = forms.ModelChoiceField(
        label=gettext_lazy("To whom"),
        queryset=Person.objects.none(),
        required=False,
        empty_label=gettext_lazy("Not named"),
    )

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = case.persons.filter(
            role__in=[PersonRole.VICTIM, PersonRole.CAREGIVER]
        )
        self.fields["person"].label_from_instance = _person_label


def _initial_language() -> str:
    code = get_language() or settings.LANGUAGE_CODE
    return code if code in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


# ---------------------------------------------------------------------------
# Shared by the staff preview and the reporter's page


def public_context(package: rights.RightsPackage) -> dict[str, Any]:
    """What `cases/rights_package.html` needs to show `package`."""
    return {"package": package, "package_lang": package.language}


def sms_preview(package: rights.RightsPackage) -> dict[str, Any]:
    text = rights.sms_text(package)
    seg = gsm.segment(text)
    return {"text": text, "parts": seg.parts, "encoding": seg.encoding, "characters": len(text)}


# ---------------------------------------------------------------------------
# Panel


def panel_context(request: HttpRequest, case: Case, sections: frozenset[str]) -> dict[str, Any] | None:
    user = request.user
    if not can(user, RightsPermission.EXPORT_PACKAGE, case):
        return None
    initial = {"language": _initial_language(), "audience": RightsAudience.CAREGIVER}
    can_record = can(user, RightsPermission.RECORD_DELIVERY, case)
    return {
        "rights_deliveries": list(case.rights_deliveries.select_related("delivered_by", "person")),
        "package_form": PackageForm(initial=initial, auto_id="rights-package-%s"),
        "delivery_form": DeliveryForm(case=case, initial=initial, auto_id="rights-delivery-%s")
        if can_record
        else None,
        "sms_form": PackageForm(initial=initial, auto_id="rights-sms-%s")
        if rights.sms_sender() is not None and can(user, RightsPermission.SEND_SMS, case)
        else None,
    }


register_panel(Panel(key="rights", order=30, template="cases/rights_panel.html", context=panel_context))
register_timeline_source(rights.rights_history)


# ---------------------------------------------------------------------------
# Views


def _detail(case: Case) -> HttpResponse:
    return redirect(reverse("cases:detail", args=[case.reference]) + "#rights")


def _package_choice(request: HttpRequest, case: Case) -> tuple[str, str] | None:
    form = PackageForm(request.GET)
    if not form.is_valid():
        return None
    return form.cleaned_data["audience"], form.cleaned_data["language"]


@login_required
@never_cache
@require_GET
def package_pdf(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for_user(request.user, reference)
    choice = _package_choice(request, case)
    if choice is None:
        messages.error(request, _("Choose for whom and in which language."))
        return _detail(case)
    audience, language = choice
    data = rights_pdf(request.user, case, audience=audience, language=language)
    response = HttpResponse(data, content_type="application/pdf")
    # Inline, so that a phone opens it; the file name says nothing about the case.
    response["Content-Disposition"] = f'inline; filename="amparo-{audience}-{content_language(language)}.pdf"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@never_cache
@require_GET
def package_preview(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for_user(request.user, reference)
    if not can(request.user, RightsPermission.EXPORT_PACKAGE, case):
        raise PermissionDenied
    choice = _package_choice(request, case)
    if choice is None:
        messages.error(request, _("Choose for whom and in which language."))
        return _detail(case)
    audience, language = choice
    package = rights.build_package(case, audience, language)
    context = {
        "case": case,
        "audience": audience,
        "language": language,
        "fell_back": content_language(language) != language,
        "sms": sms_preview(package),
        "max_parts": rights.MAX_SMS_PARTS,
        **public_context(package),
    }
    return render(request, "cases/rights_preview.html", context)


@login_required
@require_POST
def delivery_record(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for_user(request.user, reference)
    if not can(request.user, RightsPermission.RECORD_DELIVERY, case):
        raise PermissionDenied
    form = DeliveryForm(request.POST, case=case)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return _detail(case)
    data = form.cleaned_data
    try:
        record_rights_delivery(
            request.user,
            case,
            audience=data["audience"],
            method=data["method"],
            language=data["language"],
            person=data["person"],
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The delivery of the rights information was recorded."))
    return _detail(case)


@login_required
@require_POST
def sms_send(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for_user(request.user, reference)
    if not can(request.user, RightsPermission.SEND_SMS, case):
        raise PermissionDenied
    form = PackageForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose for whom and in which language."))
        return _detail(case)
    try:
        send_rights_sms(
            request.user, case, audience=form.cleaned_data["audience"], language=form.cleaned_data["language"]
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The SMS with the rights information was queued and recorded."))
    return _detail(case)


urlpatterns = [
    path("<str:reference>/rights/package.pdf", package_pdf, name="rights_pdf"),
    path("<str:reference>/rights/preview/", package_preview, name="rights_preview"),
    path("<str:reference>/rights/deliveries/", delivery_record, name="rights_delivery"),
    path("<str:reference>/rights/sms/", sms_send, name="rights_sms"),
]
