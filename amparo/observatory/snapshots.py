"""Published indicator views served from the snapshots the background job keeps.

Computing the national dashboard from 1,000,000 cases takes seconds; reading the stored, already
protected views takes milliseconds. A page, the bulletin and the exports read through a
:class:`Reader`:

* a snapshot is used when it is **fresh**: every canonical view of the indicator and period is
  stored, from one refresh, under the indicator's current version, less than
  ``AMPARO_OBSERVATORY_SNAPSHOT_MAX_AGE_MINUTES`` old (default 180);
* otherwise the views are computed now (a quarter or a year from its months, stored or computed)
  and a refresh of those periods is scheduled once the request's transaction commits;
* :attr:`Reader.as_of` is the time of the oldest figure shown ("figures as of ..."): the oldest
  snapshot used, or now when anything was computed live.

Snapshots hold the whole country only; an agency supervisor's figures are computed live.

The periodic job ``observatory.refresh`` (every ``AMPARO_OBSERVATORY_REFRESH_MINUTES``, default
60) refreshes :func:`refresh_plan`: every indicator for the periods the dashboard offers, and the
reports received for the earlier periods its time series show. A coordinator can ask for a refresh
from the dashboard (:func:`amparo.observatory.actions.request_refresh`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from amparo.core.models import Agency
from amparo.lib.env import env_int
from amparo.observatory import compute as c
from amparo.observatory import indicators as reg
from amparo.observatory.results import _Labels

REPORTS = "OCSEA.REPORTS.RECEIVED"
SERIES_LENGTH = {"month": 12, "quarter": 8, "year": 5}
# How long a scheduled refresh keeps further requests for the same periods from scheduling another.
SCHEDULE_QUIET = dt.timedelta(minutes=10)


def refresh_every() -> dt.timedelta:
    return dt.timedelta(minutes=env_int("AMPARO_OBSERVATORY_REFRESH_MINUTES", 60, minimum=1))


def max_age() -> dt.timedelta:
    return dt.timedelta(minutes=env_int("AMPARO_OBSERVATORY_SNAPSHOT_MAX_AGE_MINUTES", 180, minimum=1))


# --- Which periods the dashboard shows ----------------------------------------------------------------


def offered_periods(today: dt.date | None = None) -> list[c.Period]:
    """The periods offered in the dashboard's filter: the last 3 years, 4 quarters and 12 months."""
    today = today or timezone.localdate()
    periods: list[c.Period] = []
    for kind, count in (("year", 3), ("quarter", 4), ("month", 12)):
        current = c.Period.containing(kind, today)
        periods += [current.previous(back) for back in range(count)]
    return periods


def series_periods(period: c.Period) -> list[c.Period]:
    """Periods of the same kind as ``period``, ending with it (the dashboard's time series)."""
    n = SERIES_LENGTH.get(period.kind, 12)
    return [period.previous(back) for back in range(n - 1, 0, -1)] + [period]


def refresh_plan(today: dt.date | None = None) -> list[tuple[list[c.Period], list[str] | None]]:
    """What the periodic job refreshes: (periods, codes or None for every indicator)."""
    full = offered_periods(today)
    earlier = [p for period in full for p in series_periods(period) if p not in full]
    return [(full, None), (list(dict.fromkeys(earlier)), [REPORTS])]


def plan_for(period: c.Period) -> list[tuple[list[c.Period], list[str] | None]]:
    """What one dashboard page needs: every indicator for ``period``, reports received for the
    earlier periods of its time series."""
    return [([period], None), ([p for p in series_periods(period) if p != period], [REPORTS])]


# --- Reading ------------------------------------------------------------------------------------------


def _by_key(text: str) -> tuple[str, ...]:
    return tuple(text.split(",")) if text else ()


