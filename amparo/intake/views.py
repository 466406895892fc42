"""Pages of the intake app: the public report and follow-up (no sign-in, no JavaScript needed, no
personal data in URLs, nothing about the device stored), and the staff helpline console, desk and
triage queue. Views parse input, check access, call amparo.intake.actions, and render.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case as When_
from django.db.models import IntegerField, Value, When
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from amparo.cases.access import get_case_for_user
from amparo.cases.models import PRIORITY_ORDER, Case, Person
from amparo.cases.permissions import CasePermission
from amparo.cases.policy import visible_cases
from amparo.cases.workflow import Status, TransitionError
from amparo.core import audit
from amparo.core.client import client_address
from amparo.core.policy import can
from amparo.intake import actions, forms, receipts
from amparo.intake.models import CaseLink, Channel, ChannelKind, Report
from amparo.intake.permissions import IntakeAudit, IntakePermission
from amparo.intake.ratelimit import Limit, check_and_consume, first_refused
from amparo.lib.env import env_int

WEB = actions.WEB
STEPS = ("who", "what", "where", "send")
URGENT = "urgent"  # the screen shown after "who" when a child is in danger now
STEP_FORMS = {"who": forms.WhoStep, "what": forms.WhatStep, "where": forms.WhereStep, "send": forms.SendStep}


def _limit(name: str, default: int) -> int:
    return env_int(name, default, minimum=1)


def _client(request: HttpRequest) -> str:
    """What a per-client limit is keyed on. Only its keyed hash reaches the database (ratelimit)."""
    return client_address(request) or "unknown"


def _allowed(request: HttpRequest, scope: str, per_client: int, overall: int) -> bool:
    """Per-client bucket first (a flood from one client does not drain the global one), then global."""
    return check_and_consume(f"{scope}:client", _client(request), rate=per_client, per_seconds=3600) and (
        check_and_consume(f"{scope}:all", "all", rate=overall, per_seconds=60)
    )


# A request body larger than one screenshot plus the form is refused before Django parses it.
MAX_PUBLIC_BODY_BYTES = actions.MAX_ATTACHMENT_BYTES + 256 * 1024


def _too_large(request: HttpRequest) -> bool:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > MAX_PUBLIC_BODY_BYTES
    except ValueError:
        return True


def _too_many(request: HttpRequest) -> HttpResponse:
    return render(request, "intake/public_throttled.html", status=429)


# ---------------------------------------------------------------------------
# Public report


def _public_render(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    response = render(request, template, context, status=status)
    response["Cache-Control"] = "no-store"  # a shared phone's back button must not show a report
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest) -> HttpResponse:
    """The multi-step report. Each POST validates one step and carries the answers so far, signed."""
    if request.method == "GET":
        return _public_render(
            request, "intake/report_step.html", _step_context("who", forms.WhoStep(), _fresh())
        )
    if _too_large(request):
        return _public_render(request, "intake/public_too_large.html", {}, status=413)
    state = forms.load_state(request.POST.get("state", ""))
    step = request.POST.get("step", "who")
    if step == URGENT and state is not None and state.get("done_who"):
        # The reporter has seen the numbers to call and goes on with the report.
        return _public_render(
            request, "intake/report_step.html", _step_context("what", _bound_from_state("what", state), state)
        )
    if state is None or step not in STEPS:
        ctx = _step_context("who", forms.WhoStep(), _fresh())
        ctx["restart"] = True
        return _public_render(request, "intake/report_step.html", ctx, status=400)
    if "back" in request.POST:
        previous = STEPS[max(STEPS.index(step) - 1, 0)]
        return _public_render(
            request,
            "intake/report_step.html",
            _step_context(previous, _bound_from_state(previous, state), state),
        )
    form = _step_form(step, state, request.POST, request.FILES if step == "send" else None)
    if not form.is_valid():
        return _public_render(
            request, "intake/report_step.html", _step_context(step, form, state), status=400
        )
    if step != "send":
        state.update(_serialisable(step, form.cleaned_data))
        if step == "who" and state.get("immediate_danger") == "yes":
            # Before anything else: whom to call now. Then the report goes on, and is filed at the
            # highest priority with the reason on it.
            return _public_render(request, "intake/report_urgent.html", {"state": forms.dump_state(state)})
        following = STEPS[STEPS.index(step) + 1]
        return _public_render(
            request,
            "intake/report_step.html",
            _step_context(following, _bound_from_state(following, state), state),
        )
    if form.cleaned_data.get("website"):
        # A bot filled in the hidden field: answer as if sent, store nothing.
        return _public_render(
            request, "intake/report_done.html", {"receipt": receipts.display(receipts.new_receipt())}
        )
    missing = [s for s in STEPS[:-1] if f"done_{s}" not in state]
    if missing:
        ctx = _step_context(missing[0], _bound_from_state(missing[0], state), state)
        return _public_render(request, "intake/report_step.html", ctx, status=400)
    # Per client, then overall (a flood from one client does not drain the global bucket), in one short
    # transaction of their own: shared buckets locked until a report's commit would queue every report
    # behind the one before. Then one report per filled-in form: sending the last page again (a reload)
    # does not make a second one. The form's random nonce is kept only as a keyed hash in an expiring
    # bucket, taken in the transaction that stores the report: a report that fails to store takes no
    # token and the same form can be sent again.
    if first_refused(
        Limit("web:report:client", _client(request), _limit("AMPARO_WEB_REPORTS_PER_CLIENT_HOUR", 20), 3600),
        Limit("web:report:all", "all", _limit("AMPARO_WEB_REPORTS_PER_MINUTE", 300), 60),
    ):
        return _too_many(request)
    once = Limit("web:report:once", state.get("nonce") or _new_nonce(), 1, forms.STATE_MAX_AGE)
    data = form.cleaned_data
    province, district = forms.place_from_state(state)
    try:
        submitted = actions.submit_web_report(
            owning_agency=actions.default_web_agency(),
            forms=state.get("forms", []),
            platforms=state.get("platforms", []),
            who_affected=state.get("who_affected", "unknown"),
            province=province,
            district=district,
            narrative=data.get("narrative", ""),
            link_or_account=state.get("link_or_account", ""),
            incident_when=state.get("incident_when", ""),
            callback_phone=data.get("callback_phone", "") if data.get("contact") == "callback" else "",
            callback_consented=data.get("contact") == "callback",
            language=(get_language() or "pt")[:8],
            immediate_danger=state.get("immediate_danger") == "yes",
            attachment=data.get("attachment"),
            limits=[once],
        )
    except ValidationError as exc:
        form.add_error(None, exc)
        state["nonce"] = _new_nonce()  # nothing was stored: the corrected form may be sent
        return _public_render(
            request, "intake/report_step.html", _step_context(step, form, state), status=400
        )
    if submitted.refused is not None:
        # This very form was stored before (the receipt was lost in transit, or the page was sent twice):
        # the report is safe, so say so calmly; its receipt is never shown a second time.
        return _public_render(request, "intake/report_already_sent.html", {})
    return _public_render(
        request,
        "intake/report_done.html",
        {"receipt": receipts.display(submitted.receipt), "immediate": state.get("immediate_danger") == "yes"},
    )


def _new_nonce() -> str:
    return secrets.token_urlsafe(16)


def _fresh() -> dict[str, Any]:
    return {"nonce": _new_nonce()}


def _serialisable(step: str, data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {f"done_{step}": True}
    for key, value in data.items():
        if key == "district_obj":
            continue
        if key == "province":
            out[key] = value.pk if value is not None else ""
        else:
            out[key] = value
    return out


def _bound_from_state(step: str, state: dict[str, Any]) -> Any:
    """The form of a step pre-filled with what was answered before (going back loses nothing)."""
    form_class = STEP_FORMS[step]
    if step == "send" or not state.get(f"done_{step}"):
        return _step_form(step, state)
    initial = {name: state.get(name) for name in form_class.base_fields if name in state}
    return _step_form(step, state, initial=initial)


def _step_form(step: str, state: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
    """A step's form; the "what" step is worded for whom the report is about."""
    if step == "what":
        kwargs["who"] = state.get("who_affected")
    return STEP_FORMS[step](*args, **kwargs)


