"""Fixtures of sync's tests: cases' builders (the layer below)."""

from amparo.cases.tests.fixtures import make_case  # noqa: F401  (fixture)
