"""The national action tracker: who may read and edit it, and the questions the coordinator asks
of it (which actions stall, where nobody has been trained).

Permission and audit names live here, next to their rules, because ``permissions.py`` and
``policy.py`` of this app belong to the indicator registry; the rules are registered from
``ObservatoryConfig.ready()``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.db.models import Prefetch, Sum

from amparo.core import policy
from amparo.core.models import District, Province
from amparo.core.roles import Role
from amparo.observatory.models import Action, ActionStatus, Milestone, TrainingSession


class TrackerPermission(StrEnum):
    READ = "observatory:tracker:read"
    EDIT = "observatory:tracker:edit"


class TrackerAudit(StrEnum):
    SEED = "observatory:action:seed"
    ACTION_UPDATE = "observatory:action:update"
    MILESTONE_CREATE = "observatory:milestone:create"
    MILESTONE_UPDATE = "observatory:milestone:update"
    TRAINING_CREATE = "observatory:training:create"
    PARTICIPANTS_ADD = "observatory:training_participant:create"


def _national(user: Any) -> bool:
    return user.effective_scope()[0] == "national"


def register_rules() -> None:
    policy.register(
        TrackerPermission.READ,
        lambda user, obj: user.has_role(Role.NATIONAL_COORDINATOR, Role.ANALYST),
    )
    policy.register(
        TrackerPermission.EDIT,
        lambda user, obj: user.has_role(Role.NATIONAL_COORDINATOR) and _national(user),
    )


@dataclass(frozen=True)
class StallReport:
    action: Action
    overdue: list[Milestone]
    stalled: bool

    @property
    def overspent(self) -> bool:
        return self.action.budget_spent > self.action.budget_allocated


def actions_with_milestones():  # noqa: ANN201
    return Action.objects.select_related("lead_agency").prefetch_related(
        "supporting_agencies", Prefetch("milestones", queryset=Milestone.objects.order_by("due_date", "id"))
    )


def stalling(today: dt.date) -> list[StallReport]:
    """Actions that stall: marked stalled, or not done with a milestone past its due date."""
    found = []
    for action in actions_with_milestones():
        overdue = action.overdue_milestones(today) if action.status != ActionStatus.DONE else []
        stalled = action.status == ActionStatus.STALLED
        if stalled or overdue:
            found.append(StallReport(action, overdue, stalled))
    return found


@dataclass(frozen=True)
class TrainingCoverage:
    """Where training sessions were held in one province (events, not people)."""

    province: Province
    urban_sessions: int
    rural_sessions: int
    districts_without: list[District]

    @property
    def never_trained(self) -> bool:
        return not (self.urban_sessions or self.rural_sessions)

    @property
    def only_in_capital(self) -> bool:
        """Training reached the capital but no other district (the seeds ask for both)."""
        return bool(self.urban_sessions) and not self.rural_sessions


def training_coverage(start: dt.date | None = None, end: dt.date | None = None) -> list[TrainingCoverage]:
    """For each province: sessions held in and outside its capital from ``start`` up to (not
    including) ``end``, and the districts where none was held.

    Sessions are events, not people; pages show only whether sessions were held and where, and
    take the number of people trained from the indicator, which protects small counts.
    """
    held_sessions = TrainingSession.objects.all()
    if start is not None:
        held_sessions = held_sessions.filter(date__gte=start)
    if end is not None:
        held_sessions = held_sessions.filter(date__lt=end)
    held = set(held_sessions.values_list("district_id", flat=True).distinct())
    sessions = held_sessions.values_list("district__province_id", "urban")
    urban: dict[str, int] = {}
    rural: dict[str, int] = {}
    for province_id, is_urban in sessions:
        target = urban if is_urban else rural
        target[province_id] = target.get(province_id, 0) + 1
    rows = []
    for province in Province.objects.prefetch_related("districts"):
        rows.append(
            TrainingCoverage(
                province,
                urban.get(province.pk, 0),
                rural.get(province.pk, 0),
                [d for d in province.districts.all() if d.pk not in held],
            )
        )
    return rows


def participants_total(session: TrainingSession) -> int:
    totals = session.participants.aggregate(f=Sum("female"), m=Sum("male"))
    return (totals["f"] or 0) + (totals["m"] or 0)
