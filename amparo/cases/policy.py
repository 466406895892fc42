"""Access rules for cases, registered with the one policy (amparo.core.policy).

A case is visible to users with a case-working role in the owning agency, or in an agency with
an *accepted* referral, and only if the case lies in the user's geographic scope. Identifying
fields are further limited to the roles that need them. Aggregate-only roles, auditors and
system administrators never see a case.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from amparo.cases.models import Case, Referral, ReferralStatus
from amparo.cases.permissions import CasePermission
from amparo.core.policy import in_scope, is_staff_user, register
from amparo.core.roles import CASE_ROLES, IDENTITY_ROLES, Role


def _case_of(obj: Any) -> Case | None:
    if obj is None:
        return None
    if isinstance(obj, Case):
        return obj
    case = getattr(obj, "case", None)
    return case if isinstance(case, Case) else None


def _has_case_role(user: Any) -> bool:
    return bool(user.roles & CASE_ROLES)


def _agency_has_access(user: Any, case: Case) -> bool:
    if case.owning_agency_id == user.agency_id:
        return True
    return Referral.objects.filter(
        case=case, to_agency_id=user.agency_id, status=ReferralStatus.ACCEPTED
    ).exists()


def _case_in_scope(user: Any, case: Case) -> bool:
    return in_scope(user, case.province_id, case.district_id)


def can_read_case(user: Any, obj: Any) -> bool:
    case = _case_of(obj)
    return (
        case is not None
        and _has_case_role(user)
        and _agency_has_access(user, case)
        and _case_in_scope(user, case)
    )


def can_read_identity(user: Any, obj: Any) -> bool:
    return bool(user.roles & IDENTITY_ROLES) and can_read_case(user, obj)


def can_create_case(user: Any, obj: Any) -> bool:
    return user.has_role(
        Role.HELPLINE_OPERATOR,
        Role.INTAKE_OFFICER,
        Role.INVESTIGATOR,
        Role.SOCIAL_WORKER,
        Role.AGENCY_SUPERVISOR,
    )


def can_refer(user: Any, obj: Any) -> bool:
    case = _case_of(obj)
    return case is not None and case.owning_agency_id == user.agency_id and can_read_case(user, case)


def can_decide_referral(user: Any, obj: Any) -> bool:
    """The receiving agency decides; its case roles (in scope) may accept or decline."""
    if not isinstance(obj, Referral):
        return False
    return (
        obj.to_agency_id == user.agency_id
        and obj.status == ReferralStatus.PENDING
        and _has_case_role(user)
        and _case_in_scope(user, obj.case)
    )


def can_reassign(user: Any, obj: Any) -> bool:
    return user.has_role(Role.AGENCY_SUPERVISOR) and can_read_case(user, obj)


register(CasePermission.LIST, lambda user, obj: _has_case_role(user))
register(CasePermission.CREATE, can_create_case)
register(CasePermission.READ, can_read_case)
register(CasePermission.WRITE, can_read_case)
register(CasePermission.TRANSITION, can_read_case)
register(CasePermission.READ_IDENTITY, can_read_identity)
register(CasePermission.REFER, can_refer)
register(CasePermission.DECIDE_REFERRAL, can_decide_referral)
register(CasePermission.REASSIGN, can_reassign)


def visible_cases(user: Any) -> QuerySet[Case]:
    """The cases a user may list: the same rule as can_read_case, as one query."""
    if not (is_staff_user(user) and _has_case_role(user)):
        return Case.objects.none()
    referred = Referral.objects.filter(to_agency_id=user.agency_id, status=ReferralStatus.ACCEPTED).values(
        "case_id"
    )
    qs = Case.objects.filter(Q(owning_agency_id=user.agency_id) | Q(id__in=referred))
    # Mirror in_scope() exactly: a scope that names a level but no place grants nothing (filtering
    # on a NULL province or district would list every case that has no place).
    level, prov, dist = user.effective_scope()
    if level == "national":
        return qs
    if level == "province" and prov is not None:
        return qs.filter(province_id=prov)
    if level == "district" and dist is not None:
        return qs.filter(district_id=dist)
    return Case.objects.none()
