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
