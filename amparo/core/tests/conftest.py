"""Fixtures of the core tests."""

from amparo.core.tests.installations import empty_database  # noqa: F401  (a fixture: another installation's database)
