"""The case page's conflicts panel and the form that resolves a conflict."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from amparo.cases.access import get_case_for_user
from amparo.cases.models import IDENTIFYING_CASE_FIELDS, IDENTIFYING_PERSON_FIELDS, Case
from amparo.cases.panels import Panel
from amparo.cases.permissions import CasePermission
from amparo.core.policy import can
from amparo.sync import actions
from amparo.sync.models import Conflict
from amparo.sync.permissions import SyncPermission

IDENTIFYING = frozenset(IDENTIFYING_CASE_FIELDS) | frozenset(IDENTIFYING_PERSON_FIELDS)


def _shown(value: str, field: str, identity: bool) -> str:
    if field in IDENTIFYING and not identity:
        return _("(hidden: identifying information)")
    decoded = json.loads(value)
    return decoded if isinstance(decoded, str) else json.dumps(decoded, ensure_ascii=False)


def conflicts_panel(request: HttpRequest, case: Case, sections: frozenset[str]) -> dict[str, Any] | None:
    open_conflicts = list(Conflict.objects.filter(case_id=case.pk, resolved_at__isnull=True))
    if not open_conflicts:
        return None
    identity = can(request.user, CasePermission.READ_IDENTITY, case)
    return {
        "conflicts": [
            {
                "id": c.pk,
                "what": f"{c.model.split('.')[-1]}.{c.field}",
                "national": _shown(c.national_value, c.field, identity),
                "node": _shown(c.node_value, c.field, identity),
                "origin": c.origin,
                "detected_at": c.detected_at,
                "can_resolve": can(request.user, SyncPermission.CONFLICT_RESOLVE, c),
            }
            for c in open_conflicts
        ],
        "case": case,
    }


PANEL = Panel(key="sync_conflicts", order=5, template="sync/conflicts_panel.html", context=conflicts_panel)


@login_required
@require_POST
def resolve(request: HttpRequest, reference: str, conflict_id: str) -> HttpResponse:
    case = get_case_for_user(request.user, reference, CasePermission.WRITE)
    conflict = Conflict.objects.filter(pk=conflict_id, case_id=case.pk).first()
    if conflict is None:
        raise Http404
    if not can(request.user, SyncPermission.CONFLICT_RESOLVE, conflict):
        raise PermissionDenied
    try:
        actions.resolve_conflict(request.user, conflict, keep=request.POST.get("keep", ""))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, _("The conflict is resolved; every district node will receive the value kept.")
        )
    return redirect("cases:detail", reference=case.reference)
