"""The case permissions are all registered with the one policy (amparo.core.policy), and a case rule,
once registered, cannot be replaced (core's own tests check the same for core's permissions)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import pytest

from amparo.cases.permissions import CasePermission
from amparo.core import policy
from amparo.core.policy import register, registered


@pytest.mark.parametrize("permission", list(CasePermission), ids=str)
def test_every_case_permission_has_a_rule(permission: StrEnum) -> None:
    assert str(permission) in registered()


def test_a_registered_case_rule_cannot_be_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    rules: dict[str, Any] = dict(policy._rules)
    monkeypatch.setattr(policy, "_rules", rules)
    original = rules[str(CasePermission.READ)]
    with pytest.raises(ValueError, match="already registered"):
        register(CasePermission.READ, lambda user, obj: True)
    assert rules[str(CasePermission.READ)] is original


@pytest.mark.django_db
@pytest.mark.parametrize(
    "scope",
    [
        {},
        {"scope_level": "national"},
        {"scope_level": "province", "scope_province": "MZ07"},
        {"scope_level": "district", "scope_province": "MZ07", "scope_district": "MZ0702"},
    ],
    ids=["agency-scope", "national", "province", "district"],
)
def test_the_scope_filter_lists_exactly_the_cases_the_scope_test_admits(make_user, make_case, scope) -> None:  # noqa: ANN001
    from amparo.cases.models import Case
    from amparo.cases.policy import visible_cases
    from amparo.core.policy import in_scope, scope_q

    cases = [make_case(district=d) for d in ("MZ0702", "MZ0703", "MZ0101", None)]
    user = make_user("helpline_operator", agency="linha-fala-crianca", **scope)
    admitted = {c.pk for c in cases if in_scope(user, c.province_id, c.district_id)}
    assert set(Case.objects.filter(scope_q(user)).values_list("pk", flat=True)) == admitted
    assert set(visible_cases(user).values_list("pk", flat=True)) == admitted  # the owning agency's cases
