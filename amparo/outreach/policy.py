"""Access rules of the outreach app, registered with the one policy (amparo.core.policy).

- Content: staff of an agency with a working role write and edit their own agency's material; only
  an approver of the owning agency (its agency supervisor, or a national coordinator who belongs to
  it) approves, returns or retires a translation. Anyone who may edit, approve or read aggregates
  sees the library.
- Community sessions: the same working roles record sessions their agency facilitated and edit them;
  aggregate roles read the register too.
- Reach: the aggregate roles (statistics only, with disclosure control).
"""

from __future__ import annotations

from typing import Any

from amparo.core.permissions import CorePermission
from amparo.core.policy import can, register
from amparo.core.roles import Role
from amparo.outreach.permissions import OutreachPermission

EDITOR_ROLES = (
    Role.HELPLINE_OPERATOR,
    Role.INTAKE_OFFICER,
    Role.SOCIAL_WORKER,
    Role.INVESTIGATOR,
    Role.AGENCY_SUPERVISOR,
    Role.NATIONAL_COORDINATOR,
    Role.ANALYST,
)
APPROVER_ROLES = (Role.AGENCY_SUPERVISOR, Role.NATIONAL_COORDINATOR)


def _owning_agency_id(obj: Any) -> Any:
    return getattr(obj, "owning_agency_id", None) or getattr(obj, "facilitating_agency_id", None)


def can_edit_content(user: Any, obj: Any) -> bool:
    if not user.has_role(*EDITOR_ROLES):
        return False
    return obj is None or _owning_agency_id(obj) == user.agency_id


def can_approve_content(user: Any, obj: Any) -> bool:
    """The approver rule: an agency supervisor or national coordinator of the item's owning agency."""
    return obj is not None and user.has_role(*APPROVER_ROLES) and _owning_agency_id(obj) == user.agency_id


def can_view_content(user: Any, obj: Any) -> bool:
    return user.has_role(*EDITOR_ROLES) or can(user, CorePermission.AGGREGATE_READ)


def can_record_session(user: Any, obj: Any) -> bool:
    if not user.has_role(*EDITOR_ROLES):
        return False
    return obj is None or _owning_agency_id(obj) == user.agency_id


def can_view_sessions(user: Any, obj: Any) -> bool:
    return user.has_role(*EDITOR_ROLES) or can(user, CorePermission.AGGREGATE_READ)


register(OutreachPermission.CONTENT_VIEW, can_view_content)
register(OutreachPermission.CONTENT_EDIT, can_edit_content)
register(OutreachPermission.CONTENT_APPROVE, can_approve_content)
register(OutreachPermission.SESSION_RECORD, can_record_session)
register(OutreachPermission.SESSION_VIEW, can_view_sessions)
register(OutreachPermission.REACH_VIEW, lambda user, obj: can(user, CorePermission.AGGREGATE_READ))
