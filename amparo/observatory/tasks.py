"""Background work of the observatory: keeping indicator snapshots fresh and pushing to DHIS2.

Task arguments are period keys ("2026-10") and indicator codes only; everything else is loaded
inside the task.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from amparo.core import audit
from amparo.observatory import compute as c
from amparo.observatory import dhis2, snapshots
from amparo.observatory import indicators as reg
from amparo.observatory.exports import result_json
from amparo.observatory.models import IndicatorSnapshot
from amparo.observatory.permissions import ObservatoryAudit

# The views kept as snapshots are the canonical views every output publishes.
snapshot_views = c.canonical_views


def refresh_snapshots(
    actor: object,
    periods: Sequence[c.Period],
    *,
    codes: Sequence[str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Recompute the national snapshots of ``periods`` (all available indicators, or ``codes``).

    Each indicator and period is computed as its canonical set of views (protected together); a
    quarter or a year is derived from its months, and those months are stored too (they are the
    figures the quarter or year was made from). Only published values are stored, all with one
    ``computed_at``. Returns the number of views written. Audited as one entry.
    """
    chosen = [reg.get(code) for code in codes] if codes else reg.all_indicators()
    chosen = [i for i in chosen if i.available and i.kind != "unavailable"]
    written = 0
    now = timezone.now()
    publisher = c.Publisher()  # computes everything; shares the months between periods
    for indicator in chosen:
        keys: dict[str, c.Period] = {}
        for period in periods:
            keys[period.key()] = period
            if period.kind != "month":
                keys.update((m.key(), m) for m in c.months_of(period))
        for period in sorted(keys.values(), key=lambda p: (p.start, -p.end.toordinal())):
            group = publisher.group(indicator.code, period)
            with transaction.atomic():
                for by, result in group.items():
                    data = {**result_json(result), "note_keys": c.note_keys(result)}
                    IndicatorSnapshot.objects.update_or_create(
                        code=indicator.code,
                        period=period.key(),
                        by=",".join(by),
                        agency_code="",
                        defaults={"indicator_version": indicator.version, "data": data, "computed_at": now},
                    )
                    written += 1
        if progress is not None:
            progress(len(periods))
    with transaction.atomic():
        audit.record(
            actor,
            ObservatoryAudit.SNAPSHOT_REFRESH,
            ("observatory.indicatorsnapshot", _periods_id(periods)),
            ["data"],
        )
    return written


def _periods_id(periods: Sequence[c.Period]) -> str:
    """The audit entry's object id (at most 64 characters): the period keys, or their range."""
    keys = [p.key() for p in periods]
    joined = ",".join(keys)
    if len(joined) <= 64:
        return joined
    ordered = sorted(periods, key=lambda p: (p.start, p.end))
    return f"{ordered[0].key()}..{ordered[-1].key()} ({len(keys)})"


def refresh_plan_now(actor: object, plan: Sequence[tuple[list[c.Period], list[str] | None]]) -> int:
    return sum(refresh_snapshots(actor, periods, codes=codes) for periods, codes in plan if periods)


@task()
def refresh_indicators(periods: list[str] | None = None, codes: list[str] | None = None) -> int:
    """Refresh the snapshots of the given periods (and indicator codes), or, with no periods, what
    the dashboard offers (:func:`amparo.observatory.snapshots.refresh_plan`)."""
    actor = audit.Actor.system("task:refresh_indicators")
    if not periods:
        return refresh_plan_now(actor, snapshots.refresh_plan())
    return refresh_snapshots(actor, [c.Period.parse(p) for p in periods], codes=codes or None)


def refresh_periodic() -> int:
    """The periodic job ``observatory.refresh`` (registered in AppConfig.ready)."""
    return refresh_plan_now(audit.Actor.system("periodic:observatory.refresh"), snapshots.refresh_plan())


@task()
def push_to_dhis2(period: str) -> int:
    """Send one period's mapped indicators to DHIS2 (retrying; see amparo.observatory.dhis2.push)."""
    return dhis2.push(c.Period.parse(period)).sent
