"""Other apps add indicators to the registry (``register_indicator``, ``register_dimension``) without
the observatory importing them; their figures go through the same computation and disclosure
control as the built-in ones."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Case, CharField, F, Value, When
from django.utils.translation import gettext_lazy

from amparo.core.models import District
from amparo.observatory import compute as c
from amparo.observatory import indicators as reg


@pytest.fixture
def registry(monkeypatch):  # noqa: ANN001, ANN201
    """The registries as they are, restored after the test."""
    monkeypatch.setattr(reg, "REGISTRY", dict(reg.REGISTRY))
    monkeypatch.setattr(reg, "_SOURCES", dict(reg._SOURCES))  # noqa: SLF001
    monkeypatch.setattr(reg, "DIMENSIONS", dict(reg.DIMENSIONS))
    monkeypatch.setattr(reg, "_DIMENSION_CATEGORIES", dict(reg._DIMENSION_CATEGORIES))  # noqa: SLF001
    return reg


def _districts(indicator, period, agency):  # noqa: ANN001, ANN202
    """A population another app might count: districts, by province and by a dimension of its own."""
    parity = Case(
        When(code__regex=r"[02468]$", then=Value("even")), default=Value("odd"), output_field=CharField()
    )
    return c.Source(
        District.objects.filter(code__startswith="MZ01"), {reg.PROVINCE: F("province_id"), "parity": parity}
    )


def _indicator(**extra) -> reg.Indicator:  # noqa: ANN003
    fields = {
        "code": "TEST.DISTRICTS",
        "name": gettext_lazy("Districts"),
        "definition": gettext_lazy("Districts of Cabo Delgado."),
        "numerator": gettext_lazy("Districts."),
        "unit": reg.COUNT,
        "disaggregations": (reg.PROVINCE, "parity"),
        "source": gettext_lazy("Geography."),
        "kind": "test_districts",
    }
    return reg.Indicator(**{**fields, **extra})


def _register(registry) -> reg.Indicator:  # noqa: ANN001
    registry.register_dimension("parity", gettext_lazy("Parity"), lambda: [("even", "Even"), ("odd", "Odd")])
    indicator = _indicator()
    registry.register_indicator(indicator, _districts)
    return indicator


@pytest.mark.django_db
def test_a_registered_indicator_is_listed_and_computed_with_disclosure_control(registry) -> None:  # noqa: ANN001
    indicator = _register(registry)
    assert reg.get("TEST.DISTRICTS") is indicator
    assert reg.all_indicators()[-1] is indicator
    assert c.categories("parity") == [("even", "Even"), ("odd", "Odd")]
    period = c.Period.parse("2026-03")
    total = District.objects.filter(code__startswith="MZ01").count()
    result = c.compute("TEST.DISTRICTS", period)
    assert result.total.display() == str(total)
    parity = c.compute("TEST.DISTRICTS", period, ("parity",))
    even = District.objects.filter(code__startswith="MZ01", code__regex=r"[02468]$").count()
    assert {row.key["parity"]: row.value.display() for row in parity.rows} == {
        "even": str(even),
        "odd": str(total - even),
    }
    # By province: Cabo Delgado's districts, zeros elsewhere, never a count from 1 to 4.
    assert total >= 5
    by_province = c.compute("TEST.DISTRICTS", period, (reg.PROVINCE,))
    for cell in by_province.cells():
        assert cell.suppressed or cell.value == 0 or cell.value >= 5


@pytest.mark.django_db
def test_small_counts_of_a_registered_indicator_are_suppressed(registry) -> None:  # noqa: ANN001
    def three(indicator, period, agency):  # noqa: ANN001, ANN202
        return c.Source(
            District.objects.filter(code__in=["MZ0101", "MZ0102", "MZ0103"]), {reg.PROVINCE: F("province_id")}
        )

    registry.register_indicator(
        reg.Indicator(
            code="TEST.THREE",
            name=gettext_lazy("Three"),
            definition=gettext_lazy("Three districts."),
            numerator=gettext_lazy("Districts."),
            unit=reg.COUNT,
            disaggregations=(reg.PROVINCE,),
            source=gettext_lazy("Geography."),
            kind="test_three",
        ),
        three,
    )
    result = c.compute("TEST.THREE", c.Period.parse("2026-03"), (reg.PROVINCE,))
    assert result.total.display() == "<5"
    assert {row.key[reg.PROVINCE]: row.value.display() for row in result.rows}["MZ01"] == "<5"


@pytest.mark.django_db
def test_a_registered_indicator_that_is_not_a_sum_is_computed_for_the_whole_period(registry) -> None:  # noqa: ANN001
    calls: list[c.Period] = []

    def counted(indicator, period, agency):  # noqa: ANN001, ANN202
        calls.append(period)
        return _districts(indicator, period, agency)

    registry.register_dimension("parity", gettext_lazy("Parity"), lambda: [("even", "Even"), ("odd", "Odd")])
    registry.register_indicator(_indicator(additive=False, kind="test_stock", code="TEST.STOCK"), counted)
    registry.register_indicator(_indicator(kind="test_flow", code="TEST.FLOW"), _districts)
    total = District.objects.filter(code__startswith="MZ01").count()
    year = c.Period.parse("2026")
    assert c.compute("TEST.STOCK", year).total.display() == str(total)  # at the year's end
    assert {p.kind for p in calls} == {"year"}
    assert c.compute("TEST.FLOW", year).total.display() == str(12 * total)  # the sum of its months


def test_the_registry_refuses_a_clash() -> None:
    with pytest.raises(ImproperlyConfigured):  # a built-in kind
        reg.register_indicator(_indicator(kind="cases"), _districts)
    with pytest.raises(ImproperlyConfigured):  # a code already taken by another kind
        reg.register_indicator(_indicator(code="OCSEA.REPORTS.RECEIVED"), _districts)
    with pytest.raises(ImproperlyConfigured):  # a disaggregation nobody registered
        reg.register_indicator(_indicator(disaggregations=("colour",)), _districts)
    with pytest.raises(ImproperlyConfigured):  # a built-in disaggregation
        reg.register_dimension(reg.PROVINCE, gettext_lazy("Province"), list)
    assert "TEST.DISTRICTS" not in reg.REGISTRY


def test_the_observatory_core_does_not_import_the_apps_that_register() -> None:
    import ast
    from pathlib import Path

    for name in ("indicators.py", "compute.py"):
        tree = ast.parse((Path(reg.__file__).parent / name).read_text())
        imported = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)] + [
            alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
        ]
        assert not [m for m in imported if m.startswith("amparo.outreach")], name
