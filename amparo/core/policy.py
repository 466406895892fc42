"""The one place that answers access questions: ``can(user, permission, obj=None)``.

Views, APIs, exports, commands and the admin all ask here. Each app registers the rules for its
own permissions (``register``) from its AppConfig.ready(), so that core knows no other app. An
unknown permission is an error, not a silent "no": every question must have a rule.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any

from django.db.models import Q

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


def scope_lookups(user: Any) -> dict[str, str] | None:
    """The user's geographic scope as lookups on a place's `province_id` and `district_id`: {} for the
    whole country, one province or one district; None when the scope grants nothing (no level, or a level
    that names no place). The one statement of the scope rule: `in_scope` and `scope_q` read it."""
    level, prov, dist = user.effective_scope()
    if level == "national":
        return {}
    if level == "province" and prov is not None:
        return {"province_id": prov}
    if level == "district" and dist is not None:
        return {"district_id": dist}
    return None


def in_scope(user: Any, province_id: str | None, district_id: str | None) -> bool:
    """Whether a place (a case's province and district) lies inside the user's geographic scope."""
    lookups = scope_lookups(user)
    place = {"province_id": province_id, "district_id": district_id}
    return lookups is not None and all(place[field] == value for field, value in lookups.items())


def scope_q(user: Any, prefix: str = "") -> Q:
    """The user's geographic scope as a filter on a model with `province_id` and `district_id` (through
    `prefix`, e.g. "case__"): the same rule as `in_scope`, as one query. A scope that grants nothing
    matches nothing (filtering on a NULL place would match every record that has no place)."""
    lookups = scope_lookups(user)
    if lookups is None:
        return Q(pk__in=[])
    return Q(**{prefix + field: value for field, value in lookups.items()})


# Core rules.
register(CorePermission.USER_MANAGE, lambda user, obj: user.has_role(Role.SYSADMIN))
register(CorePermission.AGENCY_MANAGE, lambda user, obj: user.has_role(Role.SYSADMIN))
register(CorePermission.CONFIG_MANAGE, lambda user, obj: user.has_role(Role.SYSADMIN))
register(CorePermission.AUDIT_READ, lambda user, obj: user.has_role(Role.AUDITOR))
register(CorePermission.AGGREGATE_READ, lambda user, obj: bool(user.roles & AGGREGATE_ROLES))