def _step_context(step: str, form: Any, state: dict[str, Any]) -> dict[str, Any]:
    return {
        "step": step,
        "step_number": STEPS.index(step) + 1,
        "step_count": len(STEPS),
        "form": form,
        "state": forms.dump_state(state),
        "first": step == STEPS[0],
        "last": step == STEPS[-1],
    }


@require_GET
def front_door(request: HttpRequest) -> HttpResponse:
    """`/`: the public front door. Reporting first, then following a report up, the SMS and USSD codes
    of the active channels, the numbers to call, and a discreet way in for staff."""
    channels = Channel.objects.filter(active=True, kind__in=[ChannelKind.SMS, ChannelKind.USSD])
    codes = [(c.kind, c.short_code) for c in channels.only("kind", "short_code") if c.short_code]
    return _public_render(
        request,
        "intake/front_door.html",
        {
            "sms_codes": sorted({code for kind, code in codes if kind == ChannelKind.SMS}),
            # A USSD code is dialled: "#" must be escaped in a tel: link.
            "ussd_codes": [
                (code, "tel:" + code.replace("#", "%23"))
                for code in sorted({code for kind, code in codes if kind == ChannelKind.USSD})
            ],
        },
    )


@require_GET
def report_exit(request: HttpRequest) -> HttpResponse:
    """The quick exit: straight on to a neutral page outside Amparo. No page of ours is shown on the
    way, and the address we leave from is not sent on."""
    response = HttpResponseRedirect(settings.AMPARO_QUICK_EXIT_URL)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


