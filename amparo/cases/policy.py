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
from amparo.core.policy import in_scope, is_staff_user, register, scope_q
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


def can_work_as_owner(user: Any, obj: Any) -> bool:
    """The owning agency's case roles (in scope): they set the priority (and so the time limits) and
    record consent to share; an agency holding the case through a referral does neither."""
    case = _case_of(obj)
    return case is not None and case.owning_agency_id == user.agency_id and can_read_case(user, case)


register(CasePermission.LIST, lambda user, obj: _has_case_role(user))
register(CasePermission.CREATE, can_create_case)
register(CasePermission.READ, can_read_case)
register(CasePermission.WRITE, can_read_case)
register(CasePermission.TRANSITION, can_read_case)
register(CasePermission.READ_IDENTITY, can_read_identity)
register(CasePermission.REFER, can_refer)
register(CasePermission.DECIDE_REFERRAL, can_decide_referral)
register(CasePermission.REASSIGN, can_reassign)
register(CasePermission.SET_PRIORITY, can_work_as_owner)
register(CasePermission.RECORD_CONSENT, can_work_as_owner)


def visible_cases(user: Any) -> QuerySet[Case]:
    """The cases a user may list: the same rule as can_read_case, as one query."""
    if not (is_staff_user(user) and _has_case_role(user)):
        return Case.objects.none()
    referred = Referral.objects.filter(to_agency_id=user.agency_id, status=ReferralStatus.ACCEPTED).values(
        "case_id"
    )
    return Case.objects.filter(Q(owning_agency_id=user.agency_id) | Q(id__in=referred)).filter(scope_q(user))


# --- Justice, interviews, preservation requests, relations and the dossier ---
# Investigators (and prosecutors, who direct investigations) record investigation steps; prosecutors and
# court officers record charges and court steps. Each needs the case's justice section (an agency holding
# the case through a referral has it only when the referral shared it). Interviews are recorded by the
# roles that interview children. Requests to service providers name identifiers: investigators and
# prosecutors who may read identity. Merging needs the actor's agency to own both cases (the action checks
# the second case); the dossier export needs the identity right.

from amparo.cases.models import PreservationRequest, ShareableField  # noqa: E402
from amparo.cases.permissions import JusticePermission  # noqa: E402
from amparo.cases.visibility import visible_sections  # noqa: E402

INVESTIGATION_ROLES = frozenset({Role.INVESTIGATOR, Role.PROSECUTOR})
COURT_ROLES = frozenset({Role.PROSECUTOR, Role.COURT_OFFICER})
INTERVIEW_ROLES = frozenset({Role.INVESTIGATOR, Role.PROSECUTOR, Role.SOCIAL_WORKER, Role.COURT_OFFICER})
PRESERVATION_ROLES = frozenset({Role.INVESTIGATOR, Role.PROSECUTOR})


def _section_rule(roles: frozenset[str], section: str) -> Any:
    def rule(user: Any, obj: Any) -> bool:
        case = _case_of(obj)
        return (
            case is not None
            and bool(user.roles & roles)
            and can_read_case(user, case)
            and section in visible_sections(user, case)
        )

    return rule


def can_request_preservation(user: Any, obj: Any) -> bool:
    case = _case_of(obj)
    return (
        case is not None
        and bool(user.roles & PRESERVATION_ROLES)
        and can_read_identity(user, case)
        and ShareableField.JUSTICE in visible_sections(user, case)
    )


def can_answer_preservation(user: Any, obj: Any) -> bool:
    """Staff of the requesting agency record the provider's answer (an industry organisation answers
    through its own channel actor: amparo.cases.actions.justice.answer_preservation_request)."""
    if not isinstance(obj, PreservationRequest):
        return False
    requester = obj.created_by
    return (
        requester is not None
        and requester.agency_id == user.agency_id
        and bool(user.roles & PRESERVATION_ROLES)
        and can_read_case(user, obj.case)
    )


register(
    JusticePermission.RECORD_INVESTIGATION_EVENT, _section_rule(INVESTIGATION_ROLES, ShareableField.JUSTICE)
)
register(JusticePermission.RECORD_COURT_EVENT, _section_rule(COURT_ROLES, ShareableField.JUSTICE))
register(JusticePermission.RECORD_INTERVIEW, _section_rule(INTERVIEW_ROLES, ShareableField.INTERVIEWS))
register(JusticePermission.REQUEST_PRESERVATION, can_request_preservation)
register(JusticePermission.ANSWER_PRESERVATION, can_answer_preservation)
register(JusticePermission.LIST_PRESERVATION, lambda user, obj: bool(user.roles & PRESERVATION_ROLES))
register(JusticePermission.LINK_CASES, can_read_case)
register(JusticePermission.MERGE_CASES, can_work_as_owner)
register(JusticePermission.EXPORT_DOSSIER, can_read_identity)


# --- The service directory, service referrals and the victim rights package ---
# Any staff user may look up the directory (it holds no case data); system administrators maintain it.
# Service referrals need the case's services section (an agency holding the case through a referral has it
# only when the referral shared it). Anyone working on the case may give the rights package (print it,
# record that it was given); sending it by SMS to the reporter's call-back number is the owning agency's.

from amparo.cases.models import ServiceReferral  # noqa: E402
from amparo.cases.permissions import RightsPermission, ServicePermission  # noqa: E402


def can_refer_to_service(user: Any, obj: Any) -> bool:
    case = obj.case if isinstance(obj, ServiceReferral) else _case_of(obj)
    return (
        case is not None
        and _has_case_role(user)
        and can_read_case(user, case)
        and ShareableField.SERVICES in visible_sections(user, case)
    )


register(ServicePermission.LIST_DIRECTORY, lambda user, obj: is_staff_user(user))
register(ServicePermission.MANAGE_DIRECTORY, lambda user, obj: user.has_role(Role.SYSADMIN))
register(ServicePermission.REFER, can_refer_to_service)
register(ServicePermission.RECORD_OUTCOME, can_refer_to_service)
register(RightsPermission.RECORD_DELIVERY, can_read_case)
register(RightsPermission.EXPORT_PACKAGE, can_read_case)
register(RightsPermission.SEND_SMS, can_work_as_owner)
