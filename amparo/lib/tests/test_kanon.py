"""k-anonymity checks and generalisation of research extracts."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable, Hashable
from functools import reduce
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amparo.lib.kanon import EquivalenceClass, UnsafeExtract, check, generalise

PROVINCE_OF = {
    "Lichinga": "Niassa",
    "Cuamba": "Niassa",
    "Beira": "Sofala",
    "Dondo": "Sofala",
    "Nampula": "Nampula",
    "Nacala": "Nampula",
}


def age_band(age: int) -> str:
    low = age // 5 * 5
    return f"{low}-{min(low + 4, 17)}"


def quarter(month: str) -> str:
    return f"{month[:4]}-Q{(int(month[5:]) - 1) // 3 + 1}"


HIERARCHY: dict[str, list[Callable[[Any], Hashable]]] = {
    "district": [PROVINCE_OF.__getitem__, lambda province: "Moçambique"],
    "age": [age_band, lambda band: "0-17"],
    "month": [quarter, lambda q: q[:4]],
}
QUASI = ["district", "age", "month", "sex"]  # sex has no hierarchy: never generalised
FAST = settings(max_examples=150, deadline=None)

records_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "district": st.sampled_from(sorted(PROVINCE_OF)),
            "age": st.integers(0, 17),
            "month": st.sampled_from([f"{year}-{m:02d}" for year in (2024, 2025) for m in range(1, 13)]),
            "sex": st.sampled_from(["F", "M"]),
            "category": st.sampled_from(["grooming", "sextortion", "csam"]),
        }
    ),
    max_size=80,
).map(lambda rows: [{"ref": f"AMP-{i:04d}", **row} for i, row in enumerate(rows)])


def generalised_by_hand(record: dict[str, Any], levels: dict[str, int]) -> dict[str, Any]:
    """The record as the declared steps alone would make it."""
    expected = dict(record)
    for column, level in levels.items():
        expected[column] = reduce(
            lambda value, step: step(value), HIERARCHY.get(column, [])[:level], record[column]
        )
    return expected


def fully_generalised(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [generalised_by_hand(r, {c: len(HIERARCHY.get(c, [])) for c in QUASI}) for r in records]


# --- check --------------------------------------------------------------------------------------


def test_check_reports_classes_smaller_than_k_in_order_of_appearance() -> None:
    records = [{"d": "Beira", "s": "F"}] * 3 + [{"d": "Dondo", "s": "M"}] + [{"d": "Beira", "s": "M"}] * 5
    assert check(records, ["d", "s"], k=5) == [
        EquivalenceClass(("d", "s"), ("Beira", "F"), 3),
        EquivalenceClass(("d", "s"), ("Dondo", "M"), 1),
    ]
    assert check(records, ["d", "s"], k=5)[0].as_dict() == {"d": "Beira", "s": "F"}


def test_check_of_k_anonymous_records_is_empty() -> None:
    assert check([{"d": "Beira"}] * 5, ["d"], k=5) == []
    assert check([], ["d"], k=5) == []


def test_check_refuses_a_record_without_a_quasi_identifier() -> None:
    with pytest.raises(ValueError, match="Record 1 has no column 'd'"):
        check([{"d": "Beira"}, {"x": 1}], ["d"])


def test_check_refuses_a_bare_string_of_columns_and_a_bad_k() -> None:
    with pytest.raises(TypeError, match="list of column names"):
        check([], "district")
    with pytest.raises(ValueError, match="k must be"):
        check([], ["district"], k=0)


@FAST
@given(records_strategy, st.integers(1, 6))
def test_check_agrees_with_counting_combinations(records: list[dict[str, Any]], k: int) -> None:
    sizes = Counter((r["district"], r["sex"]) for r in records)
    found = {cls.values: cls.size for cls in check(records, ["district", "sex"], k)}
    assert found == {values: size for values, size in sizes.items() if size < k}


# --- generalise: examples -------------------------------------------------------------------------


def test_k_anonymous_extract_is_released_unchanged() -> None:
    records = [{"ref": i, "district": "Beira", "age": 12, "month": "2024-03", "sex": "F"} for i in range(5)]
    extract = generalise(records, HIERARCHY, QUASI, k=5)
    assert extract.records == records
    assert extract.levels == {"district": 0, "age": 0, "month": 0, "sex": 0}
    assert extract.suppressed == 0


def test_column_with_most_distinct_values_is_generalised_first() -> None:
    # Distinct values: district 2, age 1, month 5 (sex has no hierarchy).
    records = [
        {"district": d, "age": 12, "month": f"2024-0{m}", "sex": "F"}
        for d, m in [("Beira", 1), ("Dondo", 2), ("Beira", 3), ("Dondo", 4), ("Beira", 5)]
    ]
    extract = generalise(records, HIERARCHY, QUASI, k=5)
    # month (5 distinct) -> quarter (2 distinct) ties with district (2 distinct): district is named
    # first, so it goes to province (1 distinct); then month -> year.
    assert extract.levels == {"district": 1, "age": 0, "month": 2, "sex": 0}
    assert {r["month"] for r in extract.records} == {"2024"}
    assert {r["district"] for r in extract.records} == {"Sofala"}


def test_generalisation_stops_as_soon_as_every_class_reaches_k() -> None:
    records = [
        {"district": d, "age": 12, "month": "2024-01", "sex": "F"} for d in ["Beira"] * 3 + ["Dondo"] * 2
    ]
    extract = generalise(records, HIERARCHY, QUASI, k=5)
    assert extract.levels == {"district": 1, "age": 0, "month": 0, "sex": 0}


def test_exhausted_hierarchy_raises_unsafe_extract_listing_classes_outside_the_message() -> None:
    records = [{"district": "Beira", "age": 12, "month": "2024-01", "sex": s} for s in "FFFFFFM"]
    with pytest.raises(UnsafeExtract, match="1 combination") as raised:
        generalise(records, HIERARCHY, QUASI, k=5)
    assert raised.value.small_classes == [
        EquivalenceClass(tuple(QUASI), ("Moçambique", "0-17", "2024", "M"), 1),
    ]
    assert raised.value.levels == {"district": 2, "age": 2, "month": 2, "sex": 0}
    assert "must not be released" in str(raised.value)
    assert "Moçambique" not in str(raised.value)  # combinations stay out of logs


def test_too_few_records_in_all_are_refused() -> None:
    records = [{"district": "Beira", "age": 12, "month": "2024-01", "sex": "F"}] * 4
    with pytest.raises(UnsafeExtract, match="4 of 4 record"):
        generalise(records, HIERARCHY, QUASI, k=5)


def test_suppression_drops_only_the_small_classes_and_reports_how_many() -> None:
    records = [{"ref": i, "district": "Beira", "age": 12, "month": "2024-01", "sex": "F"} for i in range(9)]
    records.append({"ref": 9, "district": "Dondo", "age": 3, "month": "2025-07", "sex": "M"})
    extract = generalise(records, HIERARCHY, QUASI, k=5, allow_suppression=True, max_suppressed_share=0.1)
    assert extract.suppressed == 1
    assert [r["ref"] for r in extract.records] == list(range(9))
    assert check(extract.records, QUASI, k=5) == []


def test_suppression_beyond_the_allowed_share_is_refused() -> None:
    records = [{"district": "Beira", "age": 12, "month": "2024-01", "sex": "F"}] * 9
    records.append({"district": "Dondo", "age": 3, "month": "2025-07", "sex": "M"})
    with pytest.raises(UnsafeExtract, match="allowed share of 5.0%"):
        generalise(records, HIERARCHY, QUASI, k=5, allow_suppression=True, max_suppressed_share=0.05)


def test_suppression_needs_an_explicit_share() -> None:
    with pytest.raises(ValueError, match="give both or neither"):
        generalise([], HIERARCHY, QUASI, allow_suppression=True)
    with pytest.raises(ValueError, match="give both or neither"):
        generalise([], HIERARCHY, QUASI, max_suppressed_share=0.1)
    with pytest.raises(ValueError, match="share of the records"):
        generalise([], HIERARCHY, QUASI, allow_suppression=True, max_suppressed_share=1.0)


def test_hierarchy_for_a_column_that_is_not_a_quasi_identifier_is_refused() -> None:
    with pytest.raises(ValueError, match="not quasi-identifiers"):
        generalise([], HIERARCHY, ["district", "age"])


def test_empty_extract_is_trivially_k_anonymous() -> None:
    assert generalise([], HIERARCHY, QUASI).records == []


# --- generalise: properties ---------------------------------------------------------------------


@FAST
@given(records_strategy, st.integers(2, 6))
def test_output_is_k_anonymous_or_the_extract_is_refused(records: list[dict[str, Any]], k: int) -> None:
    left_small = check(fully_generalised(records), QUASI, k)
    if left_small:  # the hierarchy cannot get there: refused, naming exactly those classes
        with pytest.raises(UnsafeExtract) as refused:
            generalise(records, HIERARCHY, QUASI, k=k)
        assert refused.value.small_classes == left_small
        return
    extract = generalise(records, HIERARCHY, QUASI, k=k)
    assert check(extract.records, QUASI, k) == []
    assert extract.suppressed == 0
    assert len(extract.records) == len(records)


@FAST
@given(records_strategy, st.integers(2, 6))
def test_records_change_only_by_the_declared_generalisations(records: list[dict[str, Any]], k: int) -> None:
    before = copy.deepcopy(records)
    try:
        extract = generalise(records, HIERARCHY, QUASI, k=k, allow_suppression=True, max_suppressed_share=0.5)
    except UnsafeExtract:
        assert records == before
        return
    assert records == before  # the input is not modified
    by_ref = {r["ref"]: r for r in records}
    refs = [r["ref"] for r in extract.records]
    assert refs == sorted(refs)  # order kept (refs were numbered in order)
    for released in extract.records:
        assert released == generalised_by_hand(by_ref[released["ref"]], extract.levels)


@FAST
@given(records_strategy, st.integers(2, 6), st.sampled_from([0.0, 0.05, 0.2, 0.5]))
def test_suppression_drops_only_records_left_in_small_classes_after_full_generalisation(
    records: list[dict[str, Any]], k: int, share: float
) -> None:
    left_small = check(fully_generalised(records), QUASI, k)
    if sum(cls.size for cls in left_small) > share * len(records):
        with pytest.raises(UnsafeExtract, match="allowed share"):
            generalise(records, HIERARCHY, QUASI, k=k, allow_suppression=True, max_suppressed_share=share)
        return
    extract = generalise(records, HIERARCHY, QUASI, k=k, allow_suppression=True, max_suppressed_share=share)
    assert check(extract.records, QUASI, k) == []
    assert extract.suppressed == len(records) - len(extract.records)
    assert extract.suppressed <= share * len(records)
    if extract.suppressed:
        assert extract.levels == {c: len(HIERARCHY.get(c, [])) for c in QUASI}
        small = {cls.values for cls in left_small}
        kept = {r["ref"] for r in extract.records}
        for record, general in zip(records, fully_generalised(records), strict=True):
            in_small_class = tuple(general[c] for c in QUASI) in small
            assert (record["ref"] not in kept) == in_small_class