# ---------------------------------------------------------------------------
# Public follow-up


@never_cache
@require_http_methods(["GET", "POST"])
def follow_up(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _public_render(request, "intake/follow_up.html", {"form": forms.ReceiptForm()})
    if _too_large(request):
        return _public_render(request, "intake/public_too_large.html", {}, status=413)
    replying = "text" in request.POST or "attachment" in request.FILES
    form = forms.ReplyForm(request.POST, request.FILES) if replying else forms.ReceiptForm(request.POST)
    if not form.is_valid():
        return _public_render(request, "intake/follow_up.html", {"form": form}, status=400)
    if form.cleaned_data.get("website"):
        return _public_render(
            request, "intake/follow_up.html", {"form": forms.ReceiptForm(), "not_found": True}, status=404
        )
    if not _allowed(
        request,
        "web:follow-up",
        _limit("AMPARO_FOLLOW_UP_PER_CLIENT_HOUR", 30),
        _limit("AMPARO_FOLLOW_UP_PER_MINUTE", 120),
    ):
        return _too_many(request)
    receipt = form.cleaned_data["receipt"]
    sent = False
    if replying:
        try:
            sent = actions.add_reporter_reply(
                WEB,
                receipt,
                form.cleaned_data.get("text", ""),
                attachment=form.cleaned_data.get("attachment"),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
            return _public_render(request, "intake/follow_up.html", {"form": form}, status=400)
    view = actions.reporter_status(receipt, actor=WEB) if (sent or not replying) else None
    if view is None:
        # The same answer whatever the reason: nothing says whether the receipt exists.
        return _public_render(
            request, "intake/follow_up.html", {"form": forms.ReceiptForm(), "not_found": True}, status=404
        )
    current = view.new_receipt or receipt
    return _public_render(
        request,
        "intake/follow_up_status.html",
        {
            "view": view,
            "sent": sent,
            "new_receipt": receipts.display(view.new_receipt) if view.new_receipt else "",
            "reply_form": forms.ReplyForm(initial={"receipt": current}),
        },
    )


@never_cache
@require_POST
def rights(request: HttpRequest) -> HttpResponse:
    """The victim rights information package for the reporter's case, opened with the receipt (POSTed
    from the follow-up page: never in the URL). The page, or its PDF with format=pdf; recorded on the
    case as a delivery by the web (amparo.cases.actions.rights)."""
    from amparo.cases.actions.rights import open_rights_page
    from amparo.cases.models import RightsAudience
    from amparo.cases.rights_content import content_language

    form = forms.ReceiptForm(request.POST)
    not_found = {"form": forms.ReceiptForm(), "not_found": True}
    if not form.is_valid():
        return _public_render(request, "intake/follow_up.html", not_found, status=404)
    if not _allowed(
        request,
        "web:follow-up",
        _limit("AMPARO_FOLLOW_UP_PER_CLIENT_HOUR", 30),
        _limit("AMPARO_FOLLOW_UP_PER_MINUTE", 120),
    ):
        return _too_many(request)
    receipt = form.cleaned_data["receipt"]
    report = receipts.lookup(receipt)
    if report is None or report.case is None:
        return _public_render(request, "intake/follow_up.html", not_found, status=404)
    audience = request.POST.get("audience", "")
    audience = audience if audience in RightsAudience.values else RightsAudience.CAREGIVER
    language = get_language() or "pt"
    pdf = request.POST.get("format") == "pdf"
    package, data = open_rights_page(
        WEB, report.case, audience=audience, language=language, receipt=receipts.display(receipt), pdf=pdf
    )
    if data is not None:
        response = HttpResponse(data, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="amparo-{audience}.pdf"'
        response["Cache-Control"] = "no-store"
        return response
    context = {
        "package": package,
        "package_lang": package.language,
        "fell_back": content_language(language) != language,
        "receipt_value": receipt,
        "pdf_action": reverse("intake:rights"),
    }
    return _public_render(request, "cases/rights_public.html", context)


# ---------------------------------------------------------------------------
# Staff: helpline console and desk


def _contact_page(request: HttpRequest, *, desk: bool) -> HttpResponse:
    user = request.user
    if not can(user, IntakePermission.DESK_RECORD if desk else IntakePermission.HELPLINE_RECORD):
        raise PermissionDenied
    form = forms.ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            done = actions.record_contact(
                user,
                desk=desk,
                immediate_danger=data["immediate_danger"] == "yes",
                caller_type=data["caller_type"],
                forms=data["forms"],
                platforms=data["platforms"],
                who_affected=data["who_affected"],
                province=data["province"],
                district=data["district"],
                action_taken=data["action_taken"],
                suggested_agency=data["suggested_agency"],
                narrative=data["narrative"],
                link_or_account=data["link_or_account"],
                callback_phone=data["callback_phone"],
                callback_consented=data["callback_consented"],
                language=(get_language() or "pt")[:8],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            response = render(
                request,
                "intake/contact_done.html",
                {"desk": desk, "receipt": receipts.display(done.receipt), "case": done.case},
            )
            response["Cache-Control"] = "no-store"
            return response
    status = 400 if request.method == "POST" else 200
    return render(request, "intake/contact.html", {"form": form, "desk": desk}, status=status)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def console(request: HttpRequest) -> HttpResponse:
    return _contact_page(request, desk=False)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def desk(request: HttpRequest) -> HttpResponse:
    return _contact_page(request, desk=True)


# ---------------------------------------------------------------------------
# Staff: triage


def _references_by_index(rows: Any, index_field: str, wanted: set[str]) -> dict[str, set[str]]:
    """Case references grouped by a blind index value (an empty `wanted` set costs no query)."""
    grouped: dict[str, set[str]] = {}
    if wanted:
        for index, ref in rows.values_list(index_field, "case__reference"):
            grouped.setdefault(index, set()).add(ref)
    return grouped


def evidence_hash_matches(user: Any, cases: list[Case]) -> dict[Any, set[str]]:
    """Hook for issue 5 (evidence vault): case id → references of visible cases sharing an evidence hash."""
    return {}


def duplicate_suggestions(user: Any, cases: list[Case]) -> dict[Any, list[str]]:
    """Case id → references of other cases the user can see that share a call-back phone (with a
    report or a person), a platform account or link (blind indexes), or an evidence hash."""
    reports = {r.case_id: r for r in Report.objects.filter(case__in=cases)}
    phones = {r.callback_phone_index for r in reports.values() if r.callback_phone_index}
    links = {r.link_index for r in reports.values() if r.link_index}
    visible = visible_cases(user)
    by_phone = _references_by_index(
        Report.objects.filter(case__in=visible, callback_phone_index__in=phones),
        "callback_phone_index",
        phones,
    )
    for index, refs in _references_by_index(
        Person.objects.filter(case__in=visible, phone_index__in=phones), "phone_index", phones
    ).items():
        by_phone.setdefault(index, set()).update(refs)
    by_link = _references_by_index(
        Report.objects.filter(case__in=visible, link_index__in=links), "link_index", links
    )
    evidence = evidence_hash_matches(user, cases)
    out: dict[Any, list[str]] = {}
    for case in cases:
        report = reports.get(case.pk)
        found: set[str] = set(evidence.get(case.pk, set()))
        if report is not None:
            found |= (
                by_phone.get(report.callback_phone_index, set()) if report.callback_phone_index else set()
            )
            found |= by_link.get(report.link_index, set()) if report.link_index else set()
        found.discard(case.reference)
        out[case.pk] = sorted(found)
    return out


@login_required
@require_GET
def triage(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not can(user, IntakePermission.TRIAGE):
        raise PermissionDenied
    priority_rank = When_(
        *[When(priority=p, then=Value(rank)) for p, rank in PRIORITY_ORDER.items()],
        default=Value(9),
        output_field=IntegerField(),
    )
    cases = list(
        visible_cases(user)
        .filter(status=Status.RECEIVED, owning_agency_id=user.agency_id)
        .select_related("intake_report", "district")
        .prefetch_related("forms")
        .annotate(rank=priority_rank)
        .order_by("rank", "received_at")[:200]
    )
    audit.record_read(user, IntakeAudit.TRIAGE_LIST, None)
    duplicates = duplicate_suggestions(user, cases)
    now = timezone.now()
    rows = [
        {
            "case": case,
            "age_hours": int((now - case.received_at).total_seconds() // 3600),
            "report": getattr(case, "intake_report", None),
            "duplicates": duplicates.get(case.pk, []),
        }
        for case in cases
    ]
    context = {
        "rows": rows,
        "refer_form": forms.ReferForm(auto_id=False),
        "not_ocsea_form": forms.NotOcseaForm(),
        "merge_form": forms.MergeForm(),
        "stalled": actions.intake_stalled(),
    }
    return render(request, "intake/triage.html", context)


def _triage_case(request: HttpRequest, reference: str) -> Case:
    case = get_case_for_user(request.user, reference, CasePermission.WRITE)
    if not can(request.user, IntakePermission.TRIAGE, case):
        raise PermissionDenied
    return case


@login_required
@require_POST
def triage_action(request: HttpRequest, reference: str, action: str) -> HttpResponse:
    user = request.user
    case = _triage_case(request, reference)
    try:
        if action == "accept":
            actions.accept_report(user, case)
            messages.success(request, _("Case %(reference)s accepted.") % {"reference": case.reference})
        elif action == "not-ocsea":
            form = forms.NotOcseaForm(request.POST)
            if not form.is_valid():
                raise ValidationError(_("Give a reason for marking the report as not OCSEA."))
            actions.mark_not_ocsea(user, case, form.cleaned_data["reason"])
            messages.success(
                request, _("Case %(reference)s closed as not OCSEA.") % {"reference": case.reference}
            )
        elif action == "refer":
            form = forms.ReferForm(request.POST)
            if not form.is_valid():
                raise ValidationError(_("Choose an agency and give a reason for the referral."))
            data = form.cleaned_data
            actions.refer_from_triage(
                user,
                case,
                data["to_agency"],
                data["reason"],
                child_consent=data["child_consent"],
                caregiver_consent=data["caregiver_consent"],
                legal_basis=data["legal_basis"],
                justification=data["justification"],
                shared_fields=data["shared_fields"],
            )
            messages.success(request, _("Case %(reference)s referred.") % {"reference": case.reference})
        elif action == "merge":
            form = forms.MergeForm(request.POST)
            existing_ref = form.data.get("existing", "").strip().upper()
            existing = visible_cases(user).filter(reference=existing_ref).first()
            if existing is None:
                raise ValidationError(_("No case of your agency has that reference."))
            actions.merge_into(user, case, existing)
            messages.success(
                request,
                _("Case %(reference)s merged with %(existing)s.")
                % {"reference": case.reference, "existing": existing.reference},
            )
        elif action == "unmerge":
            link = CaseLink.objects.filter(case=case, undone_at__isnull=True).first()
            if link is None:
                raise ValidationError(_("This case is not merged with another."))
            actions.undo_merge(user, link)
            messages.success(
                request, _("The merge of case %(reference)s was undone.") % {"reference": case.reference}
            )
        else:
            raise PermissionDenied
    except (ValidationError, TransitionError) as exc:
        messages.error(request, " ".join(exc.messages) if hasattr(exc, "messages") else str(exc))
    return redirect("intake:triage")


@login_required
@require_http_methods(["GET", "POST"])
def reporter_messages(request: HttpRequest, reference: str) -> HttpResponse:
    """Staff write to a case's anonymous reporter and read the replies."""
    user = request.user
    case = get_case_for_user(user, reference, CasePermission.WRITE)
    if not can(user, IntakePermission.MESSAGE_REPORTER, case):
        raise PermissionDenied
    form = forms.StaffMessageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.staff_message_reporter(user, case, form.cleaned_data["text"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request, _("Message saved. The reporter will see it when they check with their receipt.")
            )
            return redirect(reverse("intake:reporter_messages", args=[case.reference]))
    thread = actions.read_reporter_messages(user, case)
    return render(
        request,
        "intake/reporter_messages.html",
        {
            "case": case,
            "thread": thread,
            "form": form,
            "has_report": actions.report_for_case(case) is not None,
        },
        status=400 if request.method == "POST" else 200,
    )
