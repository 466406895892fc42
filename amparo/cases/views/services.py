"""The service directory (`/cases/services/`, any staff user; filter by province, district and type) and
service referrals on a case: the case-page panel "services" (shown only with the case's services section)
with the forms to refer a child or family to a service and to record what came of it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from amparo.cases.access import get_case_for_user
from amparo.cases.actions.services import record_service_outcome, refer_to_service
from amparo.cases.models import (
    Case,
    Person,
    Service,
    ServiceKind,
    ServiceOutcome,
    ServiceReferral,
    ShareableField,
)
from amparo.cases.panels import Panel, register_panel
from amparo.cases.permissions import CasePermission, ServicePermission
from amparo.cases.services import directory, service_history
from amparo.cases.timeline import register_timeline_source
from amparo.cases.visibility import visible_sections
from amparo.core.models import District, Province
from amparo.core.policy import can

SERVICES_PER_PAGE = 50


# ---------------------------------------------------------------------------
# Forms


class DirectoryFilter(forms.Form):
    province = forms.ModelChoiceField(
        label=gettext_lazy("Province"),
        queryset=Province.objects.all(),
        required=False,
        empty_label=gettext_lazy("All provinces"),
    )
    district = forms.ModelChoiceField(
        label=gettext_lazy("District"),
        queryset=District.objects.select_related("province"),
        required=False,
        empty_label=gettext_lazy("All districts"),
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Type"),
        choices=[("", gettext_lazy("All types")), *ServiceKind.choices],
        required=False,
    )


def services_for_case(case: Case) -> QuerySet[Service]:
    """The services offered when referring from a case: the case's district and province, and national
    ones (the directory page finds any other)."""
    place = Q(is_national=True)
    if case.district_id:
        place |= Q(district_id=case.district_id)
    if case.province_id:
        place |= Q(province_id=case.province_id, district__isnull=True)
    return directory().filter(place).order_by("-district_id", "is_national", "kind", "name")


def _person_label(person: Person) -> str:
    return _("%(role)s, %(age)s") % {"role": person.get_role_display(), "age": person.get_age_band_display()}


class ServiceReferralForm(forms.Form):
    service = forms.ModelChoiceField(
        label=gettext_lazy("Service"),
        queryset=Service.objects.none(),
        error_messages={"invalid_choice": gettext_lazy("Choose one of the services offered.")},
    )
    person = forms.ModelChoiceField(
        label=gettext_lazy("For"),
        queryset=Person.objects.none(),
        required=False,
        empty_label=gettext_lazy("The child and family"),
    )
    reason = forms.CharField(
        label=gettext_lazy("Why"),
        max_length=2000,
        required=False,  # the action says what is missing
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = services_for_case(case)
        self.fields["service"].label_from_instance = lambda s: f"{s.name} — {s.get_kind_display()}"
        self.fields["person"].queryset = case.persons.exclude(role="offender")
        self.fields["person"].label_from_instance = _person_label


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(
        label=gettext_lazy("Outcome"),
        choices=[c for c in ServiceOutcome.choices if c[0] != ServiceOutcome.PENDING],
        error_messages={"invalid_choice": gettext_lazy("Choose one of the outcomes offered.")},
    )
    note = forms.CharField(label=gettext_lazy("Note"), max_length=2000, required=False)


# ---------------------------------------------------------------------------
# The directory


@login_required
@require_GET
def directory_page(request: HttpRequest) -> HttpResponse:
    if not can(request.user, ServicePermission.LIST_DIRECTORY):
        raise PermissionDenied
    form = DirectoryFilter(request.GET or None)
    services = directory()
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        if data["district"] is not None:
            district = data["district"]
            services = services.filter(
                Q(district=district)
                | Q(province_id=district.province_id, district__isnull=True)
                | Q(is_national=True)
            )
        elif data["province"] is not None:
            services = services.filter(Q(province=data["province"]) | Q(is_national=True))
        if data["kind"]:
            services = services.filter(kind=data["kind"])
    services = services.order_by("-is_national", "province_id", "district_id", "kind", "name")
    page = Paginator(services, SERVICES_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "cases/services_directory.html", {"form": form, "page": page})


# ---------------------------------------------------------------------------
# Service referrals on a case


def _case_with_services(request: HttpRequest, reference: str) -> Case:
    case = get_case_for_user(request.user, reference)
    if ShareableField.SERVICES not in visible_sections(request.user, case):
        raise PermissionDenied
    return case


def _errors(request: HttpRequest, form: forms.Form) -> None:
    for field_errors in form.errors.values():
        for error in field_errors:
            messages.error(request, error)


@login_required
@require_POST
def service_refer(request: HttpRequest, reference: str) -> HttpResponse:
    case = _case_with_services(request, reference)
    if not can(request.user, ServicePermission.REFER, case):
        raise PermissionDenied
    form = ServiceReferralForm(request.POST, case=case)
    if not form.is_valid():
        _errors(request, form)
        return redirect("cases:detail", reference=case.reference)
    data = form.cleaned_data
    try:
        refer_to_service(
            request.user, case, service=data["service"], reason=data["reason"], person=data["person"]
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, _("The referral to %(service)s was recorded.") % {"service": data["service"].name}
        )
    return redirect("cases:detail", reference=case.reference)


@login_required
@require_POST
def service_outcome(request: HttpRequest, reference: str, referral_id: Any) -> HttpResponse:
    case = _case_with_services(request, reference)
    referral = ServiceReferral.objects.select_related("service").filter(pk=referral_id, case=case).first()
    if referral is None:
        raise Http404
    if not can(request.user, ServicePermission.RECORD_OUTCOME, referral):
        raise PermissionDenied
    form = OutcomeForm(request.POST)
    if not form.is_valid():
        _errors(request, form)
        return redirect("cases:detail", reference=case.reference)
    try:
        record_service_outcome(
            request.user, referral, outcome=form.cleaned_data["outcome"], note=form.cleaned_data["note"]
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The outcome was recorded."))
    return redirect("cases:detail", reference=case.reference)


def panel_context(request: HttpRequest, case: Case, sections: frozenset[str]) -> dict[str, Any] | None:
    if ShareableField.SERVICES not in sections:
        return None
    user = request.user
    can_refer = can(user, ServicePermission.REFER, case)
    referrals = list(case.service_referrals.select_related("service", "person", "referred_by"))
    return {
        "service_referrals": referrals,
        "service_form": ServiceReferralForm(case=case) if can_refer else None,
        "outcome_choices": OutcomeForm.base_fields["outcome"].choices if can_refer else None,
        "show_free_text": can(user, CasePermission.READ_IDENTITY, case),
    }


register_panel(Panel(key="services", order=20, template="cases/services_panel.html", context=panel_context))
register_timeline_source(service_history)

urlpatterns = [
    path("services/", directory_page, name="services"),
    path("<str:reference>/services/refer/", service_refer, name="service_refer"),
    path(
        "<str:reference>/services/<uuid:referral_id>/outcome/",
        service_outcome,
        name="service_outcome",
    ),
]
