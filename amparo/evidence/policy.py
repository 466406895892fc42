"""Access rules for evidence, registered with the one policy (amparo.core.policy).

Evidence is seen only by people who can read the case AND hold a role that handles evidence:
investigators, prosecutors and court officers see every item of a case they can read; intake officers
and helpline operators only the items their own agency received (they take files in; they do not
examine them). Only investigators, prosecutors and court officers may reveal an item or act on its
custody. Social workers, supervisors, analysts, auditors and system administrators never see evidence.
"""

from __future__ import annotations

from typing import Any

from amparo.cases.models import Case, ShareableField
from amparo.cases.policy import can_read_case
from amparo.cases.visibility import can_see
from amparo.core.policy import register
from amparo.core.roles import Role
from amparo.evidence.models import EvidenceItem
from amparo.evidence.permissions import EvidencePermission, TakedownPermission

EXAMINING_ROLES = frozenset({Role.INVESTIGATOR, Role.PROSECUTOR, Role.COURT_OFFICER})
RECEIVING_ROLES = frozenset({Role.INTAKE_OFFICER, Role.HELPLINE_OPERATOR})
EVIDENCE_ROLES = EXAMINING_ROLES | RECEIVING_ROLES


def _case(obj: Any) -> Case | None:
    if isinstance(obj, EvidenceItem):
        return obj.case
    if isinstance(obj, Case):
        return obj
    return None


def can_read_evidence(user: Any, obj: Any) -> bool:
    """On a case: may list (some of) its evidence. On an item: may see that item's record."""
    case = _case(obj)
    if case is None or not (user.roles & EVIDENCE_ROLES) or not can_read_case(user, case):
        return False
    if not can_see(user, case, ShareableField.EVIDENCE):  # a referral that did not share the evidence
        return False
    if user.roles & EXAMINING_ROLES:
        return True
    if isinstance(obj, EvidenceItem):
        return obj.received_by_agency_id == user.agency_id
    return True


def can_add_evidence(user: Any, obj: Any) -> bool:
    """Adding files to a case's vault; through a referral, only one that shared the evidence section."""
    case = _case(obj)
    return (
        case is not None
        and user.has_role(Role.INVESTIGATOR, Role.PROSECUTOR, Role.INTAKE_OFFICER, Role.HELPLINE_OPERATOR)
        and can_read_case(user, case)
        and can_see(user, case, ShareableField.EVIDENCE)
    )


def can_examine(user: Any, obj: Any) -> bool:
    """Reveal, custody actions and hash exports: examining roles on a case they can read, whose evidence
    section they see (the policy checks it, not the views: commands and the API ask here too)."""
    case = _case(obj)
    if isinstance(obj, EvidenceItem) and obj.destroyed_at is not None:
        return False
    return (
        case is not None
        and bool(user.roles & EXAMINING_ROLES)
        and can_read_case(user, case)
        and can_see(user, case, ShareableField.EVIDENCE)
    )


def can_manage_hash_lists(user: Any, obj: Any) -> bool:
    """Hash lists hold no personal data; investigators with a national scope keep them."""
    return user.has_role(Role.INVESTIGATOR) and user.effective_scope()[0] == "national"


register(EvidencePermission.READ, can_read_evidence)
register(EvidencePermission.ADD, can_add_evidence)
register(EvidencePermission.REVEAL, can_examine)
register(EvidencePermission.CUSTODY, can_examine)
register(EvidencePermission.EXPORT_HASHES, can_examine)
register(EvidencePermission.HASHLIST_MANAGE, can_manage_hash_lists)


def visible_items(user: Any, case: Case):  # noqa: ANN201
    """The items of `case` that `user` may list (the same rule as can_read_evidence)."""
    qs = EvidenceItem.objects.filter(case=case)
    if not can_read_evidence(user, case):
        return qs.none()
    if user.roles & EXAMINING_ROLES:
        return qs
    return qs.filter(received_by_agency_id=user.agency_id)


# Takedown notices and the national URL block list (amparo.evidence.takedown).


def can_manage_takedown(user: Any, obj: Any) -> bool:
    """Investigators and prosecutors send takedown notices for URLs of a case they can read (obj None:
    may use the takedown page at all)."""
    if not user.has_role(Role.INVESTIGATOR, Role.PROSECUTOR):
        return False
    return obj is None or (isinstance(obj, Case) and can_read_case(user, obj))


def can_manage_blocklist(user: Any, obj: Any) -> bool:
    """The national block list is kept by investigators with a national scope (as the hash lists are)."""
    return user.has_role(Role.INVESTIGATOR) and user.effective_scope()[0] == "national"


register(TakedownPermission.NOTICE_MANAGE, can_manage_takedown)
register(TakedownPermission.BLOCKLIST_MANAGE, can_manage_blocklist)
