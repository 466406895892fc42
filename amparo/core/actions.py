"""Writes to users, roles and agencies. Each takes the acting user, runs in one transaction and
records its audit entry there."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from amparo.core import audit, tokens
from amparo.core.audit import CoreAudit
from amparo.core.models import Agency, ApiToken, District, DutyRequest, Province, RoleGrant, User
from amparo.core.permissions import CorePermission
from amparo.core.policy import can
from amparo.core.roles import CASE_ROLES, Role

# Separation of duties (docs/security.md): a system administrator never changes their own roles, and
# these roles (every role that reads cases, and the administrator role itself, or one administrator could
# make a second account to approve their own requests) are granted only when another administrator
# approves. So are second-factor resets and setting another user's password. The operator's commands act
# as the system (audit.Actor with no user) and apply at once: whoever runs them holds the server.
APPROVAL_ROLES = CASE_ROLES | {Role.SYSADMIN}

# Fields of a user that an administrator may change through update_user.
USER_FIELDS = frozenset(
    {
        "email",
        "first_name",
        "last_name",
        "agency",
        "scope_level",
        "scope_province",
        "scope_district",
        "is_active",
        "is_demo",
    }
)
AGENCY_FIELDS = (
    "code",
    "name",
    "short_name",
    "kind",
    "scope_level",
    "province",
    "district",
    "active",
    "is_demo",
)


def _require(actor: Any, permission: CorePermission) -> None:
    if isinstance(actor, audit.Actor):
        if actor.user is None:
            return  # a management command run by the system operator
        actor = actor.user
    if not can(actor, permission):
        raise PermissionDenied


def _require_user_manager(actor: Any) -> None:
    _require(actor, CorePermission.USER_MANAGE)


def _person(actor: Any) -> User | None:
    """The person acting, or None for the system operator's commands."""
    return actor.user if isinstance(actor, audit.Actor) else actor


def _refuse_own_roles(actor: Any, user: User) -> None:
    person = _person(actor)
    if person is not None and person.pk == user.pk:
        raise ValidationError(_("You cannot grant roles to yourself; ask another administrator."))


def _request(person: User, kind: str, user: User, *, role: str = "", password: str = "") -> DutyRequest:
    """A pending change for another administrator to approve (the same pending one if already asked)."""
    with transaction.atomic():
        pending = DutyRequest.objects.filter(
            kind=kind, user=user, role=role, status=DutyRequest.Status.PENDING
        ).first()
        if pending is not None and not password:
            return pending
        if pending is not None:  # a newer password replaces the one waiting
            pending.password = password
            pending.save(update_fields=["password"])
            return pending
        duty = DutyRequest.objects.create(
            kind=kind, user=user, role=role, password=password, requested_by=person
        )
        audit.record(
            person,
            CoreAudit.DUTY_REQUEST,
            duty,
            [f"kind:{kind}", "user"] + ([f"role:{role}"] if role else []),
        )
    return duty


def _grant(actor: Any, user: User, role: str) -> None:
    _grant_created, created = RoleGrant.objects.get_or_create(user=user, role=role)
    if created:
        audit.record(actor, CoreAudit.ROLE_GRANT, user, [f"role:{role}"])
    user.__dict__.pop("roles", None)


def approve_request(actor: Any, duty: DutyRequest) -> DutyRequest:
    """Apply a pending change. The approver is another administrator: neither the one who asked for it
    nor the user it changes. The change and both audit entries are written in one transaction."""
    _require_user_manager(actor)
    person = _person(actor)
    with transaction.atomic():
        locked = DutyRequest.objects.select_for_update().select_related("user").get(pk=duty.pk)
        if locked.status != DutyRequest.Status.PENDING:
            raise ValidationError(_("This change was already decided."))
        if person is not None and person.pk in (locked.requested_by_id, locked.user_id):
            raise ValidationError(
                _(
                    "Another administrator must approve this change: not the one who asked for it, nor the user it changes."
                )
            )
        user = locked.user
        if locked.kind == DutyRequest.Kind.GRANT_ROLE:
            _grant(actor, user, locked.role)
        elif locked.kind == DutyRequest.Kind.RESET_TOTP:
            deleted, _counts = TOTPDevice.objects.filter(user=user).delete()
            if deleted:
                audit.record(actor, CoreAudit.TOTP_RESET, user, ["totp_device"])
        else:
            User.objects.filter(pk=user.pk).update(password=locked.password)
            audit.record(actor, CoreAudit.USER_UPDATE, user, ["password"])
        locked.password = ""  # the hash is on the user now; the request keeps none
        locked.status = DutyRequest.Status.APPROVED
        locked.decided_by = person
        locked.decided_at = timezone.now()
        locked.save(update_fields=["password", "status", "decided_by", "decided_at"])
        audit.record(actor, CoreAudit.DUTY_APPROVE, locked, ["status"])
    return locked


