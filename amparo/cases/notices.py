"""Who is told what about case work (amparo.core.notifications): new referrals, decisions on them, assignments
and missed time limits. Called by the case actions inside their transaction; notices carry the kind, the case
reference and a link, nothing else."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from amparo.cases.models import Case, Referral
from amparo.core.models import Agency, User
from amparo.core.notifications import notify, register_kind
from amparo.core.policy import in_scope
from amparo.core.roles import CASE_ROLES, Role

REFERRAL_RECEIVED = "cases.referral_received"
REFERRAL_ACCEPTED = "cases.referral_accepted"
REFERRAL_DECLINED = "cases.referral_declined"
CASE_ASSIGNED = "cases.case_assigned"
OVERDUE_ACKNOWLEDGE = "cases.overdue_acknowledge"
OVERDUE_ACT = "cases.overdue_act"
REFERRAL_OVERDUE = "cases.referral_overdue"

register_kind(REFERRAL_RECEIVED, _("A case was referred to your agency and waits for an answer."))
register_kind(REFERRAL_ACCEPTED, _("Your referral was accepted."))
register_kind(REFERRAL_DECLINED, _("Your referral was declined."))
register_kind(CASE_ASSIGNED, _("A case was assigned to you."))
register_kind(OVERDUE_ACKNOWLEDGE, _("A case was not acknowledged in time."))
register_kind(OVERDUE_ACT, _("A case was not acted on in time."))
register_kind(REFERRAL_OVERDUE, _("A referral to your agency was not answered in time."))


def case_workers(agency_id: Any, case: Case, roles: Iterable[str] = CASE_ROLES) -> list[User]:
    """Active users of an agency holding one of `roles` whose geographic scope covers the case."""
    users = (
        User.objects.filter(agency_id=agency_id, is_active=True, role_grants__role__in=list(roles))
        .select_related("agency")
        .distinct()
        .order_by("username")
    )
    return [u for u in users if in_scope(u, case.province_id, case.district_id)]


def agency_recipients(agency: Agency | Any, case: Case) -> list[User]:
    """An agency's supervisors for the case's place; its case workers there when it has no supervisor."""
    agency_id = getattr(agency, "pk", agency)
    return case_workers(agency_id, case, [Role.AGENCY_SUPERVISOR]) or case_workers(agency_id, case)


def referral_made(referral: Referral) -> None:
    notify(
        agency_recipients(referral.to_agency_id, referral.case),
        REFERRAL_RECEIVED,
        reference=referral.case.reference,
        url=reverse("cases:referrals"),
        dedup_key=f"referral:{referral.pk}",
    )


def referral_decided(referral: Referral, accepted: bool) -> None:
    if referral.created_by_id is None:
        return
    notify(
        [referral.created_by],
        REFERRAL_ACCEPTED if accepted else REFERRAL_DECLINED,
        reference=referral.case.reference,
        url=reverse("cases:detail", args=[referral.case.reference]),
        dedup_key=f"referral-decided:{referral.pk}",
    )


def case_assigned(case: Case, assignee: User) -> None:
    notify(
        [assignee],
        CASE_ASSIGNED,
        reference=case.reference,
        url=reverse("cases:detail", args=[case.reference]),
    )


def overdue(case: Case, which: str, due_at: dt.datetime, supervisors: list[User]) -> int:
    """One notice per case and deadline to the assignee and the owning agency's supervisors."""
    recipients = [*supervisors, case.assigned_to] if case.assigned_to_id else supervisors
    kind = OVERDUE_ACKNOWLEDGE if which == "acknowledge" else OVERDUE_ACT
    stamp = due_at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S")
    return len(
        notify(
            recipients,
            kind,
            reference=case.reference,
            url=reverse("cases:detail", args=[case.reference]),
            dedup_key=f"overdue:{which}:{case.pk}:{stamp}",
        )
    )


def referral_overdue(referral: Referral) -> int:
    stamp = referral.respond_by.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S") if referral.respond_by else ""
    return len(
        notify(
            agency_recipients(referral.to_agency_id, referral.case),
            REFERRAL_OVERDUE,
            reference=referral.case.reference,
            url=reverse("cases:referrals"),
            dedup_key=f"referral-overdue:{referral.pk}:{stamp}",
        )
    )
