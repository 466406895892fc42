"""Writes to users, roles and agencies. Each takes the acting user, runs in one transaction and
records its audit entry there."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from amparo.core import audit
from amparo.core.audit import CoreAudit
from amparo.core.models import Agency, District, Province, RoleGrant, User
from amparo.core.permissions import CorePermission
from amparo.core.policy import can
from amparo.core.roles import Role


def _require_user_manager(actor: Any) -> None:
    if isinstance(actor, audit.Actor) and actor.user is None:
        return  # a management command run by the system operator
    if not can(actor, CorePermission.USER_MANAGE):
        raise PermissionDenied


def create_user(
    actor: Any,
    *,
    username: str,
    agency: Agency,
    roles: Iterable[str],
    password: str | None = None,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    scope_level: str = "",
    scope_province: Province | None = None,
    scope_district: District | None = None,
    is_demo: bool = False,
) -> User:
    _require_user_manager(actor)
    roles = list(dict.fromkeys(roles))
    unknown = [r for r in roles if r not in Role.values]
    if unknown:
        raise ValidationError(_("Unknown role: %(roles)s.") % {"roles": ", ".join(unknown)})
    with transaction.atomic():
        user = User(
            username=username,
            agency=agency,
            email=email,
            first_name=first_name,
            last_name=last_name,
            scope_level=scope_level,
            scope_province=scope_province,
            scope_district=scope_district,
            is_demo=is_demo,
        )
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.full_clean(exclude=["password"])
        user.save()
        RoleGrant.objects.bulk_create([RoleGrant(user=user, role=r) for r in roles])
        audit.record(actor, CoreAudit.USER_CREATE, user, ["username", "agency", "scope_level", "password"])
        for role in roles:
            audit.record(actor, CoreAudit.ROLE_GRANT, user, [f"role:{role}"])
    return user


def grant_role(actor: Any, user: User, role: str) -> None:
    _require_user_manager(actor)
    if role not in Role.values:
        raise ValidationError(_("Unknown role: %(roles)s.") % {"roles": role})
    with transaction.atomic():
        _grant, created = RoleGrant.objects.get_or_create(user=user, role=role)
        if created:
            audit.record(actor, CoreAudit.ROLE_GRANT, user, [f"role:{role}"])
    user.__dict__.pop("roles", None)


def revoke_role(actor: Any, user: User, role: str) -> None:
    _require_user_manager(actor)
    with transaction.atomic():
        deleted, _counts = RoleGrant.objects.filter(user=user, role=role).delete()
        if deleted:
            audit.record(actor, CoreAudit.ROLE_REVOKE, user, [f"role:{role}"])
    user.__dict__.pop("roles", None)
