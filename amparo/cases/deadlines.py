"""Time limits of case work: each priority has a target to acknowledge a case and a target to act on it.

A case's clock starts when it is received: `create_case` sets `acknowledge_due_at` and `action_due_at`
from the targets of its priority, and `set_priority` recomputes them. A case is *acknowledged* the first
time it is triaged, assigned or acted on, and *acted on* the first time it is referred, put under
investigation or closed (amparo.cases.actions.core). A referral must be answered within the
acknowledge target of its urgency (`Referral.respond_by`).

Everything is stored in UTC and compared as instants, so the result does not depend on the server's
or the reader's time zone; pages show the times in the current time zone (Africa/Maputo, which has no
daylight-saving time).

The targets are configurable with `AMPARO_RESPONSE_TARGETS`, a JSON object read once at start-up
(amparo.settings) by `parse_targets`, which refuses anything it does not understand:

    AMPARO_RESPONSE_TARGETS='{"immediate": {"acknowledge_hours": 0.5, "act_hours": 12}}'

Priorities left out keep their defaults. This module imports no model at import time (the settings
module imports it).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from typing import Any

from amparo.lib.env import ConfigError

SETTING = "AMPARO_RESPONSE_TARGETS"
PRIORITIES = ("immediate", "high", "normal", "low")  # amparo.cases.models.Priority values


@dataclass(frozen=True)
class Target:
    acknowledge: dt.timedelta
    act: dt.timedelta


DEFAULT_TARGETS: dict[str, Target] = {
    "immediate": Target(dt.timedelta(hours=1), dt.timedelta(hours=24)),
    "high": Target(dt.timedelta(hours=24), dt.timedelta(hours=72)),
    "normal": Target(dt.timedelta(hours=72), dt.timedelta(days=14)),
    "low": Target(dt.timedelta(days=7), dt.timedelta(days=30)),
}
_KEYS = ("acknowledge_hours", "act_hours")


def _hours(priority: str, key: str, value: Any) -> dt.timedelta:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ConfigError(
            f"{SETTING}: {priority}.{key} must be a positive number of hours; got {json.dumps(value)}."
        )
    return dt.timedelta(hours=value)


def parse_targets(raw: str) -> dict[str, Target]:
    """The targets for every priority: the defaults, overridden by the JSON object `raw` (may be empty)."""
    targets = dict(DEFAULT_TARGETS)
    if not raw.strip():
        return targets
    example = '{"high": {"acknowledge_hours": 24, "act_hours": 72}}'
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{SETTING} is not valid JSON ({exc.msg}); write it like {example}.") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{SETTING} must be a JSON object like {example}.")
    for priority, value in data.items():
        if priority not in PRIORITIES:
            raise ConfigError(f"{SETTING}: unknown priority {priority!r}; use {', '.join(PRIORITIES)}.")
        if not isinstance(value, dict) or set(value) != set(_KEYS):
            raise ConfigError(
                f"{SETTING}: {priority} needs exactly the keys acknowledge_hours and act_hours."
            )
        target = Target(
            _hours(priority, "acknowledge_hours", value["acknowledge_hours"]),
            _hours(priority, "act_hours", value["act_hours"]),
        )
        if target.act < target.acknowledge:
            raise ConfigError(
                f"{SETTING}: {priority}.act_hours cannot be shorter than its acknowledge_hours."
            )
        targets[priority] = target
    return targets


def targets() -> dict[str, Target]:
    from django.conf import settings

    return getattr(settings, SETTING, None) or DEFAULT_TARGETS


def target_for(priority: str) -> Target:
    return targets().get(priority) or DEFAULT_TARGETS["normal"]


def due_times(priority: str, start: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """(acknowledge by, act by) for a case of `priority` received at `start` (an aware datetime)."""
    start = _utc(start)
    target = target_for(priority)
    return start + target.acknowledge, start + target.act


def respond_by(urgency: str, sent_at: dt.datetime) -> dt.datetime:
    """When the receiving agency should have answered a referral of this urgency."""
    return _utc(sent_at) + target_for(urgency).acknowledge


def _utc(moment: dt.datetime) -> dt.datetime:
    """The same instant in UTC. Adding hours to a time in a zone with daylight-saving time would add
    them to the wall clock (24 "hours" across a change are 23 or 25 real ones); in UTC they are real."""
    if moment.tzinfo is None:
        raise ValueError("deadlines are computed from aware datetimes")
    return moment.astimezone(dt.UTC)


# --- What is overdue -------------------------------------------------------------------------------

ACKNOWLEDGE = "acknowledge"
ACT = "act"


@dataclass(frozen=True)
class Overdue:
    """One missed deadline of a case."""

    case: Any
    which: str  # ACKNOWLEDGE or ACT
    due_at: dt.datetime
    late_by: dt.timedelta


def open_cases(qs: Any) -> Any:
    """Cases whose clock still runs: not closed, not merged into another case."""
    return qs.exclude(status="closed").filter(merged_into__isnull=True)


def overdue_filter(now: dt.datetime) -> Any:
    """A Q for cases with a missed deadline at `now` (cases without due times are never overdue)."""
    from django.db.models import Q

    return Q(acknowledged_at__isnull=True, acknowledge_due_at__lt=now) | Q(
        actioned_at__isnull=True, action_due_at__lt=now
    )


def overdue_cases(qs: Any, now: dt.datetime) -> Any:
    return open_cases(qs).filter(overdue_filter(now))


def missed(case: Any, now: dt.datetime) -> list[Overdue]:
    """The deadlines `case` has missed at `now` (none when closed or merged, or without due times)."""
    if case.status == "closed" or case.merged_into_id is not None:
        return []
    found = []
    if case.acknowledged_at is None and case.acknowledge_due_at and case.acknowledge_due_at < now:
        found.append(Overdue(case, ACKNOWLEDGE, case.acknowledge_due_at, now - case.acknowledge_due_at))
    if case.actioned_at is None and case.action_due_at and case.action_due_at < now:
        found.append(Overdue(case, ACT, case.action_due_at, now - case.action_due_at))
    return found


def next_deadline(case: Any) -> tuple[str, dt.datetime] | None:
    """The next deadline still open for `case`, or None (met, closed, or no due times yet)."""
    if case.status == "closed" or case.merged_into_id is not None:
        return None
    if case.acknowledged_at is None and case.acknowledge_due_at:
        return ACKNOWLEDGE, case.acknowledge_due_at
    if case.actioned_at is None and case.action_due_at:
        return ACT, case.action_due_at
    return None
