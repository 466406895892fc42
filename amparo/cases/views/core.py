"""Case pages (minimal; the full case workspace comes later).

Cases are loaded only through amparo.cases.access (outsiders get 404, reads are audited) or
listed through amparo.cases.policy.visible_cases; writes go through amparo.cases.actions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from amparo.cases.access import get_case_for_user
from amparo.cases.actions import transition_case
from amparo.cases.forms import TransitionForm
from amparo.cases.models import IDENTIFYING_PERSON_FIELDS, Case
from amparo.cases.permissions import CaseAudit, CasePermission
from amparo.cases.policy import visible_cases
from amparo.cases.taxonomy import RiskFlag
from amparo.cases.workflow import ALLOWED, Status, TransitionError
from amparo.core import audit
from amparo.core.policy import can

CASES_PER_PAGE = 50


@login_required
@require_GET
def case_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    cases = visible_cases(user).prefetch_related("forms").order_by("-received_at", "reference")
    status = request.GET.get("status", "")
    if status in Status.values:
        cases = cases.filter(status=status)
    else:
        status = ""
    page = Paginator(cases, CASES_PER_PAGE).get_page(request.GET.get("page"))
    audit.record_read(user, CaseAudit.LIST, None, ["status"] if status else ())
    context = {
        "page": page,
        "status": status,
        "statuses": Status.choices,
        "works_on_cases": can(user, CasePermission.LIST),
    }
    return render(request, "cases/case_list.html", context)


def _risk_labels(codes: list[str]) -> list[str]:
    return [str(RiskFlag(code).label) if code in RiskFlag.values else code for code in codes]


def _next_statuses(case: Case) -> list[str]:
    allowed = ALLOWED.get(case.status, frozenset())
    return [s for s in Status.values if s in allowed]


def _identity_fields_shown(
    case: Case, persons: list[Any], transitions: list[Any], referrals: list[Any]
) -> list[str]:
    """The names of the identifying fields the page is about to show (only those with a value)."""
    shown = []
    if case.narrative:
        shown.append("narrative")
    for field in IDENTIFYING_PERSON_FIELDS:
        if any(getattr(p, field) for p in persons):
            shown.append(f"person.{field}")
    # Free-text reasons may name people too.
    if any(t.reason for t in transitions):
        shown.append("transition.reason")
    if any(r.reason for r in referrals):
        shown.append("referral.reason")
    return shown


# Apps that depend on cases (intake, evidence, …) add links to the case page without cases
# importing them: each registers a function (user, case) -> list of (label, url) in ready().
CaseLinks = Callable[[Any, Case], list[tuple[str, str]]]
_case_links: list[CaseLinks] = []


def register_case_links(links: CaseLinks) -> None:
    if links not in _case_links:
        _case_links.append(links)


@login_required
@require_http_methods(["GET", "POST"])
def case_detail(request: HttpRequest, reference: str) -> HttpResponse:
    if request.method == "POST":
        return _change_status(request, reference)
    user = request.user
    case = get_case_for_user(user, reference)
    persons = list(case.persons.all())
    transitions = list(case.transitions.select_related("actor"))
    referrals = list(case.referrals.select_related("from_agency", "to_agency"))
    show_identity = can(user, CasePermission.READ_IDENTITY, case)
    if show_identity:
        shown = _identity_fields_shown(case, persons, transitions, referrals)
        if shown:
            audit.record_read(user, CaseAudit.VIEW_IDENTITY, case, shown)

    transition_form = None
    if can(user, CasePermission.TRANSITION, case):
        next_statuses = _next_statuses(case)
        if next_statuses:
            transition_form = TransitionForm()
            transition_form.limit_to(next_statuses)

    context = {
        "case": case,
        "forms": [f.get_form_display() for f in case.forms.all()],
        "platforms": [p.get_platform_display() for p in case.platforms.all()],
        "risk_flags": _risk_labels(case.risk_flags or []),
        "persons": persons,
        "transitions": transitions,
        "referrals": referrals,
        "show_identity": show_identity,
        "transition_form": transition_form,
        "links": [link for links in _case_links for link in links(user, case)],
    }
    return render(request, "cases/case_detail.html", context)


def _change_status(request: HttpRequest, reference: str) -> HttpResponse:
    # 404 for an outsider, 403 (PermissionDenied) for a reader who may not change the status.
    case = get_case_for_user(request.user, reference, CasePermission.TRANSITION)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("cases:detail", reference=case.reference)
    data = form.cleaned_data
    try:
        transition_case(request.user, case, data["to_status"], reason=data["reason"], outcome=data["outcome"])
    except TransitionError as error:
        messages.error(request, str(error))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, _("The status of the case is now: %(status)s.") % {"status": case.get_status_display()}
        )
    return redirect("cases:detail", reference=case.reference)
