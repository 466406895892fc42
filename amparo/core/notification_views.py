"""The staff notifications page: the user's own notices, newest first, marked read one by one or all at once."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from amparo.core.models import Notification
from amparo.core.notifications import kind_label, mark_read

PER_PAGE = 50


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    notices = Notification.objects.filter(recipient=request.user).order_by("-created_at")
    page = Paginator(notices, PER_PAGE).get_page(request.GET.get("page"))
    rows = [{"notice": n, "label": kind_label(n.kind)} for n in page.object_list]
    unread = Notification.objects.filter(recipient=request.user, read_at__isnull=True).count()
    return render(request, "core/notifications.html", {"rows": rows, "page": page, "unread": unread})


@login_required
@require_POST
def notification_read(request: HttpRequest) -> HttpResponse:
    """`id` marks one notice read (only the user's own); without it, all of them."""
    ids = request.POST.getlist("id")
    valid = []
    for value in ids:
        try:
            valid.append(Notification._meta.pk.to_python(value))
        except Exception:  # noqa: BLE001,S112  (a malformed id is ignored, like an id that is not yours)
            continue
    count = mark_read(request.user, valid if ids else None)
    if count:
        messages.success(request, _("Marked as read."))
    return redirect("core:notifications")
