"""Fixtures the outreach tests share with intake's: the local server playing the SMS provider, and
intake's per-process caches forgotten around each test (channels are created per test)."""

from amparo.cases.tests.fixtures import make_case  # noqa: F401  (fixture: cases' builder)
from amparo.intake.tests.conftest import _forget_intake_caches  # noqa: F401  (autouse fixture)
from amparo.intake.tests.test_providers import fake_provider  # noqa: F401  (fixture)
