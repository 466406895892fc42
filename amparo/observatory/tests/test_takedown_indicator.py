"""The observatory's "median days to removal" (OCSEA.DAYS.REMOVAL) reads the take-down notices the
evidence app records (amparo.evidence.takedown)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from amparo.evidence import takedown
from amparo.evidence.tests.test_takedown import case, investigator, removed_after  # noqa: F401  (fixtures)

# --------------------------------------------------------------------------- the observatory indicator


@pytest.mark.django_db
def test_the_observatory_median_days_to_removal_uses_these_notices(investigator, case):  # noqa: F811  (fixtures)
    from amparo.observatory.compute import Period, compute

    at = timezone.now().replace(day=15, hour=12, minute=0, second=0, microsecond=0)
    for days in (1, 2, 3, 4, 10):
        notice = takedown.create_notice(
            investigator, case, url=f"https://a.example.test/{days}", platform="tiktok"
        )
        removed_after(notice, 24 * days, at=at)
    takedown.create_notice(
        investigator, case, url="https://a.example.test/waiting"
    )  # not removed: not counted
    result = compute("OCSEA.DAYS.REMOVAL", Period.containing("month", timezone.localdate(at)))
    assert result.median == 3.0
