"""Pages of the outreach app.

Public (no sign-in): `/safe-online/` and its pages for children and for caregivers, and the posters
as PDF. They show approved translations only, need no JavaScript, load nothing from another site and
end with how to report.

Staff: the content library and its review, the community sessions register, and the reach page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from amparo.core.models import Province
from amparo.core.policy import can
from amparo.lib.disclosure import Cell, DisclosureError
from amparo.outreach import actions, posters, reach
from amparo.outreach.forms import ItemForm, SessionForm, TranslationForm, language_choices, participant_field
from amparo.outreach.models import (
    AgeBand,
    Audience,
    CommunitySession,
    ContentItem,
    ContentStatus,
    Format,
    Topic,
    Translation,
)
from amparo.outreach.permissions import OutreachPermission
from amparo.outreach.text import blocks

# ---------------------------------------------------------------------------
# Public pages

GROUPS = {
    "children": [Audience.CHILDREN_9_12, Audience.CHILDREN_13_17],
    "caregivers": [Audience.CAREGIVERS, Audience.TEACHERS, Audience.HEALTH_SOCIAL],
}


@dataclass
class Shown:
    title: str
    blocks: list[tuple[str, str]]
    language: str


@require_GET
def safe_online(request: HttpRequest) -> HttpResponse:
    return render(request, "outreach/safe_online_index.html", {})


@require_GET
def safe_online_group(request: HttpRequest, group: str) -> HttpResponse:
    audiences = GROUPS.get(group)
    if audiences is None:
        raise Http404
    language = get_language() or settings.LANGUAGE_CODE
    pages = actions.published_in(Format.WEB_PAGE, language, audience__in=audiences)
    pages.sort(key=lambda tr: (audiences.index(tr.item.audience), list(Topic.values).index(tr.item.topic)))
    shown = [Shown(tr.title, blocks(tr.body), tr.language) for tr in pages]
    poster_list = actions.published_in(Format.POSTER, language, audience__in=audiences)
    return render(
        request,
        "outreach/safe_online_group.html",
        {"group": group, "pages": shown, "posters": poster_list},
    )


@require_GET
def poster_pdf(request: HttpRequest, slug: str, language: str) -> HttpResponse:
    tr = (
        Translation.objects.select_related("item")
        .filter(item__slug=slug, item__format=Format.POSTER, language=language, status=ContentStatus.APPROVED)
        .first()
    )
    if tr is None:
        raise Http404
    response = HttpResponse(posters.render(tr), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{slug}-{language}.pdf"'
    return response


# ---------------------------------------------------------------------------
# Staff: content library


def _require(user: Any, permission: OutreachPermission, obj: Any = None) -> None:
    if not can(user, permission, obj):
        raise PermissionDenied


def get_item_for_user(user: Any, pk: Any) -> ContentItem:
    """An item of the library: 403 to anyone who may not see the library, 404 for an unknown id."""
    _require(user, OutreachPermission.CONTENT_VIEW)
    item = ContentItem.objects.select_related("owning_agency").filter(pk=pk).first()
    if item is None:
        raise Http404
    return item


@login_required
@require_GET
def content_list(request: HttpRequest) -> HttpResponse:
    _require(request.user, OutreachPermission.CONTENT_VIEW)
    items = ContentItem.objects.select_related("owning_agency").prefetch_related("translations")
    filters = {}
    for name, choices in (("audience", Audience), ("topic", Topic), ("format", Format)):
        value = request.GET.get(name, "")
        if value in choices.values:
            filters[name] = value
    items = items.filter(**filters)
    status = request.GET.get("status", "")
    if status in ContentStatus.values:
        items = items.filter(translations__status=status).distinct()
    return render(
        request,
        "outreach/content_list.html",
        {
            "items": items,
            "filters": filters,
            "status": status,
            "audiences": Audience.choices,
            "topics": Topic.choices,
            "formats": Format.choices,
            "statuses": ContentStatus.choices,
            "can_create": can(request.user, OutreachPermission.CONTENT_EDIT),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def content_new(request: HttpRequest) -> HttpResponse:
    _require(request.user, OutreachPermission.CONTENT_EDIT)
    form = ItemForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            item = actions.create_item(request.user, owning_agency=request.user.agency, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect("outreach:content_detail", pk=item.pk)
    return render(request, "outreach/content_new.html", {"form": form}, status=400 if form.errors else 200)


@login_required
@require_GET
def content_detail(request: HttpRequest, pk: Any) -> HttpResponse:
    item = get_item_for_user(request.user, pk)
    translations = list(item.translations.prefetch_related("messages"))
    for tr in translations:
        tr.shown_blocks = blocks(tr.body)
    have = {tr.language for tr in translations}
    return render(
        request,
        "outreach/content_detail.html",
        {
            "item": item,
            "translations": translations,
            "missing": [(code, name) for code, name in language_choices() if code not in have],
            "can_edit": can(request.user, OutreachPermission.CONTENT_EDIT, item),
            "can_approve": can(request.user, OutreachPermission.CONTENT_APPROVE, item),
            "statistics": series_statistics(item) if item.format == Format.SMS_SERIES else None,
        },
    )


def series_statistics(item: ContentItem) -> list[tuple[str, str]]:
    """Messages of this series by delivery status (protected like every count)."""
    from django.db.models import Count

    from amparo.intake.models import OutboundStatus
    from amparo.lib.disclosure import suppress_1d
    from amparo.outreach.models import Dispatch

    counts = dict.fromkeys(OutboundStatus.values, 0)
    rows = Dispatch.objects.filter(translation__item=item, message__isnull=False).values("message__status")
    for row in rows.annotate(n=Count("id")):
        counts[row["message__status"]] += row["n"]
    try:
        table = suppress_1d(counts)
    except DisclosureError:
        return []
    return [(str(OutboundStatus(code).label), cell.display()) for code, cell in table.cells.items()] + [
        (_("Total"), table.total.display())
    ]


@login_required
@require_http_methods(["GET", "POST"])
def translation_edit(request: HttpRequest, pk: Any, language: str) -> HttpResponse:
    item = get_item_for_user(request.user, pk)
    _require(request.user, OutreachPermission.CONTENT_EDIT, item)
    if language not in dict(language_choices()):
        raise Http404
    tr = item.translations.filter(language=language).first()
    initial = {}
    if tr is not None:
        initial = {
            "title": tr.title,
            "body": tr.body,
            "messages": "\n".join(m.text for m in tr.messages.all()),
        }
    form = TranslationForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            actions.save_translation(
                request.user,
                item,
                language,
                title=form.cleaned_data["title"],
                body=form.cleaned_data["body"],
                messages=form.message_list(),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect("outreach:content_detail", pk=item.pk)
    return render(
        request,
        "outreach/translation_edit.html",
        {
            "item": item,
            "language": dict(language_choices())[language],
            "form": form,
            "series": item.format == Format.SMS_SERIES,
        },
        status=400 if form.errors else 200,
    )


STEPS = {
    "submit": actions.submit_for_review,
    "approve": actions.approve,
    "return": actions.return_to_draft,
    "retire": actions.retire,
}


@login_required
@require_POST
def translation_step(request: HttpRequest, pk: Any, step: str) -> HttpResponse:
    tr = Translation.objects.select_related("item").filter(pk=pk).first()
    if tr is None or step not in STEPS:
        raise Http404
    get_item_for_user(request.user, tr.item_id)
    try:
        STEPS[step](request.user, tr)
    except ValidationError as exc:
        from django.contrib import messages

        messages.error(request, " ".join(exc.messages))
    return redirect("outreach:content_detail", pk=tr.item_id)


# ---------------------------------------------------------------------------
# Staff: community sessions


@login_required
@require_GET
def session_list(request: HttpRequest) -> HttpResponse:
    _require(request.user, OutreachPermission.SESSION_VIEW)
    sessions = (
        CommunitySession.objects.select_related("district", "facilitating_agency")
        .prefetch_related("participants")
        .order_by("-date")[:200]
    )
    return render(
        request,
        "outreach/session_list.html",
        {
            "sessions": [
                (s, s.participants_total(), can(request.user, OutreachPermission.SESSION_RECORD, s))
                for s in sessions
            ],
            "can_record": can(request.user, OutreachPermission.SESSION_RECORD),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def session_edit(request: HttpRequest, pk: Any = None) -> HttpResponse:
    session = None
    initial: dict[str, Any] = {"facilitating_agency": request.user.agency_id, "date": timezone.localdate()}
    if pk is not None:
        _require(request.user, OutreachPermission.SESSION_VIEW)
        session = CommunitySession.objects.filter(pk=pk).first()
        if session is None:
            raise Http404
        _require(request.user, OutreachPermission.SESSION_RECORD, session)
        initial = {
            "date": session.date,
            "district": session.district_id,
            "area": "urban" if session.urban else "rural",
            "setting": session.setting,
            "audience": session.audience,
            "facilitating_agency": session.facilitating_agency_id,
            "out_of_school": session.out_of_school,
            "with_disability": session.with_disability,
            "materials": list(session.materials.values_list("pk", flat=True)),
            "other_materials": session.other_materials,
        }
        for p in session.participants.all():
            initial[participant_field(p.sex, p.age_band)] = p.count
    else:
        _require(request.user, OutreachPermission.SESSION_RECORD)
    form = SessionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        area = data.get("area") or ""
        try:
            actions.record_session(
                request.user,
                date=data["date"],
                district=data["district"],
                setting=data["setting"],
                audience=data["audience"],
                facilitating_agency=data["facilitating_agency"],
                participants=form.participants(),
                out_of_school=data["out_of_school"],
                with_disability=data["with_disability"],
                materials=data["materials"],
                other_materials=data["other_materials"],
                urban=None if not area else area == "urban",
                session=session,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect("outreach:session_list")
    return render(
        request,
        "outreach/session_form.html",
        {"form": form, "session": session, "age_bands": AgeBand.choices},
        status=400 if form.errors else 200,
    )


# ---------------------------------------------------------------------------
# Staff: reach


def _reports_map(year: int) -> Any:
    """The observatory's map of reports received by province in `year` (None if unavailable)."""
    from amparo.observatory import compute, maps
    from amparo.observatory import indicators as registry
    from amparo.observatory.figures import REPORTS, map_legend

    try:
        period = compute.Period.year(year)
        result = compute.compute(REPORTS, period, (registry.PROVINCE,))
    except (DisclosureError, LookupError, ValueError):
        return None
    if tuple(result.by) != (registry.PROVINCE,):
        return None
    title = _("Reports received by province in %(year)s") % {"year": year}
    return maps.choropleth(
        title, {r.key[registry.PROVINCE]: r.value for r in result.rows}, legend=map_legend()
    )


