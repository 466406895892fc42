"""Case pages for justice work: the justice record, interviews of the child, preservation and
disclosure requests (with their letter and the agency's list), and the case dossier export.

Each area is a panel of the case page (amparo.cases.panels) with its form; a form posted with a mistake is
shown again on a page of its own with what was typed and what is wrong. Cases are loaded through
amparo.cases.access; writes go through amparo.cases.actions.justice.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from amparo.cases import preservation as preservation_rules
from amparo.cases.access import get_case_for_user
from amparo.cases.actions import justice as actions
from amparo.cases.dossier import export_dossier
from amparo.cases.forms import AnswerForm, InterviewForm, JusticeEventForm, PreservationForm
from amparo.cases.interviews import repeat_interview_warning
from amparo.cases.justice import permission_for, suggested_transition
from amparo.cases.letters import preservation_letter
from amparo.cases.models import (
    Case,
    JusticeEventKind,
    PreservationRequest,
    PreservationStatus,
    ShareableField,
)
from amparo.cases.panels import Panel, register_panel
from amparo.cases.permissions import CasePermission, JusticeAudit, JusticePermission
from amparo.cases.policy import visible_cases
from amparo.cases.visibility import visible_sections
from amparo.cases.workflow import Outcome, Status
from amparo.core import audit
from amparo.core.policy import can

# --- Panels --------------------------------------------------------------------------------------------


def _recordable_kinds(user: Any, case: Case) -> list[str]:
    return [k for k in JusticeEventKind.values if can(user, permission_for(k), case)]


def _suggestion(user: Any, case: Case, events: list[Any]) -> dict[str, Any] | None:
    if not events or not can(user, CasePermission.TRANSITION, case):
        return None
    target = suggested_transition(case, events[-1])
    if target is None:
        return None
    status, outcome = target
    return {
        "status": status,
        "status_label": Status(status).label,
        "outcome": outcome,
        "outcome_label": Outcome(outcome).label if outcome else "",
    }


def justice_panel(request: HttpRequest, case: Case, sections: frozenset[str]) -> dict[str, Any] | None:
    if ShareableField.JUSTICE not in sections:
        return None
    user = request.user
    events = list(case.justice_events.select_related("recorded_by"))
    kinds = _recordable_kinds(user, case)
    form = None
    if kinds:
        form = JusticeEventForm()
        form.limit_to(kinds)
    return {
        "case": case,
        "justice_events": events,
        "justice_form": form,
        "justice_suggestion": _suggestion(user, case, events),
        "show_identity": can(user, CasePermission.READ_IDENTITY, case),
    }


def interviews_panel(request: HttpRequest, case: Case, sections: frozenset[str]) -> dict[str, Any] | None:
    if ShareableField.INTERVIEWS not in sections:
        return None
    user = request.user
    show_identity = can(user, CasePermission.READ_IDENTITY, case)
    form = None
    if can(user, JusticePermission.RECORD_INTERVIEW, case):
        form = InterviewForm(
            case=case, show_identity=show_identity and ShareableField.VICTIM_IDENTITY in sections
        )
    return {
        "case": case,
        "interviews": list(case.interviews.select_related("interviewer")),
        "interview_warning": repeat_interview_warning(case),
        "interview_form": form,
        "show_identity": show_identity,
    }


def preservation_panel(request: HttpRequest, case: Case, sections: frozenset[str]) -> dict[str, Any] | None:
    if ShareableField.JUSTICE not in sections:
        return None
    user = request.user
    requests = list(
        case.preservation_requests.select_related("provider", "created_by").order_by("-created_at")
    )
    show_identifiers = can(user, CasePermission.READ_IDENTITY, case)
    if show_identifiers and requests:
        audit.record_read(
            user, JusticeAudit.PRESERVATION_VIEW_IDENTIFIERS, case, ["preservation.identifiers"]
        )
    today = timezone.localdate()
    rows = [
        {
            "request": r,
            "overdue": preservation_rules.is_overdue(r, today),
            "can_send": r.status == PreservationStatus.DRAFT and _may_send(user, r),
            "can_answer": r.status in (*preservation_rules.OPEN, PreservationStatus.EXPIRED)
            and can(user, JusticePermission.ANSWER_PRESERVATION, r),
            "answer_form": AnswerForm(auto_id=f"answer-{r.pk}-%s"),
        }
        for r in requests
    ]
    form = PreservationForm() if can(user, JusticePermission.REQUEST_PRESERVATION, case) else None
    return {
        "case": case,
        "preservation_rows": rows,
        "preservation_form": form,
        "show_identifiers": show_identifiers,
        "can_list_preservation": can(user, JusticePermission.LIST_PRESERVATION),
    }


def dossier_panel(request: HttpRequest, case: Case, sections: frozenset[str]) -> dict[str, Any] | None:
    if not can(request.user, JusticePermission.EXPORT_DOSSIER, case):
        return None
    return {"case": case}


register_panel(Panel("justice", 40, "cases/justice_panel.html", justice_panel))
register_panel(Panel("interviews", 45, "cases/interview_panel.html", interviews_panel))
register_panel(Panel("preservation", 50, "cases/preservation_panel.html", preservation_panel))
register_panel(Panel("dossier", 90, "cases/dossier_panel.html", dossier_panel))


def _may_send(user: Any, request: PreservationRequest) -> bool:
    return (
        can(user, JusticePermission.REQUEST_PRESERVATION, request.case)
        and request.created_by is not None
        and request.created_by.agency_id == user.agency_id
    )


# --- Writes --------------------------------------------------------------------------------------------


def _detail(case: Case, anchor: str) -> HttpResponse:
    return redirect(reverse("cases:detail", args=[case.reference]) + f"#{anchor}")


def _form_page(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    return render(request, template, context, status=400)


@login_required
@require_POST
def justice_event_create(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for_user(request.user, reference)
    kinds = _recordable_kinds(request.user, case)
    if not kinds or ShareableField.JUSTICE not in _sections(request.user, case):
        raise PermissionDenied
    form = JusticeEventForm(request.POST)
    form.limit_to(kinds)
    if form.is_valid():
        data = form.cleaned_data
        try:
            event = actions.record_justice_event(
                request.user,
                case,
                kind=data["kind"],
                occurred_at=data["occurred_at"],
                court_case_number=data["court_case_number"],
                court_name=data["court_name"],
                verdict=data["verdict"],
                sentence=data["sentence"],
                amount_mzn=data["amount_mzn"],
                details=data["details"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("The justice event was recorded."))
            target = suggested_transition(case, event)
            if target and can(request.user, CasePermission.TRANSITION, case):
                messages.info(
                    request,
                    _("You may now change the status of the case to: %(status)s.")
                    % {"status": Status(target[0]).label},
                )
            return _detail(case, "justice")
    return _form_page(request, "cases/justice_event_form.html", {"case": case, "justice_form": form})


def _sections(user: Any, case: Case) -> frozenset[str]:
    return visible_sections(user, case)


@login_required
@require_POST
def interview_create(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for_user(request.user, reference)
    if not can(request.user, JusticePermission.RECORD_INTERVIEW, case):
        raise PermissionDenied
    sections = _sections(request.user, case)
    show_identity = can(request.user, CasePermission.READ_IDENTITY, case) and (
        ShareableField.VICTIM_IDENTITY in sections
    )
    form = InterviewForm(request.POST, case=case, show_identity=show_identity)
    warning = repeat_interview_warning(case)
    if form.is_valid():
        data = form.cleaned_data
        person = form.children.get(data["person"]) if data["person"] else None
        warning = repeat_interview_warning(case, person)
        try:
            actions.record_interview(
                request.user,
                case,
                person=person,
                occurred_at=data["occurred_at"],
                interviewer=request.user if data["by_me"] else None,
                interviewer_name=data["interviewer_name"],
                interviewer_trained=data["interviewer_trained"],
                support_person_present=data["support_person_present"],
                support_person_role=data["support_person_role"],
                recorded=data["recorded"],
                recording_reference=data["recording_reference"],
                place=data["place"],
                purpose=data["purpose"],
                notes=data["notes"],
                confirm_repeat=data["confirm_repeat"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("The interview was recorded."))
            return _detail(case, "interviews")
    context = {"case": case, "interview_form": form, "interview_warning": warning}
    return _form_page(request, "cases/interview_form.html", context)


@login_required
@require_POST
def preservation_create(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for_user(request.user, reference, JusticePermission.REQUEST_PRESERVATION)
    form = PreservationForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            created = actions.create_preservation_request(
                request.user,
                case,
                provider=data["provider"],
                kind=data["kind"],
                identifiers=data["identifiers"],
                date_from=data["date_from"],
                date_to=data["date_to"],
                legal_basis=data["legal_basis"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("Request %(number)s prepared. Print its letter, send it, then mark it as sent.")
                % {"number": created.number},
            )
            return _detail(case, "preservation")
    return _form_page(request, "cases/preservation_form.html", {"case": case, "preservation_form": form})


def _request_of(case: Case, request_id: Any) -> PreservationRequest:
    found = (
        case.preservation_requests.select_related("provider", "created_by", "case")
        .filter(pk=request_id)
        .first()
    )
    if found is None:
        raise Http404
    return found


@login_required
@require_POST
def preservation_send(request: HttpRequest, reference: str, request_id: Any) -> HttpResponse:
    case = get_case_for_user(request.user, reference)
    found = _request_of(case, request_id)
    try:
        actions.send_preservation_request(request.user, found)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("Request %(number)s marked as sent; the answer is due on %(deadline)s.")
            % {"number": found.number, "deadline": found.deadline.isoformat()},
        )
    return _detail(case, "preservation")


@login_required
@require_POST
def preservation_answer(request: HttpRequest, reference: str, request_id: Any) -> HttpResponse:
    case = get_case_for_user(request.user, reference)
    found = _request_of(case, request_id)
    form = AnswerForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose one of the answers offered."))
        return _detail(case, "preservation")
    try:
        actions.answer_preservation_request(
            request.user, found, status=form.cleaned_data["status"], note=form.cleaned_data["note"]
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The provider's answer was recorded."))
    return _detail(case, "preservation")


@login_required
@never_cache
@require_GET
def preservation_letter_download(request: HttpRequest, reference: str, request_id: Any) -> HttpResponse:
    case = get_case_for_user(request.user, reference, CasePermission.READ_IDENTITY)
    found = _request_of(case, request_id)
    response = HttpResponse(preservation_letter(request.user, found), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{found.number}.pdf"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@never_cache
@require_GET
def preservation_list(request: HttpRequest) -> HttpResponse:
    """The agency's requests to service providers, overdue first (no identifiers on this page)."""
    user = request.user
    if not can(user, JusticePermission.LIST_PRESERVATION):
        raise PermissionDenied
    qs = PreservationRequest.objects.filter(
        created_by__agency_id=user.agency_id, case__in=visible_cases(user)
    ).select_related("provider", "case", "created_by")
    status = request.GET.get("status", "")
    if status in PreservationStatus.values:
        qs = qs.filter(status=status)
    else:
        status = ""
    today = timezone.localdate()
    page = Paginator(preservation_rules.with_overdue_first(qs, today), 50).get_page(request.GET.get("page"))
    audit.record_read(user, JusticeAudit.PRESERVATION_LIST, None, ["status"] if status else ())
    rows = [{"request": r, "overdue": preservation_rules.is_overdue(r, today)} for r in page]
    context = {"page": page, "rows": rows, "status": status, "statuses": PreservationStatus.choices}
    return render(request, "cases/preservation_list.html", context)


@login_required
@never_cache
@require_POST
def dossier_export(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for_user(request.user, reference, JusticePermission.EXPORT_DOSSIER)
    content = export_dossier(request.user, case)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M")
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="dossier-{case.reference}-{stamp}.pdf"'
    response["Cache-Control"] = "no-store"
    return response


urlpatterns = [
    path("preservation/", preservation_list, name="preservation_list"),
    path("<str:reference>/justice/events/", justice_event_create, name="justice_event_create"),
    path("<str:reference>/interviews/", interview_create, name="interview_create"),
    path("<str:reference>/preservation/", preservation_create, name="preservation_create"),
    path("<str:reference>/preservation/<uuid:request_id>/send/", preservation_send, name="preservation_send"),
    path(
        "<str:reference>/preservation/<uuid:request_id>/answer/",
        preservation_answer,
        name="preservation_answer",
    ),
    path(
        "<str:reference>/preservation/<uuid:request_id>/letter.pdf",
        preservation_letter_download,
        name="preservation_letter",
    ),
    path("<str:reference>/dossier.pdf", dossier_export, name="dossier_export"),
]
