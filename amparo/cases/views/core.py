"""Case pages: the case list, the case page (facts, timeline, panels, and the forms of case work: status,
notes, priority, assignment, referral), the referrals inbox and the overdue lists.

Cases are loaded only through amparo.cases.access (outsiders get 404, reads are audited) or listed through
amparo.cases.policy.visible_cases; what of a case is shown follows amparo.cases.visibility (the sections a
referral shared) and the identity right; writes go through amparo.cases.actions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from amparo.cases import deadlines
from amparo.cases.access import get_case_for_user, get_referral_for_user
from amparo.cases.actions import (
    add_note,
    assign_case,
    decide_referral,
    refer_with_consent,
    revoke_referral,
    set_priority,
    transition_case,
)
from amparo.cases.forms import (
    AssignForm,
    DecideForm,
    NoteForm,
    PriorityForm,
    ReferForm,
    RevokeForm,
    TransitionForm,
)
from amparo.cases.history import consent_summary
from amparo.cases.models import (
    IDENTIFYING_PERSON_FIELDS,
    Case,
    Referral,
    ReferralStatus,
    ShareableField,
)
from amparo.cases.panels import panels
from amparo.cases.permissions import CaseAudit, CasePermission
from amparo.cases.policy import visible_cases
from amparo.cases.relations import exclude_merged
from amparo.cases.taxonomy import RiskFlag
from amparo.cases.timeline import timeline
from amparo.cases.visibility import visible_sections
from amparo.cases.workflow import ALLOWED, Status, TransitionError
from amparo.core import audit
from amparo.core.models import User
from amparo.core.policy import can, in_scope
from amparo.core.roles import IDENTITY_ROLES, Role

CASES_PER_PAGE = 50
REFERRALS_SHOWN = 50


@login_required
@require_GET
def case_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    # Duplicates merged into another case leave the list (their page still opens, with a banner).
    cases = (
        exclude_merged(visible_cases(user)).prefetch_related("forms").order_by("-received_at", "reference")
    )
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


# Apps that depend on cases (intake, evidence, …) add links to the case page without cases
# importing them: each registers a function (user, case) -> list of (label, url) in ready().
CaseLinks = Callable[[Any, Case], list[tuple[str, str]]]
_case_links: list[CaseLinks] = []


def register_case_links(links: CaseLinks) -> None:
    if links not in _case_links:
        _case_links.append(links)


IDENTITY_SECTION = {
    "victim": ShareableField.VICTIM_IDENTITY,
    "caregiver": ShareableField.CAREGIVER_IDENTITY,
    "offender": ShareableField.OFFENDER_IDENTITY,
    "reporter": ShareableField.REPORTER_IDENTITY,
}


def eligible_assignees(case: Case) -> Any:
    """The people a case may be assigned to: everyone who may work on it (owning agency and agencies
    holding it through an accepted referral, case roles, in scope)."""
    agencies = {case.owning_agency_id} | set(
        case.referrals.filter(status=ReferralStatus.ACCEPTED).values_list("to_agency_id", flat=True)
    )
    candidates = User.objects.filter(agency_id__in=agencies, is_active=True).select_related("agency")
    return User.objects.filter(
        pk__in=[u.pk for u in candidates if can(u, CasePermission.WRITE, case)]
    ).order_by("username")


def _referrals_for(user: Any, case: Case) -> list[Referral]:
    """The owning agency sees every referral of the case; a receiving agency only those made to it."""
    referrals = case.referrals.select_related("from_agency", "to_agency", "consent", "created_by")
    if case.owning_agency_id != user.agency_id:
        referrals = referrals.filter(to_agency_id=user.agency_id)
    return list(referrals)


@login_required
@require_http_methods(["GET", "POST"])
def case_detail(request: HttpRequest, reference: str) -> HttpResponse:
    if request.method == "POST":
        return _change_status(request, reference)
    user = request.user
    case = get_case_for_user(user, reference)
    sections = visible_sections(user, case)
    show_identity = can(user, CasePermission.READ_IDENTITY, case)
    show_narrative = show_identity and ShareableField.NARRATIVE in sections
    persons = [
        (person, show_identity and IDENTITY_SECTION.get(person.role) in sections)
        for person in case.persons.all()
    ]
    entries = timeline(user, case, sections)
    referrals = _referrals_for(user, case)
    is_owner = case.owning_agency_id == user.agency_id
    shown_panels = _rendered_panels(request, case, sections)
    if show_identity:
        _record_identity_read(user, case, show_narrative, persons, entries, referrals)
    transition_form = _transition_form(user, case)
    can_refer = can(user, CasePermission.REFER, case)
    now = timezone.now()
    context = {
        "case": case,
        "forms": [f.get_form_display() for f in case.forms.all()],
        "platforms": [p.get_platform_display() for p in case.platforms.all()],
        "risk_flags": _risk_labels(case.risk_flags or []),
        "persons": persons,
        "show_identity": show_identity,
        "show_narrative": show_narrative,
        "narrative_shared": ShareableField.NARRATIVE in sections,
        "entries": entries,
        "referrals": referrals,
        "is_owner": is_owner,
        "sections": sections,
        "shared_labels": [label for code, label in ShareableField.choices if code in sections],
        "panels": shown_panels,
        "missed": deadlines.missed(case, now),
        "next_deadline": deadlines.next_deadline(case),
        "now": now,
        "transition_form": transition_form,
        "note_form": NoteForm()
        if can(user, CasePermission.WRITE, case) and ShareableField.NOTES in sections
        else None,
        "priority_form": PriorityForm(initial={"priority": case.priority})
        if can(user, CasePermission.SET_PRIORITY, case)
        else None,
        "assign_form": AssignForm(
            eligible=eligible_assignees(case), initial={"assignee": case.assigned_to_id}
        )
        if can(user, CasePermission.REASSIGN, case)
        else None,
        "refer_form": ReferForm(owning_agency=case.owning_agency, initial={"urgency": case.priority})
        if can_refer
        else None,
        "can_revoke": can_refer,
        "links": [link for links in _case_links for link in links(user, case)],
    }
    return render(request, "cases/case_detail.html", context)


def _rendered_panels(request: HttpRequest, case: Case, sections: Any) -> list[str]:
    """The case page's panels (amparo.cases.panels) that have something to show this reader."""
    shown = []
    for panel in panels():
        panel_context = panel.context(request, case, sections)
        if panel_context is not None:
            shown.append(
                render_to_string(
                    panel.template, {"case": case, "sections": sections, **panel_context}, request=request
                )
            )
    return shown