class Reader:
    """The published views for one page (or bulletin, or export), snapshots first.

    ``use_snapshots=False`` computes everything (the background refresh itself).
    """

    def __init__(self, agency: Agency | None = None, *, use_snapshots: bool = True) -> None:
        self.agency = agency
        self.now = timezone.now()
        self.use_snapshots = use_snapshots and agency is None
        self.stale: dict[str, set[str]] = {}  # period key -> indicator codes computed live
        self.snapshot_times: list[dt.datetime] = []
        self._rows: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._labels = _Labels()  # one label cache for every stored view read
        self.publisher = c.Publisher(agency, self._load if self.use_snapshots else None)

    # The public API mirrors amparo.observatory.compute.

    def result(self, code: str, period: c.Period, by: tuple[str, ...] = ()) -> c.Result:
        return self.publisher.result(code, period, tuple(by))

    def linked(self, code: str, period: c.Period, bys: Sequence[tuple[str, ...]]) -> list[c.Result]:
        return self.publisher.linked(code, period, bys)

    def series(self, code: str, periods: Sequence[c.Period]) -> list[tuple[c.Period, Any]]:
        self.prefetch([code], periods)
        return self.publisher.series(code, periods)

    @property
    def live(self) -> bool:
        """True when some figure was computed now (its snapshot missing or stale)."""
        return bool(self.stale) or not self.use_snapshots

    @property
    def as_of(self) -> dt.datetime:
        """When the oldest figure read was computed."""
        if self.live or not self.snapshot_times:
            return self.now
        return min(self.snapshot_times)

    def prefetch(self, codes: Iterable[str], periods: Iterable[c.Period]) -> None:
        """Load the snapshots of these indicators and periods (and of their months) in one query."""
        if not self.use_snapshots:
            return
        from amparo.observatory.models import IndicatorSnapshot

        keys: set[str] = set()
        for period in periods:
            keys.add(period.key())
            if period.kind != "month":
                keys.update(m.key() for m in c.months_of(period))
        wanted = {(code, key) for code in codes for key in keys} - set(self._rows)
        if not wanted:
            return
        rows = IndicatorSnapshot.objects.filter(
            code__in=sorted({code for code, _k in wanted}),
            period__in=sorted({key for _c, key in wanted}),
            agency_code="",
        ).values("code", "period", "by", "indicator_version", "data", "computed_at")
        for pair in wanted:
            self._rows[pair] = []
        for row in rows:
            pair = (row["code"], row["period"])
            if pair in wanted:
                self._rows[pair].append(row)

    def _load(
        self, indicator: reg.Indicator, period: c.Period, agency: Agency | None
    ) -> dict[tuple[str, ...], c.Result] | None:
        if agency is not None or not indicator.available or indicator.kind == "unavailable":
            return None  # computed at once, nothing to read
        pair = (indicator.code, period.key())
        if pair not in self._rows:
            self.prefetch([indicator.code], [period])
        stored = {_by_key(row["by"]): row for row in self._rows.get(pair, [])}
        views = c.canonical_views(indicator)
        rows = [stored.get(by) for by in views]
        times = {row["computed_at"] for row in rows if row is not None}
        fresh = (
            all(row is not None and row["indicator_version"] == indicator.version for row in rows)
            and len(times) == 1
            and min(times) >= self.now - max_age()
        )
        if not fresh:
            self.stale.setdefault(period.key(), set()).add(indicator.code)
            return None
        self.snapshot_times.append(min(times))
        return {
            by: c.result_from_json(indicator, period, row["data"], self._labels)
            for by, row in zip(views, rows, strict=True)
        }

    def schedule_refresh(self) -> bool:
        """Ask the worker to refresh what was stale (once per SCHEDULE_QUIET for the same set), after
        the current transaction commits. Returns True when a refresh was scheduled."""
        if not self.stale or not self.use_snapshots:
            return False
        periods = sorted(self.stale)
        codes = sorted({code for found in self.stale.values() for code in found})
        digest = hashlib.sha256(f"{periods}|{codes}".encode()).hexdigest()[:32]
        if not cache.add(f"observatory:refresh:{digest}", True, timeout=SCHEDULE_QUIET.total_seconds()):
            return False
        from amparo.observatory.tasks import refresh_indicators

        transaction.on_commit(lambda: refresh_indicators.enqueue(periods=periods, codes=codes))
        return True
