"""Background work of the observatory: keeping indicator snapshots fresh and pushing to DHIS2.

Task arguments are period keys ("2026-10") only; everything else is loaded inside the task.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from amparo.core import audit
from amparo.observatory import compute as c
from amparo.observatory import dhis2
from amparo.observatory import indicators as reg
from amparo.observatory.exports import result_json
from amparo.observatory.models import IndicatorSnapshot
from amparo.observatory.permissions import ObservatoryAudit


def snapshot_views(indicator: reg.Indicator) -> list[tuple[str, ...]]:
    """The views kept as snapshots: the total, each single disaggregation the indicator allows,
    and sex by age band for child victims."""
    if indicator.kind == "funnel":
        return [()]
    views: list[tuple[str, ...]] = [(), *((d,) for d in indicator.disaggregations)]
    if {reg.SEX, reg.AGE_BAND} <= set(indicator.disaggregations) and not indicator.has_rate:
        views.append((reg.SEX, reg.AGE_BAND))
    return views


def refresh_snapshots(
    actor: object,
    periods: Sequence[c.Period],
    *,
    codes: Sequence[str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Recompute the national snapshots of ``periods`` (all available indicators, or ``codes``).

    The views of one indicator and period are computed together (``compute_linked``), as a
    dashboard shows them together. Only published values are stored. Returns the number of views
    written. This is a write: it belongs with the app's actions, and is audited as one entry.
    """
    chosen = [reg.get(code) for code in codes] if codes else reg.all_indicators()
    chosen = [i for i in chosen if i.available]
    written = 0
    now = timezone.now()
    for period in periods:
        for indicator in chosen:
            views = snapshot_views(indicator)
            results = c.compute_linked(indicator.code, period, views)
            with transaction.atomic():
                for by, result in zip(views, results, strict=True):
                    IndicatorSnapshot.objects.update_or_create(
                        code=indicator.code,
                        period=period.key(),
                        by=",".join(by),
                        agency_code="",
                        defaults={
                            "indicator_version": indicator.version,
                            "data": result_json(result),
                            "computed_at": now,
                        },
                    )
                    written += 1
            if progress is not None:
                progress(1)
    with transaction.atomic():
        audit.record(
            actor,
            ObservatoryAudit.SNAPSHOT_REFRESH,
            ("observatory.indicatorsnapshot", ",".join(p.key() for p in periods)),
            ["data"],
        )
    return written


@task()
def refresh_indicators(periods: list[str] | None = None) -> int:
    """Refresh the snapshots of the given periods, or of the current and previous month, quarter
    and year (schedule it, e.g. hourly, or enqueue it after a bulk import)."""
    chosen = [c.Period.parse(p) for p in periods] if periods else c.current_periods()
    return refresh_snapshots(audit.Actor.system("task:refresh_indicators"), chosen)


@task()
def push_to_dhis2(period: str) -> int:
    """Send one period's mapped indicators to DHIS2 (retrying; see amparo.observatory.dhis2.push)."""
    return dhis2.push(c.Period.parse(period)).sent