def _record_identity_read(
    user: Any, case: Case, show_narrative: bool, persons: list[Any], entries: list[Any], referrals: list[Any]
) -> None:
    """An audited read naming the identifying fields the page shows (none shown: nothing recorded)."""
    shown = []
    if show_narrative and case.narrative:
        shown.append("narrative")
    for field in IDENTIFYING_PERSON_FIELDS:
        if any(visible and getattr(p, field) for p, visible in persons):
            shown.append(f"person.{field}")
    shown += sorted({f"{e.kind}.detail" for e in entries if e.identifying and e.detail})
    if any(r.reason for r in referrals):
        shown.append("referral.reason")
    if shown:
        audit.record_read(user, CaseAudit.VIEW_IDENTITY, case, shown)


def _transition_form(user: Any, case: Case) -> TransitionForm | None:
    if not can(user, CasePermission.TRANSITION, case):
        return None
    next_statuses = _next_statuses(case)
    if not next_statuses:
        return None
    form = TransitionForm()
    form.limit_to(next_statuses)
    return form


def _report_errors(request: HttpRequest, errors: Any) -> None:
    for field_errors in errors.values():
        for error in field_errors:
            messages.error(request, error)


def _change_status(request: HttpRequest, reference: str) -> HttpResponse:
    # 404 for an outsider, 403 (PermissionDenied) for a reader who may not change the status.
    case = get_case_for_user(request.user, reference, CasePermission.TRANSITION)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        _report_errors(request, form.errors)
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


