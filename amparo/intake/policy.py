"""Access rules of the intake staff pages, registered with the one policy (amparo.core.policy).

The helpline console is for helpline operators, the desk for intake officers; both record cases
for the user's own agency. Triage is for the roles that receive reports, on cases their agency
owns and can read (amparo.cases.policy); the same users, and anyone working the case, may write
to its anonymous reporter.
"""

from __future__ import annotations

from typing import Any

from amparo.cases.models import Case, ShareableField
from amparo.cases.permissions import CasePermission
from amparo.cases.visibility import can_see
from amparo.core.policy import can, register
from amparo.core.roles import Role
from amparo.intake.industry import conf
from amparo.intake.industry.permissions import IndustryPermission
from amparo.intake.permissions import IntakePermission

TRIAGE_ROLES = (
    Role.HELPLINE_OPERATOR,
    Role.INTAKE_OFFICER,
    Role.AGENCY_SUPERVISOR,
    Role.INVESTIGATOR,
    Role.SOCIAL_WORKER,
)

CYBERTIP_ROLES = (Role.INTAKE_OFFICER, Role.INVESTIGATOR, Role.AGENCY_SUPERVISOR)


def can_triage(user: Any, obj: Any) -> bool:
    if not user.has_role(*TRIAGE_ROLES):
        return False
    if obj is None:
        return True
    return (
        isinstance(obj, Case)
        and obj.owning_agency_id == user.agency_id
        and can(user, CasePermission.WRITE, obj)
    )


def can_message_reporter(user: Any, obj: Any) -> bool:
    return (
        isinstance(obj, Case)
        and can(user, CasePermission.WRITE, obj)
        and can(user, CasePermission.READ_IDENTITY, obj)
        and can_see(user, obj, ShareableField.REPORTER_IDENTITY)  # the owner, or a referral that shared it
    )


register(IntakePermission.HELPLINE_RECORD, lambda user, obj: user.has_role(Role.HELPLINE_OPERATOR))
register(IntakePermission.DESK_RECORD, lambda user, obj: user.has_role(Role.INTAKE_OFFICER))
register(IntakePermission.TRIAGE, can_triage)
register(IntakePermission.MESSAGE_REPORTER, can_message_reporter)


def can_import_cybertip(user: Any, obj: Any) -> bool:
    """NCMEC referrals are imported by intake officers, investigators and supervisors of the receiving
    agency (AMPARO_CYBERTIP_AGENCY, SERNIC by default)."""
    return user.has_role(*CYBERTIP_ROLES) and user.agency.code == conf.cybertip_agency_code()


register(IntakePermission.CYBERTIP_IMPORT, can_import_cybertip)
register(IndustryPermission.MANAGE, lambda user, obj: user.has_role(Role.SYSADMIN))
