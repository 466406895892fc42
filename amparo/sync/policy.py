"""Who may manage nodes and resolve synchronisation conflicts."""

from __future__ import annotations

from typing import Any

from amparo.cases.permissions import CasePermission
from amparo.core.policy import can, register
from amparo.core.roles import Role
from amparo.sync.models import Conflict
from amparo.sync.permissions import SyncPermission


def can_resolve(user: Any, obj: Any) -> bool:
    """A supervisor of an agency that may work on the case (the owning agency or one it was referred to)."""
    if not isinstance(obj, Conflict) or obj.case_id is None:
        return False
    from amparo.cases.models import Case

    case = Case.objects.filter(pk=obj.case_id).first()
    return (
        case is not None and user.has_role(Role.AGENCY_SUPERVISOR) and can(user, CasePermission.WRITE, case)
    )


register(SyncPermission.NODE_MANAGE, lambda user, obj: user.has_role(Role.SYSADMIN))
register(SyncPermission.CONFLICT_RESOLVE, can_resolve)
