"""The one place that answers access questions: ``can(user, permission, obj=None)``.

Views, APIs, exports, commands and the admin all ask here. Each app registers the rules for its
own permissions (``register``) from its AppConfig.ready(), so that core knows no other app. An
unknown permission is an error, not a silent "no": every question must have a rule.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any

from amparo.core.permissions import CorePermission
from amparo.core.roles import AGGREGATE_ROLES, Role

Rule = Callable[[Any, Any], bool]
_rules: dict[str, Rule] = {}


class UnknownPermission(LookupError):
    pass


def register(permission: StrEnum, rule: Rule) -> None:
    key = str(permission)
    if key in _rules and _rules[key] is not rule:
        raise ValueError(f"a rule for {key} is already registered")
    _rules[key] = rule


def registered() -> frozenset[str]:
    return frozenset(_rules)


def is_staff_user(user: Any) -> bool:
    """An authenticated, active user of an active agency."""
    return bool(
        getattr(user, "is_authenticated", False)
        and user.is_active
        and getattr(user, "agency_id", None)
        and user.agency.active
    )


def can(user: Any, permission: StrEnum, obj: Any = None) -> bool:
    rule = _rules.get(str(permission))
    if rule is None:
        raise UnknownPermission(f"no access rule is registered for {permission}")
    if not is_staff_user(user):
        return False
    return bool(rule(user, obj))


def in_scope(user: Any, province_id: str | None, district_id: str | None) -> bool:
    """Whether a place (a case's province and district) lies inside the user's geographic scope."""
    level, prov, dist = user.effective_scope()
    if level == "national":
        return True
    if level == "province":
        return province_id is not None and province_id == prov
    if level == "district":
        return district_id is not None and district_id == dist
    return False


# Core rules.
register(CorePermission.USER_MANAGE, lambda user, obj: user.has_role(Role.SYSADMIN))
register(CorePermission.AGENCY_MANAGE, lambda user, obj: user.has_role(Role.SYSADMIN))
register(CorePermission.CONFIG_MANAGE, lambda user, obj: user.has_role(Role.SYSADMIN))
register(CorePermission.AUDIT_READ, lambda user, obj: user.has_role(Role.AUDITOR))
register(CorePermission.AGGREGATE_READ, lambda user, obj: bool(user.roles & AGGREGATE_ROLES))
