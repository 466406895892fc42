"""The geographic scope rule, stated once (amparo.core.policy.scope_lookups) and read two ways: as a test
of one place (`in_scope`) and as a query filter (`scope_q`)."""

from __future__ import annotations

import pytest
from django.db.models import Q

from amparo.core.policy import in_scope, scope_lookups, scope_q


class Scoped:
    """A user reduced to what the scope rule reads."""

    def __init__(self, level: str, province: str | None = None, district: str | None = None) -> None:
        self.scope = (level, province, district)

    def effective_scope(self) -> tuple[str, str | None, str | None]:
        return self.scope


PLACES = [("MZ07", "MZ0702"), ("MZ07", "MZ0703"), ("MZ01", "MZ0101"), ("MZ07", None), (None, None)]


@pytest.mark.parametrize(
    ("user", "lookups", "inside"),
    [
        (Scoped("national"), {}, PLACES),
        (Scoped("province", "MZ07"), {"province_id": "MZ07"}, PLACES[:2] + [PLACES[3]]),
        (Scoped("district", "MZ07", "MZ0702"), {"district_id": "MZ0702"}, PLACES[:1]),
        (Scoped("province"), None, []),  # a level that names no place grants nothing
        (Scoped("district", "MZ07"), None, []),
        (Scoped(""), None, []),
    ],
    ids=["national", "province", "district", "province-without-place", "district-without-place", "none"],
)
def test_one_rule_gives_the_lookups_the_place_test_and_the_filter(user, lookups, inside) -> None:  # noqa: ANN001
    assert scope_lookups(user) == lookups
    assert [place for place in PLACES if in_scope(user, *place)] == inside
    expected = Q(pk__in=[]) if lookups is None else Q(**lookups)
    assert scope_q(user) == expected


def test_the_filter_reaches_the_place_through_a_relation() -> None:
    assert scope_q(Scoped("province", "MZ07"), "case__") == Q(case__province_id="MZ07")
    assert scope_q(Scoped("national"), "case__") == Q()