def reject_request(actor: Any, duty: DutyRequest) -> DutyRequest:
    """Refuse (or, for the one who asked, withdraw) a pending change."""
    _require_user_manager(actor)
    with transaction.atomic():
        locked = DutyRequest.objects.select_for_update().get(pk=duty.pk)
        if locked.status != DutyRequest.Status.PENDING:
            raise ValidationError(_("This change was already decided."))
        locked.password = ""
        locked.status = DutyRequest.Status.REJECTED
        locked.decided_by = _person(actor)
        locked.decided_at = timezone.now()
        locked.save(update_fields=["password", "status", "decided_by", "decided_at"])
        audit.record(actor, CoreAudit.DUTY_REJECT, locked, ["status"])
    return locked


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
    """A new user. Roles that need a second administrator's approval (APPROVAL_ROLES), when a person asks
    for them, become pending requests; the others are granted at once."""
    _require_user_manager(actor)
    roles = list(dict.fromkeys(roles))
    unknown = [r for r in roles if r not in Role.values]
    if unknown:
        raise ValidationError(_("Unknown role: %(roles)s.") % {"roles": ", ".join(unknown)})
    person = _person(actor)
    pending = [r for r in roles if person is not None and r in APPROVAL_ROLES]
    roles = [r for r in roles if r not in pending]
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
        for role in pending:
            _request(person, DutyRequest.Kind.GRANT_ROLE, user, role=role)
    return user


def grant_role(actor: Any, user: User, role: str) -> DutyRequest | None:
    """Grant `role`, or, for a role in APPROVAL_ROLES asked for by a person, return the pending request
    another administrator must approve. Nobody grants roles to themselves."""
    _require_user_manager(actor)
    if role not in Role.values:
        raise ValidationError(_("Unknown role: %(roles)s.") % {"roles": role})
    _refuse_own_roles(actor, user)
    person = _person(actor)
    if person is not None and role in APPROVAL_ROLES:
        if RoleGrant.objects.filter(user=user, role=role).exists():
            return None
        return _request(person, DutyRequest.Kind.GRANT_ROLE, user, role=role)
    with transaction.atomic():
        _grant(actor, user, role)
    return None


def revoke_role(actor: Any, user: User, role: str) -> None:
    _require_user_manager(actor)
    with transaction.atomic():
        deleted, _counts = RoleGrant.objects.filter(user=user, role=role).delete()
        if deleted:
            audit.record(actor, CoreAudit.ROLE_REVOKE, user, [f"role:{role}"])
    user.__dict__.pop("roles", None)


def update_user(actor: Any, user: User, *, password: str | None = None, **changes: Any) -> User:
    """Change a user's details (and optionally set a new password); audits the names of the fields changed.
    A person setting another user's password makes a pending request (another administrator approves)."""
    _require_user_manager(actor)
    unknown = set(changes) - USER_FIELDS
    if unknown:
        raise ValueError(f"update_user cannot change: {', '.join(sorted(unknown))}")
    acting = actor.user if isinstance(actor, audit.Actor) else actor
    if acting is not None and acting.pk == user.pk and changes.get("is_active") is False:
        raise ValidationError(_("You cannot deactivate your own account."))
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        touched = [name for name, value in changes.items() if getattr(locked, name) != value]
        for name, value in changes.items():
            setattr(locked, name, value)
        if password and acting is not None and acting.pk != user.pk:
            _request(acting, DutyRequest.Kind.SET_PASSWORD, locked, password=make_password(password))
        elif password:
            locked.set_password(password)
            touched.append("password")
        locked.full_clean(exclude=["password"])
        locked.save()
        if touched:
            audit.record(actor, CoreAudit.USER_UPDATE, locked, touched)
    return locked


def reset_two_factor(actor: Any, user: User) -> bool | DutyRequest:
    """Remove a user's TOTP devices: they enrol again at their next sign-in. True if anything was removed.
    Asked for by a person, it is a pending request (returned) that another administrator approves."""
    _require_user_manager(actor)
    person = _person(actor)
    if person is not None:
        return _request(person, DutyRequest.Kind.RESET_TOTP, user)
    with transaction.atomic():
        deleted, _counts = TOTPDevice.objects.filter(user=user).delete()
        if deleted:
            audit.record(actor, CoreAudit.TOTP_RESET, user, ["totp_device"])
    return bool(deleted)


def start_totp_enrolment(user: User) -> Any:
    """The user's unconfirmed TOTP device, created on first need and kept while they scan it.
    Nothing is audited yet: the device does nothing until confirmed."""
    with transaction.atomic():
        device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="Amparo", confirmed=False)
    return device


