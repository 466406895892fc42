"""Cases' test builders, for the tests of cases and of the apps above it (each app's tests/conftest.py
imports `make_case`; core's tests, a layer below, build core objects only)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from amparo.cases import actions
from amparo.conftest import SYSTEM
from amparo.core.models import Agency, District


@pytest.fixture
def make_case(db) -> Callable[..., object]:  # noqa: ANN001
    """make_case(agency="linha-fala-crianca", district="MZ0702", victim_name="Ana Teste", ...)."""

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
            actions.add_person(
                SYSTEM, case, role="victim", name=victim_name, phone=victim_phone, age=14, sex="female"
            )
        return case

    return make


def given_consent(case, actor=SYSTEM, at=None):  # noqa: ANN001, ANN201
    """A consent record that permits sharing `case` (the child and the caregiver agreed), for tests that
    refer cases; `at` back-dates it (system actors only, like every back-dated write)."""
    return actions.record_consent(
        actor,
        case,
        purpose="Referral (tests)",
        child_consent="given",
        caregiver_consent="given",
        at=at,
    )
