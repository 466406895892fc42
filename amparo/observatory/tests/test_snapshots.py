"""Pages read the stored, already protected views when they are fresh; stale or missing ones are
computed for the page and a refresh is scheduled; a coordinator may ask for a refresh."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.core.exceptions import PermissionDenied

from amparo.core.models import AuditEntry
from amparo.observatory import actions, snapshots
from amparo.observatory import compute as c
from amparo.observatory.models import IndicatorSnapshot
from amparo.observatory.permissions import ObservatoryAudit
from amparo.observatory.tasks import refresh_snapshots
from amparo.observatory.tests.test_compute import MARCH, SYSTEM, at, new_case

REPORTS = "OCSEA.REPORTS.RECEIVED"


def province(result: c.Result, code: str) -> str:
    return {row.key["province"]: row.value.display() for row in result.rows}[code]


@pytest.fixture(autouse=True)
def _empty_cache():  # noqa: ANN202
    cache.clear()
    yield
    cache.clear()


@pytest.mark.django_db
def test_a_fresh_snapshot_is_read_and_nothing_is_computed() -> None:
    for _ in range(9):
        new_case(at(3), district="MZ0702")
    refresh_snapshots(SYSTEM, [MARCH], codes=[REPORTS])
    for _ in range(6):  # recorded after the refresh: not in the stored figures yet
        new_case(at(3), district="MZ0702")
    reader = snapshots.Reader()
    result = reader.result(REPORTS, MARCH, ("province",))
    assert province(result, "MZ07") == "9"
    assert not reader.live
    assert reader.as_of == IndicatorSnapshot.objects.filter(code=REPORTS).latest("computed_at").computed_at
    assert not reader.schedule_refresh()
    assert province(c.compute(REPORTS, MARCH, ("province",)), "MZ07") == "15"


@pytest.mark.django_db
def test_a_stale_snapshot_is_computed_for_the_page_and_a_refresh_is_scheduled() -> None:
    for _ in range(9):
        new_case(at(3), district="MZ0702")
    refresh_snapshots(SYSTEM, [MARCH], codes=[REPORTS])
    old = IndicatorSnapshot.objects.filter(code=REPORTS)
    old.update(computed_at=old.first().computed_at - snapshots.max_age() - dt.timedelta(minutes=1))
    for _ in range(6):
        new_case(at(3), district="MZ0702")
    reader = snapshots.Reader()
    assert province(reader.result(REPORTS, MARCH, ("province",)), "MZ07") == "15"
    assert reader.live
    assert reader.stale == {"2026-03": {REPORTS}}
    assert reader.schedule_refresh()
    again = snapshots.Reader()  # a second page within the quiet time ...
    again.result(REPORTS, MARCH, ("province",))
    assert not again.schedule_refresh()  # ... schedules nothing more


@pytest.mark.django_db
def test_a_quarter_read_from_snapshots_equals_the_quarter_computed() -> None:
    for month, n in ((1, 3), (2, 9), (3, 7)):
        for _ in range(n):
            new_case(at(9, month=month), district="MZ0702")
    quarter = c.Period.parse("2026Q1")
    refresh_snapshots(SYSTEM, [quarter], codes=[REPORTS])
    stored = IndicatorSnapshot.objects.filter(code=REPORTS).values_list("period", flat=True)
    assert {"2026-01", "2026-02", "2026-03", "2026Q1"} <= set(stored)  # the months it was made from too
    reader = snapshots.Reader()
    read = reader.result(REPORTS, quarter, ("province",))
    computed = c.compute(REPORTS, quarter, ("province",))
    assert not reader.live
    assert [r.value.display() for r in read.rows] == [r.value.display() for r in computed.rows]
    assert read.total.display() == computed.total.display() == "x"  # January is "<5"


@pytest.mark.django_db
def test_a_coordinator_asks_for_a_refresh_and_it_is_audited(make_user) -> None:  # noqa: ANN001
    coordinator = make_user("national_coordinator", agency="mgcas")
    keys = actions.request_refresh(coordinator, MARCH)
    assert keys[0] == "2026-03"
    assert set(keys[1:]) == {p.key() for p in snapshots.series_periods(MARCH) if p != MARCH}
    entry = AuditEntry.objects.get(action=ObservatoryAudit.SNAPSHOT_REFRESH_REQUEST)
    assert entry.object_id == "2026-03"
    assert entry.actor_user_id == coordinator.pk
    assert entry.fields == []


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["analyst", "agency_supervisor"])
def test_only_a_coordinator_may_ask_for_a_refresh(make_user, role) -> None:  # noqa: ANN001
    with pytest.raises(PermissionDenied):
        actions.request_refresh(make_user(role, agency="sernic"), MARCH)
    assert not AuditEntry.objects.filter(action=ObservatoryAudit.SNAPSHOT_REFRESH_REQUEST).exists()
