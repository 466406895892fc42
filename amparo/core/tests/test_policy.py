"""The one access policy (amparo.core.policy): who may be asked about at all, the rule registry,
and the geographic scope test every case rule relies on."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser

from amparo.core import policy
from amparo.core.models import Agency, User
from amparo.core.permissions import CorePermission
from amparo.core.policy import UnknownPermission, can, in_scope, register, registered
from amparo.core.roles import Role


class Probe(StrEnum):
    """A permission that exists only in these tests."""

    TOUCH = "tests:probe:touch"


@pytest.fixture
def rules(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A private copy of the registry: registrations made by a test vanish with it."""
    copy = dict(policy._rules)
    monkeypatch.setattr(policy, "_rules", copy)
    return copy


@pytest.fixture
def spy(rules: dict[str, Any]) -> list[Any]:
    """Registers Probe.TOUCH with a rule that says yes and remembers whom it was asked about."""
    asked: list[Any] = []

    def rule(user: Any, obj: Any) -> bool:
        asked.append(user)
        return True

    register(Probe.TOUCH, rule)
    return asked


# ---------------------------------------------------------------------------------------------
# Only an authenticated, active user of an agency is asked about.
# ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_active_user_of_an_agency_reaches_the_rule(make_user: Callable[..., User], spy: list[Any]) -> None:
    user = make_user(Role.ANALYST)
    assert can(user, Probe.TOUCH) is True
    assert spy == [user]


@pytest.mark.django_db
def test_inactive_user_never_reaches_a_rule(make_user: Callable[..., User], spy: list[Any]) -> None:
    user = make_user(Role.SYSADMIN)
    user.is_active = False
    assert can(user, Probe.TOUCH) is False
    assert can(user, CorePermission.USER_MANAGE) is False
    assert spy == []


@pytest.mark.django_db
def test_user_without_an_agency_never_reaches_a_rule(spy: list[Any]) -> None:
    orphan = User(username="orphan")  # no agency: not a staff user of any body
    assert orphan.is_authenticated
    assert orphan.is_active
    for permission in [Probe.TOUCH, *sorted(registered())]:  # every app's permissions
        assert can(orphan, permission) is False
    assert spy == []


@pytest.mark.parametrize("who", [AnonymousUser(), None], ids=["anonymous", "none"])
def test_anonymous_or_missing_user_never_reaches_a_rule(spy: list[Any], who: Any) -> None:
    for permission in [Probe.TOUCH, *sorted(registered())]:  # every app's permissions
        assert can(who, permission) is False
    assert spy == []


@pytest.mark.django_db
def test_can_returns_a_real_boolean(make_user: Callable[..., User], rules: dict[str, Any]) -> None:
    register(Probe.TOUCH, lambda user, obj: "a truthy string")
    assert can(make_user(Role.ANALYST), Probe.TOUCH) is True


# ---------------------------------------------------------------------------------------------
# The registry.
# ---------------------------------------------------------------------------------------------

PERMISSION_SHAPE = re.compile(r"^[a-z0-9]+:[a-z0-9_]+:[a-z0-9_]+$")


@pytest.mark.parametrize("permission", list(CorePermission), ids=str)
def test_every_permission_has_a_rule(permission: StrEnum) -> None:
    assert str(permission) in registered()


def test_permission_names_have_the_scope_resource_action_shape() -> None:
    for name in registered():
        assert PERMISSION_SHAPE.match(name), name


def test_unknown_permission_raises_even_for_anonymous() -> None:
    with pytest.raises(UnknownPermission):
        can(AnonymousUser(), Probe.TOUCH)
    assert issubclass(UnknownPermission, LookupError)


def test_a_second_different_rule_for_a_permission_raises(rules: dict[str, Any]) -> None:
    def first(user: Any, obj: Any) -> bool:
        return False

    def second(user: Any, obj: Any) -> bool:
        return True

    register(Probe.TOUCH, first)
    register(Probe.TOUCH, first)  # the same rule again (a module imported twice) is harmless
    with pytest.raises(ValueError, match="already registered"):
        register(Probe.TOUCH, second)
    assert rules[str(Probe.TOUCH)] is first


@pytest.mark.parametrize("permission", [CorePermission.AUDIT_READ, CorePermission.USER_MANAGE], ids=str)
def test_a_real_rule_cannot_be_replaced(rules: dict[str, Any], permission: StrEnum) -> None:
    original = rules[str(permission)]
    with pytest.raises(ValueError, match="already registered"):
        register(permission, lambda user, obj: True)
    assert rules[str(permission)] is original


def test_the_registry_fixture_leaves_the_real_registry_alone() -> None:
    assert str(Probe.TOUCH) not in registered()


# ---------------------------------------------------------------------------------------------
# Geographic scope.
# ---------------------------------------------------------------------------------------------


@dataclass
class Scoped:
    scope: tuple[str, str | None, str | None]

    def effective_scope(self) -> tuple[str, str | None, str | None]:
        return self.scope


IN_SCOPE = [
    # user's scope, place (province, district), inside?
    (("national", None, None), ("MZ07", "MZ0702"), True),
    (("national", None, None), (None, None), True),
    (("province", "MZ07", None), ("MZ07", "MZ0702"), True),
    (("province", "MZ07", None), ("MZ07", None), True),
    (("province", "MZ07", None), ("MZ06", "MZ0601"), False),
    (("province", "MZ07", None), (None, None), False),
    (("province", None, None), (None, None), False),  # a level without a place grants nothing
    (("district", "MZ07", "MZ0702"), ("MZ07", "MZ0702"), True),
    (("district", "MZ07", "MZ0702"), ("MZ07", "MZ0703"), False),
    (("district", "MZ07", "MZ0702"), ("MZ07", None), False),
    (("district", "MZ07", None), ("MZ07", None), False),
    (("district", None, None), (None, None), False),
    (("", None, None), ("MZ07", "MZ0702"), False),  # an unknown level grants nothing
    (("planet", None, None), ("MZ07", "MZ0702"), False),
]


@pytest.mark.parametrize(("scope", "place", "inside"), IN_SCOPE)
def test_in_scope(
    scope: tuple[str, str | None, str | None], place: tuple[str | None, str | None], inside: bool
) -> None:
    assert in_scope(Scoped(scope), *place) is inside


@pytest.mark.django_db
def test_effective_scope_inherits_the_agency_scope_unless_the_user_has_one(
    make_user: Callable[..., User],
) -> None:
    court = Agency.objects.get(code="tribunal-menores-maputo")
    assert make_user(Role.COURT_OFFICER, agency=court).effective_scope() == ("province", "MZ06", None)
    own = make_user(
        Role.COURT_OFFICER,
        agency=court,
        scope_level="district",
        scope_province="MZ06",
        scope_district="MZ0601",
    )
    assert own.effective_scope() == ("district", "MZ06", "MZ0601")
    assert make_user(Role.INVESTIGATOR, agency="sernic").effective_scope() == ("national", None, None)
