"""Loading cases for a user. Views, the API and exports load cases only through here:
an outsider gets 404 (the case's existence is not revealed), a reader without the right 403."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404

from amparo.cases.models import Case, Referral
from amparo.cases.permissions import CaseAudit, CasePermission
from amparo.core import audit
from amparo.core.policy import can


def get_case_for_user(user: Any, reference: str, permission: CasePermission = CasePermission.READ) -> Case:
    case = (
        Case.objects.select_related("owning_agency", "province", "district", "assigned_to")
        .filter(reference=reference)
        .first()
    )
    if case is None:
        raise Http404
    if not can(user, CasePermission.READ, case):
        audit.record_denied(user, case, 404)
        raise Http404
    if permission != CasePermission.READ and not can(user, permission, case):
        audit.record_denied(user, case, 403)
        raise PermissionDenied
    audit.record_read(user, CaseAudit.VIEW, case)
    return case


def get_referral_for_user(user: Any, referral_id: Any, permission: CasePermission) -> Referral:
    """A referral is visible to its sending and receiving agencies' case roles."""
    referral = (
        Referral.objects.select_related("case", "from_agency", "to_agency").filter(pk=referral_id).first()
    )
    if referral is None:
        raise Http404
    involved = user.is_authenticated and user.agency_id in (referral.from_agency_id, referral.to_agency_id)
    if not involved:
        audit.record_denied(user, referral, 404)
        raise Http404
    if not can(user, permission, referral if permission == CasePermission.DECIDE_REFERRAL else referral.case):
        audit.record_denied(user, referral, 403)
        raise PermissionDenied
    return referral
