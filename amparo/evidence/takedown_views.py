"""The staff page of takedown notices and the national URL block list (the writes are the actions of
amparo.evidence.takedown): notices of the cases the user can read with their time to removal, a form to
send one, and the block list for those who keep it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from amparo.cases.access import get_case_for_user
from amparo.cases.policy import visible_cases
from amparo.cases.taxonomy import Platform
from amparo.core import audit
from amparo.core.policy import can
from amparo.evidence.models import BlockCategory, BlockedUrl, TakedownNotice
from amparo.evidence.permissions import TakedownAudit, TakedownPermission
from amparo.evidence.takedown import (
    MAX_URL_CHARS,
    active_blocklist,
    add_blocked_url,
    create_notice,
    organisation_model,
    removal_times,
    remove_blocked_url,
    withdraw_notice,
)


def _require(user: Any, permission: TakedownPermission) -> None:
    if not can(user, permission):
        raise PermissionDenied


class NoticeForm(forms.Form):
    reference = forms.CharField(label=gettext_lazy("Case reference"), max_length=16)
    url = forms.CharField(label=gettext_lazy("Address (URL) of the material"), max_length=MAX_URL_CHARS)
    platform = forms.ChoiceField(
        label=gettext_lazy("Platform"), choices=Platform.choices, initial=Platform.UNKNOWN
    )
    organisation = forms.ModelChoiceField(
        label=gettext_lazy("Organisation to notify"), queryset=None, required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisation_model().objects.filter(active=True)


class BlockForm(forms.Form):
    url = forms.CharField(label=gettext_lazy("Address (URL) to block"), max_length=MAX_URL_CHARS)
    category = forms.ChoiceField(label=gettext_lazy("Reason"), choices=BlockCategory.choices)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def takedown_page(request: HttpRequest) -> HttpResponse:
    """Notices of the cases the user can read (with time to removal), a form to send one, and the block
    list for those who keep it."""
    user = request.user
    _require(user, TakedownPermission.NOTICE_MANAGE)
    may_block = can(user, TakedownPermission.BLOCKLIST_MANAGE)
    notice_form = NoticeForm(request.POST if request.POST.get("form") == "notice" else None)
    block_form = BlockForm(request.POST if request.POST.get("form") == "block" else None)
    if request.method == "POST" and request.POST.get("form") == "notice" and notice_form.is_valid():
        data = notice_form.cleaned_data
        case = get_case_for_user(user, data["reference"])
        try:
            create_notice(
                user, case, url=data["url"], platform=data["platform"], organisation=data["organisation"]
            )
        except ValidationError as exc:
            notice_form.add_error("url", exc)
        else:
            messages.success(request, _("The takedown notice was sent."))
            return redirect("evidence:takedown")
    if request.method == "POST" and request.POST.get("form") == "block":
        if not may_block:
            raise PermissionDenied
        if block_form.is_valid():
            try:
                add_blocked_url(user, block_form.cleaned_data["url"], block_form.cleaned_data["category"])
            except ValidationError as exc:
                block_form.add_error("url", exc)
            else:
                messages.success(request, _("The address was added to the block list."))
                return redirect("evidence:takedown")
    notices = list(
        TakedownNotice.objects.filter(case__in=visible_cases(user))
        .select_related("case", "organisation")
        .order_by("-requested_at")[:200]
    )
    audit.record_read(user, TakedownAudit.NOTICE_LIST, ("evidence.takedownnotice", ""), ["url", "status"])
    status = 400 if request.method == "POST" else 200
    context = {
        "notices": notices,
        "stats": removal_times(notices),
        "notice_form": notice_form,
        "block_form": block_form,
        "may_block": may_block,
        "blocked": list(active_blocklist()[:500]) if may_block else [],
    }
    return render(request, "evidence/takedown.html", context, status=status)


@login_required
@require_POST
def takedown_withdraw(request: HttpRequest, notice_id: str) -> HttpResponse:
    notice = TakedownNotice.objects.filter(pk=notice_id, case__in=visible_cases(request.user)).first()
    if notice is None:
        raise Http404
    try:
        withdraw_notice(request.user, notice)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("evidence:takedown")


@login_required
@require_POST
def blocklist_remove(request: HttpRequest, entry_id: int) -> HttpResponse:
    _require(request.user, TakedownPermission.BLOCKLIST_MANAGE)
    entry = BlockedUrl.objects.filter(pk=entry_id).first()
    if entry is None:
        raise Http404
    try:
        remove_blocked_url(request.user, entry)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("evidence:takedown")
