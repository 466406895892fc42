"""Observatory pages: the dashboard, the monthly bulletin download, research extract requests and
the national action tracker with its training register.

Every figure on these pages comes from :mod:`amparo.observatory.compute`, which returns counts
already passed through disclosure control, arranged in sections by :mod:`amparo.observatory.figures`;
the pages only ever render ``Cell.display()`` and the rates the computation allows. Each chart has its
table beneath it and a text alternative.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from amparo.core.models import Agency, District, Province
from amparo.core.policy import can
from amparo.lib.disclosure import Cell
from amparo.observatory import actions, compute, maps, snapshots, tracker
from amparo.observatory import extract as extract_rules
from amparo.observatory import indicators as registry
from amparo.observatory.access import (
    dashboard_scope,
    get_action_for_user,
    get_extract_for_user,
    require_tracker,
    visible_extracts,
)
from amparo.observatory.extract import ExtractPermission
from amparo.observatory.figures import REPORTS, Section, district_section, figures, map_legend, section_from
from amparo.observatory.models import ActionStatus, Milestone, TrainingRole
from amparo.observatory.permissions import ObservatoryPermission
from amparo.observatory.tracker import TrackerPermission

# ---------------------------------------------------------------------------------------------
# Filters


def period_choices(today: dt.date | None = None) -> list[tuple[str, str]]:
    """Periods offered in the filter: the last 12 months, the last 4 quarters and the last 3 years."""
    today = today or timezone.localdate()
    choices: list[tuple[str, str]] = []
    for back in range(3):
        year = str(today.year - back)
        choices.append((year, compute.Period.parse(year).label()))
    y, q = today.year, (today.month - 1) // 3 + 1
    for _n in range(4):
        code = f"{y}Q{q}"
        choices.append((code, compute.Period.parse(code).label()))
        q -= 1
        if q == 0:
            y, q = y - 1, 4
    y, m = today.year, today.month
    for _n in range(12):
        code = f"{y}-{m:02d}"
        choices.append((code, compute.Period.parse(code).label()))
        m -= 1
        if m == 0:
            y, m = y - 1, 12
    return choices


# ---------------------------------------------------------------------------------------------
# Dashboard


def _period_from(request: HttpRequest) -> Any:
    raw = request.GET.get("period", "")
    if raw:
        try:
            return compute.Period.parse(raw)
        except (ValueError, TypeError):
            pass
    return compute.Period.parse(str(timezone.localdate().year))


def _explore(
    request: HttpRequest, period: Any, reader: snapshots.Reader, linked: dict[str, Any]
) -> tuple[Section | None, dict]:
    """The free view: any available indicator by any of its disaggregations."""
    available = [i for i in registry.all_indicators() if i.available]
    code = request.GET.get("indicator", "")
    by = request.GET.get("by", "")
    indicator = next((i for i in available if i.code == code), None)
    state = {"indicators": available, "indicator": indicator, "by": by}
    if indicator is None:
        return None, state
    dims = (by,) if by in indicator.disaggregations and indicator.kind != "funnel" else ()
    state["by"] = dims[0] if dims else ""
    kind = "map" if dims and dims[0] in (registry.PROVINCE, registry.DISTRICT) else "bars"
    if indicator.code == REPORTS and dims and dims[0] in linked:
        # The same protected table as the overview below, never a second, differently suppressed one.
        result = linked[dims[0]]
    else:
        result = reader.result(indicator.code, period, dims)
    if tuple(result.by) == (registry.DISTRICT,) and district_section(result) is None:
        # Most districts would be withheld: a map of hatching says nothing; the table remains.
        section = section_from(result, str(indicator.name))
        section.chart = None
        section.note = " ".join(
            [section.note, _("Too many districts would be withheld to draw a map; the table lists them all.")]
        ).strip()
        return section, state
    return section_from(result, str(indicator.name), kind=kind), state


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    agency = dashboard_scope(request.user)
    period = _period_from(request)
    reader = snapshots.Reader(agency)
    data = figures(period, agency, reader)
    explore, state = _explore(request, period, reader, data.linked)
    refresh_scheduled = reader.schedule_refresh()
    context = {
        "figures": data,
        "as_of": reader.as_of,
        "computed_now": reader.live,
        "refresh_scheduled": refresh_scheduled,
        "can_refresh": agency is None and can(request.user, ObservatoryPermission.REFRESH),
        "bulletin_month": period.key() if period.kind == "month" else _last_month_key(),
        "period": period,
        "period_code": period.key(),
        "periods": period_choices(),
        "agency": agency,
        "explore": explore,
        "dimensions": list(registry.DIMENSIONS.items()),
        "attribution": maps.ATTRIBUTION,
        "is_coordinator": can(request.user, TrackerPermission.READ),
        "can_extract": can(request.user, ExtractPermission.LIST),
        **state,
    }
    return render(request, "observatory/dashboard.html", context)


_FORMATS = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


@login_required
@require_GET
def export_download(request: HttpRequest, fmt: str) -> HttpResponse:
    """CSV or JSON of an indicator view, through the indicator registry's audited exports."""
    from amparo.observatory import exports

    if fmt not in _FORMATS:
        raise Http404
    agency = dashboard_scope(request.user)
    try:
        indicator = registry.get(request.GET.get("indicator", ""))
        period = compute.Period.parse(request.GET.get("period", ""))
        bys = [tuple(d for d in part.split(",") if d) for part in request.GET.get("by", "").split(";")][:4]
        body = exports.export(request.user, indicator.code, period, bys or [()], fmt, agency=agency)
    except (LookupError, ValueError):
        return HttpResponse(
            _("Choose an indicator, a period and a breakdown that the indicator allows."),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    response = HttpResponse(body, content_type=_FORMATS[fmt])
    name = f"{indicator.code.lower()}-{period.key()}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@require_POST
def refresh(request: HttpRequest) -> HttpResponse:
    """A coordinator's "refresh the figures now" button: queued for the background worker."""
    if not can(request.user, ObservatoryPermission.REFRESH):
        raise PermissionDenied
    try:
        period = compute.Period.parse(request.POST.get("period", ""))
    except (ValueError, TypeError):
        period = _period_from(request)
    actions.request_refresh(request.user, period)
    messages.success(
        request,
        _("The figures for %(period)s are being recomputed; reload this page in a few minutes.")
        % {"period": period.label()},
    )
    return redirect(f"{reverse('observatory:dashboard')}?{urlencode({'period': period.key()})}")


def _last_month_key() -> str:
    return compute.Period.containing("month", timezone.localdate()).previous().key()


@login_required
@require_GET
def bulletin_pdf(request: HttpRequest) -> HttpResponse:
    from amparo.observatory import bulletin

    agency = dashboard_scope(request.user)
    month = request.GET.get("month", "")
    lang = request.GET.get("lang", "") or (get_language() or "pt")[:2]
    if lang not in bulletin.LANGUAGES:
        lang = "pt"
    try:
        period = compute.Period.parse(month) if month else bulletin.last_complete_month()
    except (ValueError, TypeError):
        raise Http404 from None
    if getattr(period, "kind", "month") != "month":
        raise Http404
    body = bulletin.render(period, lang=lang, agency=agency)
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="amparo-bulletin-{period.key()}-{lang}.pdf"'
    return response


# ---------------------------------------------------------------------------------------------
# Action tracker and training register


def _posted(request: HttpRequest) -> Any:
    """The submitted form without NUL characters, which no database column may hold (PostgreSQL
    refuses them outright), so that a stray byte is an ordinary invalid value, not a server error."""
    form = request.POST.copy()
    for key in form:
        form.setlist(key, [value.replace("\x00", "") for value in form.getlist(key)])
    return form


TRAINING = "OCSEA.TRAINING.OFFICERS"


@dataclass
class TrainingRow:
    province: Province
    capital: str
    outside: str
    total: str
    coverage: Any


def training_table(year: int) -> tuple[list[TrainingRow], Any, str]:
    """Trained people by province, inside and outside the capital, for one year (protected by the
    indicator's computation), beside where sessions were held at all (events, not people)."""
    period = compute.Period.year(year)
    by = (registry.PROVINCE, registry.AREA)
    result = compute.compute(TRAINING, period, by)
    coverage = {c.province.pk: c for c in tracker.training_coverage(period.start, period.end)}
    cells: dict[tuple[str, str], Cell] = {}
    margins: dict[str, Cell] = {}
    if tuple(result.by) == by:
        cells = {(r.key[registry.PROVINCE], r.key[registry.AREA]): r.value for r in result.rows}
        margins = {r.key[registry.PROVINCE]: r.value for r in result.margins if registry.PROVINCE in r.key}
    rows = []
    for code, item in coverage.items():
        capital = cells.get((code, "capital"))
        outside = cells.get((code, "outside_capital"))
        total = margins.get(code)
        rows.append(
            TrainingRow(
                item.province,
                capital.display() if capital else "–",
                outside.display() if outside else "–",
                total.display() if total else "–",
                item,
            )
        )
    title = _("People trained in %(year)s, by province where they work") % {"year": year}
    chart = maps.choropleth(
        title,
        margins,
        legend={**map_legend(), "zero": _("Nobody trained")},
    )
    return rows, chart, str(result.note or "")


@login_required
@require_GET
def tracker_page(request: HttpRequest) -> HttpResponse:
    require_tracker(request.user)
    today = timezone.localdate()
    try:
        year = int(request.GET.get("year", today.year))
        compute.Period.year(year)
    except (TypeError, ValueError, OverflowError):
        year = today.year
    rows, chart, note = training_table(year)
    context = {
        "stalling": tracker.stalling(today),
        "actions": tracker.actions_with_milestones(),
        "training_rows": rows,
        "training_note": note,
        "coverage_map": mark_safe(chart.svg),  # noqa: S308  (built by maps, escaped)
        "coverage_text": chart.text,
        "year": year,
        "years": [today.year - n for n in range(4)],
        "can_edit": can(request.user, TrackerPermission.EDIT),
        "today": today,
        "attribution": maps.ATTRIBUTION,
    }
    return render(request, "observatory/tracker.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def action_edit(request: HttpRequest, pk: int) -> HttpResponse:
    action = get_action_for_user(request.user, pk, TrackerPermission.READ)
    can_edit = can(request.user, TrackerPermission.EDIT, action)
    errors: list[str] = []
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied
        form = _posted(request)
        try:
            if form.get("milestone_title"):
                due = dt.date.fromisoformat(form.get("milestone_due", ""))
                actions.add_milestone(request.user, action, title=form["milestone_title"], due_date=due)
            elif form.get("complete_milestone"):
                milestone = Milestone.objects.filter(pk=form["complete_milestone"], action=action).first()
                if milestone is None:
                    raise Http404
                actions.complete_milestone(request.user, milestone)
            else:
                lead = Agency.objects.filter(pk=form.get("lead_agency") or None).first() or action.lead_agency
                supporting = Agency.objects.filter(pk__in=form.getlist("supporting_agencies"))
                actions.update_action(
                    request.user,
                    action,
                    supporting_agencies=supporting,
                    status=form.get("status", action.status),
                    lead_agency=lead,
                    lead_to_be_confirmed=bool(form.get("lead_to_be_confirmed")),
                    evidence_notes=form.get("evidence_notes", ""),
                    budget_allocated=form.get("budget_allocated") or "0",
                    budget_spent=form.get("budget_spent") or "0",
                )
            messages.success(request, _("Saved."))
            return redirect("observatory:action_edit", pk=action.pk)
        except ValidationError as exc:
            errors = list(exc.messages)
        except (ValueError, ArithmeticError):
            errors = [_("Check the dates and amounts: a date is written 2026-10-31 and an amount 150000.00.")]
    context = {
        "action": action,
        "milestones": action.milestones.all(),
        "agencies": Agency.objects.filter(active=True),
        "supporting": set(action.supporting_agencies.values_list("pk", flat=True)),
        "statuses": ActionStatus.choices,
        "errors": errors,
        "today": timezone.localdate(),
        "can_edit": can_edit,
    }
    return render(request, "observatory/action_edit.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def training_new(request: HttpRequest) -> HttpResponse:
    require_tracker(request.user)
    if not can(request.user, TrackerPermission.EDIT):
        raise PermissionDenied
    errors: list[str] = []
    rows = 4
    if request.method == "POST":
        form = _posted(request)
        try:
            district = District.objects.filter(pk=form.get("district") or None).first()
            organiser = Agency.objects.filter(pk=form.get("organiser") or None).first()
            if district is None or organiser is None:
                raise ValidationError(_("Choose the district and the organising agency."))
            participants = []
            for i in range(rows):
                agency = Agency.objects.filter(pk=form.get(f"agency_{i}") or None).first()
                province = Province.objects.filter(pk=form.get(f"province_{i}") or None).first()
                female, male = int(form.get(f"female_{i}") or 0), int(form.get(f"male_{i}") or 0)
                if agency and province and (female or male):
                    participants.append(
                        actions.ParticipantRow(agency, form.get(f"role_{i}", ""), province, female, male)
                    )
            urban = {"yes": True, "no": False}.get(form.get("urban", ""))
            actions.record_training(
                request.user,
                course_title=form.get("course_title", ""),
                date=dt.date.fromisoformat(form.get("date", "")),
                district=district,
                organiser=organiser,
                participants=participants,
                urban=urban,
            )
            messages.success(request, _("The training session was recorded."))
            return redirect("observatory:tracker")
        except ValidationError as exc:
            errors = list(exc.messages)
        except ValueError:
            errors = [_("Check the date (2026-10-31) and the numbers of participants.")]
    context = {
        "errors": errors,
        "districts": District.objects.select_related("province").order_by("province__name", "name"),
        "provinces": Province.objects.all(),
        "agencies": Agency.objects.filter(active=True),
        "roles": TrainingRole.choices,
        "rows": range(rows),
    }
    return render(request, "observatory/training_new.html", context)


# ---------------------------------------------------------------------------------------------
# Research extracts


@login_required
@require_http_methods(["GET", "POST"])
def extract_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not can(user, ExtractPermission.LIST):
        raise PermissionDenied
    errors: list[str] = []
    if request.method == "POST":
        form = _posted(request)
        try:
            made = actions.request_extract(
                user,
                purpose=form.get("purpose", ""),
                fields=form.getlist("fields"),
                period_start=dt.date.fromisoformat(form.get("period_start", "")),
                period_end=dt.date.fromisoformat(form.get("period_end", "")),
            )
            messages.success(request, _("Your request was sent to the national coordinators."))
            return redirect("observatory:extract_detail", pk=made.pk)
        except ValidationError as exc:
            errors = list(exc.messages)
        except ValueError:
            errors = [_("Write the dates as 2026-01-31.")]
    requests = visible_extracts(user)
    context = {
        "requests": requests[:100],
        "columns": list(extract_rules.COLUMNS.items()),
        "default_columns": extract_rules.DEFAULT_COLUMNS,
        "can_request": can(user, ExtractPermission.REQUEST),
        "errors": errors,
        "k": extract_rules.K,
    }
    return render(request, "observatory/extract_list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def extract_detail(request: HttpRequest, pk: Any) -> HttpResponse:
    user = request.user
    item = get_extract_for_user(user, pk)
    errors: list[str] = []
    if request.method == "POST":
        decision = request.POST.get("decision")
        if decision not in ("approve", "refuse"):
            raise Http404
        if not can(user, ExtractPermission.DECIDE, item):
            raise PermissionDenied
        try:
            actions.decide_extract(
                user, item, approve=decision == "approve", note=_posted(request).get("note", "")
            )
            messages.success(request, _("Your decision was recorded."))
            return redirect("observatory:extract_detail", pk=item.pk)
        except ValidationError as exc:
            errors = list(exc.messages)
    context = {
        "item": item,
        "columns": [extract_rules.COLUMNS[c] for c in item.fields if c in extract_rules.COLUMNS],
        "can_decide": item.status == "requested" and can(user, ExtractPermission.DECIDE, item),
        "can_download": can(user, ExtractPermission.DOWNLOAD, item),
        "errors": errors,
        "k": extract_rules.K,
    }
    return render(request, "observatory/extract_detail.html", context)


@login_required
@require_http_methods(["POST"])
def extract_download(request: HttpRequest, pk: Any) -> HttpResponse:
    item = get_extract_for_user(request.user, pk)
    if not can(request.user, ExtractPermission.DOWNLOAD, item):
        raise PermissionDenied
    try:
        body = actions.download_extract(request.user, item)
    except actions.ExtractWithheld:
        messages.error(
            request,
            _(
                "This extract cannot be released: even with places, months and ages coarsened as far as they go, some combinations hold fewer than %(k)s records. Ask for fewer columns or a longer period."
            )
            % {"k": extract_rules.K},
        )
        return redirect("observatory:extract_detail", pk=item.pk)
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="amparo-research-extract.csv"'
    response["Cache-Control"] = "no-store"
    return response
