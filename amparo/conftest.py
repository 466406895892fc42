"""Shared fixtures: one set of users per agency and role (healthchecks' alice/bob/charlie, for Amparo)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from amparo.core import audit
from amparo.core.actions import create_user
from amparo.core.models import Agency, District, Province, User

SYSTEM = audit.Actor.system("tests")
_counter = itertools.count()


@pytest.fixture
def make_user(db) -> Callable[..., User]:  # noqa: ANN001
    """make_user("investigator", agency="sernic", scope_level="province", scope_province="MZ07")."""

    def make(
        *roles: str,
        agency: str | Agency = "sernic",
        username: str | None = None,
        password: str = "correct horse battery staple",  # noqa: S107  (test users only)
        scope_level: str = "",
        scope_province: str | None = None,
        scope_district: str | None = None,
    ) -> User:
        if isinstance(agency, str):
            agency = Agency.objects.get(code=agency)
        return create_user(
            SYSTEM,
            username=username or f"{'-'.join(roles) or 'norole'}-{agency.code}-{next(_counter)}",
            agency=agency,
            roles=roles,
            password=password,
            scope_level=scope_level,
            scope_province=Province.objects.get(pk=scope_province) if scope_province else None,
            scope_district=District.objects.get(pk=scope_district) if scope_district else None,
        )

    return make


@pytest.fixture
def make_case(db) -> Callable[..., object]:  # noqa: ANN001
    """make_case(agency="linha-fala-crianca", district="MZ0702", victim_name="Ana Teste", ...)."""
    from amparo.cases import actions

    def make(
        agency: str | Agency = "linha-fala-crianca",
        district: str | None = "MZ0702",
        narrative: str = "A synthetic narrative for tests.",
        forms: tuple[str, ...] = ("grooming",),
        platforms: tuple[str, ...] = ("whatsapp",),
        victim_name: str = "",
        victim_phone: str = "",
        **kwargs: object,
    ):  # noqa: ANN202
        if isinstance(agency, str):
            agency = Agency.objects.get(code=agency)
        d = District.objects.get(pk=district) if district else None
        case = actions.create_case(
            SYSTEM,
            channel=kwargs.pop("channel", "helpline"),
            owning_agency=agency,
            district=d,
            narrative=narrative,
            forms=forms,
            platforms=platforms,
            **kwargs,
        )
        if victim_name or victim_phone:
            actions.add_person(SYSTEM, case, role="victim", name=victim_name, phone=victim_phone, age=14, sex="female")
        return case

    return make
