"""Intake's per-process caches (channels, the web form's agency, districts) must not outlive a test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from amparo.cases.tests.fixtures import make_case  # noqa: F401  (fixture: cases' builder)
from amparo.intake import actions, forms, webhooks


def _forget() -> None:
    webhooks.forget_channels()
    actions.forget_web_agency()
    forms.forget_districts()


@pytest.fixture(autouse=True)
def _forget_intake_caches() -> Iterator[None]:
    _forget()
    yield
    _forget()