def _rows_2d(table: Any, labels: dict[str, str], columns: list[str]) -> list[tuple[str, list[str], str]]:
    if table is None:
        return []
    return [
        (
            labels.get(key, key),
            [table.cells[key][c].display() for c in columns],
            table.row_totals[key].display(),
        )
        for key in table.cells
    ]


@login_required
@require_GET
def reach_page(request: HttpRequest) -> HttpResponse:
    _require(request.user, OutreachPermission.REACH_VIEW)
    from amparo.core.models import District
    from amparo.observatory import maps
    from amparo.observatory.figures import map_legend

    today = timezone.localdate()
    start, end = reach.last_twelve_months(today)
    start_dt = timezone.make_aware(dt.datetime.combine(start, dt.time.min))
    end_dt = timezone.make_aware(dt.datetime.combine(end, dt.time.min))
    province_names = dict(Province.objects.values_list("code", "name"))
    province_names[reach.UNKNOWN] = _("Not given")
    district_names = dict(District.objects.values_list("code", "name"))
    languages = [code for code, _n in settings.LANGUAGES]

    subscribers = reach.subscribers_by_province_language()
    by_place, by_person = reach.participant_tables(start, end)
    reach_map = None
    if subscribers is not None:
        reach_map = maps.choropleth(
            _("Active SMS subscribers by province"),
            {code: cell for code, cell in subscribers.row_totals.items() if code != reach.UNKNOWN},
            legend=map_legend(),
        )
    reports_map = _reports_map(today.year)
    areas = [reach.URBAN, reach.RURAL]
    context = {
        "start": start,
        "end": end - dt.timedelta(days=1),
        # Not "languages" nor "messages": base.html uses both names (language menu, status messages).
        "language_names": [str(name) for _c, name in settings.LANGUAGES],
        "subscriber_rows": _rows_2d(subscribers, province_names, languages),
        "subscriber_language_totals": [subscribers.column_totals[c].display() for c in languages]
        if subscribers
        else [],
        "subscriber_total": subscribers.total.display() if subscribers else "",
        "sms_by_status": _cells(reach.messages_by_status(start_dt, end_dt)),
        "delivered": _cells(reach.delivered_by_language(start_dt, end_dt), dict(settings.LANGUAGES)),
        "session_rows": _rows_2d(reach.sessions_by_district_area(start, end), district_names, areas),
        "participant_rows": _rows_2d(by_place, district_names, areas),
        "sex_age_rows": _rows_2d(
            by_person,
            {"female": _("Female"), "male": _("Male")},
            list(AgeBand.values),
        ),
        "age_bands": [label for _c, label in AgeBand.choices],
        "special": reach.special_groups(start, end),
        "districts": reach.districts_reached(start, end),
        "reach_map": mark_safe(reach_map.svg) if reach_map else None,  # noqa: S308  (built by maps, escaped)
        "reach_map_text": reach_map.text if reach_map else "",
        "reports_map": mark_safe(reports_map.svg) if reports_map else None,  # noqa: S308
        "reports_map_text": reports_map.text if reports_map else "",
        "attribution": maps.ATTRIBUTION,
    }
    return render(request, "outreach/reach.html", context)


def _cells(table: Any, labels: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    if table is None:
        return []
    from amparo.intake.models import OutboundStatus

    names = labels or dict(OutboundStatus.choices)
    rows: list[tuple[str, str]] = [(str(names.get(k, k)), c.display()) for k, c in table.cells.items()]
    total: Cell = table.total
    return [*rows, (_("Total"), total.display())]
