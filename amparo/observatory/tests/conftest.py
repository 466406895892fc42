import pytest
from django.utils import translation

from amparo.cases.tests.fixtures import make_case  # noqa: F401  (fixture: cases' builder)


@pytest.fixture
def english():  # noqa: ANN201
    """For tests that read the English wording of notes and errors (Portuguese is the default)."""
    with translation.override("en"):
        yield
