"""Access rules of the observatory, registered with the one policy (amparo.core.policy).

Statistics only, never a case: the national coordinator and analysts with a national scope see the
whole country; an agency supervisor sees the statistics of their own agency's cases (owned by it,
or referred to it and accepted), and the national roles may look at any agency's. Every rule also
requires the core aggregate permission (an aggregate role).
"""

from __future__ import annotations

from typing import Any

from amparo.core.models import Agency
from amparo.core.permissions import CorePermission
from amparo.core.policy import can, register
from amparo.core.roles import Role
from amparo.observatory.permissions import ObservatoryPermission


def _aggregate(user: Any) -> bool:
    return can(user, CorePermission.AGGREGATE_READ)


def can_view_national(user: Any, obj: Any = None) -> bool:
    """National figures: the national coordinator, or an analyst whose scope is the whole country."""
    if not _aggregate(user):
        return False
    if user.has_role(Role.NATIONAL_COORDINATOR):
        return True
    return user.has_role(Role.ANALYST) and user.effective_scope()[0] == "national"


def can_view_agency(user: Any, obj: Any) -> bool:
    """One agency's figures: national viewers for any agency, a supervisor for their own."""
    if not isinstance(obj, Agency) or not _aggregate(user):
        return False
    if can_view_national(user):
        return True
    return user.has_role(Role.AGENCY_SUPERVISOR) and obj.pk == user.agency_id


def can_export(user: Any, obj: Any) -> bool:
    """Exports follow viewing: obj None is the whole country, an Agency that agency."""
    return can_view_national(user) if obj is None else can_view_agency(user, obj)


def can_manage_dhis2(user: Any, obj: Any) -> bool:
    return user.has_role(Role.NATIONAL_COORDINATOR)


register(ObservatoryPermission.VIEW_NATIONAL, can_view_national)
register(ObservatoryPermission.VIEW_AGENCY, can_view_agency)
register(ObservatoryPermission.EXPORT, can_export)
register(ObservatoryPermission.DHIS2_MANAGE, can_manage_dhis2)


def can_refresh(user: Any, obj: Any) -> bool:
    """Asking for fresh national figures now: the national coordinator."""
    return _aggregate(user) and user.has_role(Role.NATIONAL_COORDINATOR)


register(ObservatoryPermission.REFRESH, can_refresh)