def confirm_totp_enrolment(user: User, device: Any, token: str) -> bool:
    """Confirm `device` with a first valid code and record TOTP_ENROL. Wrong codes count towards throttling."""
    with transaction.atomic():
        locked = (
            TOTPDevice.objects.select_for_update().filter(pk=device.pk, user=user, confirmed=False).first()
        )
        if locked is None or not locked.verify_token(token):
            return False
        locked.confirmed = True
        locked.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user, confirmed=False).exclude(pk=locked.pk).delete()
        audit.record(user, CoreAudit.TOTP_ENROL, user, ["totp_device"])
    device.refresh_from_db()
    return True


def record_wrong_second_factor(user: User) -> None:
    """A wrong TOTP code at sign-in. The password was right, so the entry names the account (by id, never
    the username); the actor is the sign-in channel, since the user is not signed in yet."""
    with transaction.atomic():
        audit.record(audit.Actor(channel="web-two-factor"), CoreAudit.LOGIN_FAILED, user, ["otp_token"])


def create_agency(actor: Any, **fields: Any) -> Agency:
    """Add an agency (or a clearly marked demo agency, is_demo=True)."""
    _require(actor, CorePermission.AGENCY_MANAGE)
    unknown = set(fields) - set(AGENCY_FIELDS)
    if unknown:
        raise ValueError(f"create_agency does not take: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        agency = Agency(**fields)
        agency.full_clean()
        agency.save(force_insert=True)
        audit.record(actor, CoreAudit.AGENCY_CREATE, agency, sorted(fields))
    return agency


def update_agency(actor: Any, agency: Agency, **changes: Any) -> Agency:
    """Change an agency; its code is a stable identifier and never changes."""
    _require(actor, CorePermission.AGENCY_MANAGE)
    if "code" in changes and changes["code"] != agency.code:
        raise ValidationError(_("An agency's code never changes: other records refer to it."))
    unknown = set(changes) - set(AGENCY_FIELDS)
    if unknown:
        raise ValueError(f"update_agency cannot change: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        locked = Agency.objects.select_for_update().get(pk=agency.pk)
        touched = [name for name, value in changes.items() if getattr(locked, name) != value]
        for name, value in changes.items():
            setattr(locked, name, value)
        locked.full_clean()
        locked.save()
        if touched:
            audit.record(actor, CoreAudit.AGENCY_UPDATE, locked, touched)
    return locked


def create_api_token(
    actor: Any, user: User, *, name: str = "", days: int = tokens.DEFAULT_DAYS
) -> tuple[ApiToken, str]:
    """A new staff API token acting as `user`; returns the row and the token, which is shown only now
    (the database keeps its SHA-256). System administrators (or the operator's command) create tokens."""
    _require_user_manager(actor)
    if not 1 <= days <= tokens.MAX_DAYS:
        raise ValidationError(
            _("A token lasts from 1 to %(max)d days; choose a number in that range.")
            % {"max": tokens.MAX_DAYS}
        )
    if not user.is_active:
        raise ValidationError(_("This user is not active, so a token for them would not work."))
    name = name.strip()
    if len(name) > ApiToken._meta.get_field("name").max_length:
        raise ValidationError(_("The token's name is too long (at most 100 characters)."))
    acting = actor.user if isinstance(actor, audit.Actor) else actor
    with transaction.atomic():
        for _attempt in range(5):  # a prefix collision (48 random bits) draws again
            plaintext = tokens.new_token()
            if not ApiToken.objects.filter(prefix=tokens.token_prefix(plaintext)).exists():
                break
        else:  # pragma: no cover - would need five 48-bit collisions in a row
            raise RuntimeError("could not draw an unused token prefix")
        token = ApiToken.objects.create(
            user=user,
            name=name,
            prefix=tokens.token_prefix(plaintext),
            token_hash=tokens.hash_token(plaintext),
            created_by=acting,
            expires_at=timezone.now() + dt.timedelta(days=days),
        )
        audit.record(actor, CoreAudit.API_TOKEN_CREATE, token, ["user", "name", "expires_at", "token_hash"])
    return token, plaintext


def revoke_api_token(actor: Any, token: ApiToken) -> ApiToken:
    """Revoke a token at once. Its own user, a system administrator or the operator's command may."""
    acting = actor.user if isinstance(actor, audit.Actor) else actor
    if acting is None or acting.pk != token.user_id:
        _require_user_manager(actor)
    with transaction.atomic():
        locked = ApiToken.objects.select_for_update().get(pk=token.pk)
        if locked.revoked_at is not None:
            raise ValidationError(_("This token is already revoked."))
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
        audit.record(actor, CoreAudit.API_TOKEN_REVOKE, locked, ["revoked_at"])
    token.revoked_at = locked.revoked_at
    return token