@login_required
@require_POST
def note_add(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for_user(request.user, reference, CasePermission.WRITE)
    if ShareableField.NOTES not in visible_sections(request.user, case):
        raise PermissionDenied
    form = NoteForm(request.POST)
    if not form.is_valid():
        _report_errors(request, form.errors)
        return redirect("cases:detail", reference=case.reference)
    try:
        add_note(request.user, case, form.cleaned_data["text"])
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The note was added."))
    return redirect("cases:detail", reference=case.reference)


@login_required
@require_POST
def priority_change(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for_user(request.user, reference, CasePermission.SET_PRIORITY)
    form = PriorityForm(request.POST)
    if not form.is_valid():
        _report_errors(request, form.errors)
        return redirect("cases:detail", reference=case.reference)
    try:
        set_priority(request.user, case, form.cleaned_data["priority"], reason=form.cleaned_data["reason"])
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("The priority is now %(priority)s; the time limits were recomputed.")
            % {"priority": case.get_priority_display()},
        )
    return redirect("cases:detail", reference=case.reference)


@login_required
@require_POST
def assign(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for_user(request.user, reference, CasePermission.REASSIGN)
    form = AssignForm(request.POST, eligible=eligible_assignees(case))
    if not form.is_valid():
        _report_errors(request, form.errors)
        return redirect("cases:detail", reference=case.reference)
    assignee = form.cleaned_data["assignee"]
    try:
        assign_case(request.user, case, assignee)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if assignee is None:
            messages.success(request, _("The case is no longer assigned to anyone."))
        else:
            messages.success(
                request, _("The case is now assigned to %(name)s.") % {"name": assignee.get_username()}
            )
    return redirect("cases:detail", reference=case.reference)


@login_required
@require_POST
def refer(request: HttpRequest, reference: str) -> HttpResponse:
    """Record the consent (or legal basis) and make the referral, together or not at all."""
    user = request.user
    case = get_case_for_user(user, reference, CasePermission.REFER)
    form = ReferForm(request.POST, owning_agency=case.owning_agency)
    if not form.is_valid():
        _report_errors(request, form.errors)
        return redirect("cases:detail", reference=case.reference)
    data = form.cleaned_data
    try:
        refer_with_consent(
            user,
            case,
            data["to_agency"],
            reason=data["reason"],
            new_consent={
                "purpose": _("Referral to %(agency)s") % {"agency": data["to_agency"].short_name},
                "child_consent": data["child_consent"],
                "caregiver_consent": data["caregiver_consent"],
                "legal_basis": data["legal_basis"],
                "justification": data["justification"],
            },
            shared_fields=data["shared_fields"],
            urgency=data["urgency"],
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("The case was referred to %(agency)s. It gains access only if it accepts.")
            % {"agency": data["to_agency"].short_name},
        )
    return redirect("cases:detail", reference=case.reference)


@login_required
@require_POST
def referral_decide(request: HttpRequest, referral_id: Any) -> HttpResponse:
    user = request.user
    referral = get_referral_for_user(user, referral_id, CasePermission.DECIDE_REFERRAL)
    form = DecideForm(request.POST)
    if not form.is_valid():
        _report_errors(request, form.errors)
        return redirect("cases:referrals")
    accept = form.cleaned_data["decision"] == "accept"
    try:
        decide_referral(user, referral, accept=accept, reason=form.cleaned_data["reason"])
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("cases:referrals")
    if accept:
        messages.success(request, _("Referral accepted: the case is now open to your agency."))
        return redirect("cases:detail", reference=referral.case.reference)
    messages.success(request, _("Referral declined."))
    return redirect("cases:referrals")


@login_required
@require_POST
def referral_revoke(request: HttpRequest, referral_id: Any) -> HttpResponse:
    user = request.user
    referral = get_referral_for_user(user, referral_id, CasePermission.REFER)
    form = RevokeForm(request.POST)
    form.is_valid()
    try:
        revoke_referral(user, referral, reason=form.cleaned_data.get("reason", ""))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, _("The referral to %(agency)s was revoked.") % {"agency": referral.to_agency.short_name}
        )
    return redirect("cases:detail", reference=referral.case.reference)


@login_required
@require_GET
def referral_inbox(request: HttpRequest) -> HttpResponse:
    """Referrals to the user's agency waiting for an answer (with the facts needed to decide), the latest
    answered ones, and the latest made by the user's agency."""
    user = request.user
    if not can(user, CasePermission.LIST):
        raise PermissionDenied
    # The cases are not open to the receiving agency yet: the reason written for it is free text,
    # shown to identity roles as everywhere else.
    show_identity = bool(user.roles & IDENTITY_ROLES)
    base = Referral.objects.select_related(
        "case", "case__province", "case__district", "from_agency", "to_agency", "consent"
    ).prefetch_related("case__forms", "case__platforms")

    def in_my_scope(referral: Referral) -> bool:
        return in_scope(user, referral.case.province_id, referral.case.district_id)

    waiting = [
        r
        for r in base.filter(to_agency_id=user.agency_id, status=ReferralStatus.PENDING).order_by(
            "respond_by", "created_at"
        )
        if in_my_scope(r)
    ]
    answered = [
        r
        for r in base.filter(to_agency_id=user.agency_id)
        .exclude(status=ReferralStatus.PENDING)
        .order_by("-decided_at")[:REFERRALS_SHOWN]
        if in_my_scope(r)
    ]
    sent = [
        r
        for r in base.filter(from_agency_id=user.agency_id).order_by("-created_at")[:REFERRALS_SHOWN]
        if in_my_scope(r)
    ]
    now = timezone.now()
    rows = [
        {
            "referral": r,
            "shared": [label for code, label in ShareableField.choices if code in (r.shared_fields or ())],
            "consent": consent_summary(r.consent) if r.consent_id else "",
            "late": r.respond_by is not None and r.respond_by < now,
            "decide_form": DecideForm(auto_id=False),
        }
        for r in waiting
    ]
    fields = ["referral.reason"] if show_identity and any(r.reason for r in waiting) else []
    audit.record_read(user, CaseAudit.REFERRAL_LIST, None, fields)
    context = {
        "rows": rows,
        "answered": answered,
        "sent": sent,
        "show_identity": show_identity,
        "now": now,
    }
    return render(request, "cases/referral_inbox.html", context)


def _person_filter(request: HttpRequest) -> Any:
    """The colleague a supervisor chose (`?person=<id>`): a member of their own agency, else 404."""
    value = request.GET.get("person", "")
    if not value:
        return None
    if not request.user.has_role(Role.AGENCY_SUPERVISOR):
        raise PermissionDenied
    try:
        pk = User._meta.pk.to_python(value)
    except ValidationError:
        raise Http404 from None
    person = User.objects.filter(pk=pk, agency_id=request.user.agency_id).first()
    if person is None:
        raise Http404
    return person


@login_required
@require_GET
def overdue_list(request: HttpRequest) -> HttpResponse:
    """Cases past a time limit: the agency's own (default), those assigned to the user (`?mine=1`), or
    for a supervisor those assigned to one colleague (`?person=<id>`), with the colleagues who have
    overdue cases listed to choose from."""
    user = request.user
    if not can(user, CasePermission.LIST):
        raise PermissionDenied
    mine = request.GET.get("mine") == "1"
    person = None if mine else _person_filter(request)
    now = timezone.now()
    agency_cases = visible_cases(user).filter(owning_agency_id=user.agency_id)
    if mine:
        cases = visible_cases(user).filter(assigned_to=user)
    elif person is not None:
        cases = agency_cases.filter(assigned_to=person)
    else:
        cases = agency_cases
    overdue = (
        deadlines.overdue_cases(cases, now)
        .select_related("assigned_to")
        .prefetch_related("forms")
        .order_by("acknowledge_due_at", "action_due_at", "reference")
    )
    people: list[Any] = []
    if not mine and user.has_role(Role.AGENCY_SUPERVISOR):
        late_ids = deadlines.overdue_cases(agency_cases, now).values("assigned_to_id")
        people = list(User.objects.filter(pk__in=late_ids).order_by("username"))
    page = Paginator(overdue, CASES_PER_PAGE).get_page(request.GET.get("page"))
    rows = [m for case in page.object_list for m in deadlines.missed(case, now)]
    late_referrals = [
        r
        for r in Referral.objects.filter(
            to_agency_id=user.agency_id, status=ReferralStatus.PENDING, respond_by__lt=now
        )
        .select_related("case", "from_agency")
        .order_by("respond_by")
        if in_scope(user, r.case.province_id, r.case.district_id)
    ]
    audit.record_read(
        user, CaseAudit.LIST, None, ["overdue", "assigned_to"] if mine or person else ["overdue"]
    )
    context = {
        "rows": rows,
        "page": page,
        "mine": mine,
        "person": person,
        "people": people,
        "late_referrals": [] if mine or person else late_referrals,
        "now": now,
    }
    return render(request, "cases/overdue_list.html", context)


@login_required
@require_GET
def my_cases(request: HttpRequest) -> HttpResponse:
    """The open cases assigned to the user, the next time limit first."""
    user = request.user
    if not can(user, CasePermission.LIST):
        raise PermissionDenied
    now = timezone.now()
    cases = (
        deadlines.open_cases(visible_cases(user).filter(assigned_to=user))
        .prefetch_related("forms")
        .order_by("action_due_at", "reference")
    )
    page = Paginator(cases, CASES_PER_PAGE).get_page(request.GET.get("page"))
    rows = [
        {"case": case, "next": deadlines.next_deadline(case), "missed": deadlines.missed(case, now)}
        for case in page.object_list
    ]
    rows.sort(key=lambda row: (not row["missed"], row["next"][1] if row["next"] else now))
    audit.record_read(user, CaseAudit.LIST, None, ["assigned_to"])
    return render(request, "cases/casework_mine.html", {"rows": rows, "page": page, "now": now})


urlpatterns = [
    path("", case_list, name="list"),
    path("overdue/", overdue_list, name="overdue"),
    path("mine/", my_cases, name="mine"),
    path("referrals/", referral_inbox, name="referrals"),
    path("referrals/<uuid:referral_id>/decide/", referral_decide, name="referral_decide"),
    path("referrals/<uuid:referral_id>/revoke/", referral_revoke, name="referral_revoke"),
    path("<str:reference>/notes/", note_add, name="note_add"),
    path("<str:reference>/priority/", priority_change, name="priority"),
    path("<str:reference>/assign/", assign, name="assign"),
    path("<str:reference>/refer/", refer, name="refer"),
    path("<str:reference>/", case_detail, name="detail"),
]


def case_list_link(user: Any) -> list[Any]:
    """The first entry of the staff home page (registered with amparo.core.views in ready())."""
    from amparo.core.views import Ability

    if not can(user, CasePermission.LIST):
        return []
    return [Ability(gettext_lazy("Open the case list"), reverse("cases:list"))]


def home_links(user: Any) -> list[Any]:
    """Case work entries of the staff home page (registered with amparo.core.views in ready())."""
    from amparo.core.views import Ability

    if not can(user, CasePermission.LIST):
        return []
    return [
        Ability(gettext_lazy("Referrals to and from your agency"), reverse("cases:referrals")),
        Ability(gettext_lazy("Overdue cases"), reverse("cases:overdue")),
        Ability(gettext_lazy("My cases"), reverse("cases:mine")),
    ]
