"""What of a case a user may see: the sections chosen for sharing in a referral.

The owning agency sees every section. An agency that holds a case through an accepted referral sees
the non-identifying facts of the case (forms, platforms, place, dates, status, priority, ages and
sexes) and, beyond them, only the sections (ShareableField) its accepted referrals chose. On top of
that, identifying fields are shown only to identity roles (CasePermission.READ_IDENTITY).

Every place that shows case data — pages, the staff API, exports and PDFs — asks here first.
"""

from __future__ import annotations

from typing import Any

from amparo.cases.models import Case, Referral, ReferralStatus, ShareableField

ALL_SECTIONS = frozenset(ShareableField.values)


def visible_sections(user: Any, case: Case) -> frozenset[str]:
    """The ShareableField codes `user` may see on `case` (assumes can(user, READ, case) holds)."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    if case.owning_agency_id == user.agency_id:
        return ALL_SECTIONS
    chosen: set[str] = set()
    for fields in Referral.objects.filter(
        case=case, to_agency_id=user.agency_id, status=ReferralStatus.ACCEPTED
    ).values_list("shared_fields", flat=True):
        chosen.update(f for f in fields or () if f in ALL_SECTIONS)
    return frozenset(chosen)


def can_see(user: Any, case: Case, section: str) -> bool:
    return section in visible_sections(user, case)
