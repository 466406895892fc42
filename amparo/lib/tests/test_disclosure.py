"""Small-cell and complementary suppression, attacked the way a reader of our tables could.

The attackers here see only what is rendered (``Cell.display()``) and the equations that bind
the cells (rows, columns, totals, and the grand total shared by linked tables). They are written
independently of the library's network model:

* ``solve_lines``: any line with one unknown reveals it; repeat to a fixed point.
* ``linear_algebra``: exact Gaussian elimination over all equations at once.
* ``propagate_bounds``: interval bound propagation, knowing that "<5" means 1-4 and that "x" is 0
  or at least 5.
* ``alternative_exists``: a search for a second complete table consistent with everything shown
  in which a given "<5" cell differs; finding one proves the cell is not pinned.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from amparo.lib.disclosure import (
    RATE_WITHHELD,
    Cell,
    DisclosureError,
    Table1D,
    Table2D,
    safe_rate,
    suppress_1d,
    suppress_2d,
    suppress_linked,
)

Var = tuple[Hashable, ...]
Equation = list[tuple[int, Var]]  # sum(sign * var) == 0
GRAND_TOTAL: Var = ("grand total",)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
THOROUGH = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- What a reader sees ---------------------------------------------------------------------------


@dataclass
class View:
    shown: dict[Var, str]
    truth: dict[Var, int]  # for assertions and to centre the witness search; no attacker reads it
    equations: list[Equation]
    threshold: int

    def hidden(self) -> list[Var]:
        return [var for var, text in self.shown.items() if not text.isdigit()]

    def small(self) -> list[Var]:
        return [var for var, text in self.shown.items() if text == f"<{self.threshold}"]

    def allowed(self, var: Var, value: int) -> bool:
        text = self.shown[var]
        if text.isdigit():
            return value == int(text)
        if text == f"<{self.threshold}":
            return 1 <= value < self.threshold
        assert text == "x"
        return value == 0 or value >= self.threshold


def view_of(tables: Sequence[Table1D | Table2D], threshold: int = 5) -> View:
    shown: dict[Var, str] = {}
    truth: dict[Var, int] = {}
    equations: list[Equation] = []

    def see(var: Var, cell: Cell) -> None:
        if var in shown:
            assert shown[var] == cell.display(), "a linked total must look the same in every table"
        shown[var] = cell.display()
        truth[var] = cell.value

    for t, table in enumerate(tables):
        see(GRAND_TOTAL, table.total)
        if isinstance(table, Table1D):
            for key, cell in table.cells.items():
                see((t, key), cell)
            equations.append([(1, (t, key)) for key in table.cells] + [(-1, GRAND_TOTAL)])
            continue
        columns = list(table.column_totals)
        for row, line in table.cells.items():
            for column, cell in line.items():
                see((t, row, column), cell)
        for row, cell in table.row_totals.items():
            see((t, row, "total"), cell)
            equations.append([(1, (t, row, column)) for column in columns] + [(-1, (t, row, "total"))])
        for column, cell in table.column_totals.items():
            see((t, "total", column), cell)
            equations.append([(1, (t, row, column)) for row in table.cells] + [(-1, (t, "total", column))])
        equations.append([(1, (t, "total", column)) for column in columns] + [(-1, GRAND_TOTAL)])
        equations.append([(1, (t, row, "total")) for row in table.cells] + [(-1, GRAND_TOTAL)])
    return View(shown, truth, equations, threshold)


# --- Attackers ---------------------------------------------------------------------------------------


def solve_lines(view: View) -> dict[Var, int]:
    """Suppressed values recovered by solving one-unknown lines repeatedly."""
    known = {var: int(text) for var, text in view.shown.items() if text.isdigit()}
    progress = True
    while progress:
        progress = False
        for equation in view.equations:
            unknown = [(sign, var) for sign, var in equation if var not in known]
            if len(unknown) == 1:
                sign, var = unknown[0]
                known[var] = -sign * sum(s * known[v] for s, v in equation if v != var)
                progress = True
    return {var: value for var, value in known.items() if not view.shown[var].isdigit()}


def linear_algebra(view: View) -> set[Var]:
    """Suppressed cells fixed by some linear combination of the equations (e_j in the row space)."""
    unknowns = view.hidden()
    column = {var: j for j, var in enumerate(unknowns)}
    matrix = []
    for equation in view.equations:
        row = [Fraction(0)] * len(unknowns)
        for sign, var in equation:
            if var in column:
                row[column[var]] += sign
        matrix.append(row)
    pivot_row = 0
    for j in range(len(unknowns)):
        pivot = next((i for i in range(pivot_row, len(matrix)) if matrix[i][j] != 0), None)
        if pivot is None:
            continue
        matrix[pivot_row], matrix[pivot] = matrix[pivot], matrix[pivot_row]
        lead = matrix[pivot_row][j]
        matrix[pivot_row] = [x / lead for x in matrix[pivot_row]]
        for i in range(len(matrix)):
            if i != pivot_row and matrix[i][j] != 0:
                factor = matrix[i][j]
                matrix[i] = [a - factor * b for a, b in zip(matrix[i], matrix[pivot_row], strict=True)]
        pivot_row += 1
    return {unknowns[row.index(1)] for row in matrix if sum(1 for x in row if x != 0) == 1}


def propagate_bounds(view: View, rounds: int = 2000) -> dict[Var, tuple[float, float]]:
    """Interval bounds for every cell, tightened line by line until nothing changes."""
    t = view.threshold
    bounds: dict[Var, tuple[float, float]] = {}
    for var, text in view.shown.items():
        if text.isdigit():
            bounds[var] = (int(text), int(text))
        elif text == f"<{t}":
            bounds[var] = (1, t - 1)
        else:
            bounds[var] = (0, math.inf)
    for _ in range(rounds):
        changed = False
        for equation in view.equations:
            for sign, var in equation:
                others = [(s, v) for s, v in equation if v != var]
                # sign * var == -(sum of others); others range over [low, high]
                low = sum(s * (bounds[v][0] if s > 0 else bounds[v][1]) for s, v in others)
                high = sum(s * (bounds[v][1] if s > 0 else bounds[v][0]) for s, v in others)
                new_low, new_high = (-high, -low) if sign > 0 else (low, high)
                lo, hi = max(bounds[var][0], new_low), min(bounds[var][1], new_high)
                if view.shown[var] == "x":  # "x" is never 1..t-1
                    if 0 < lo < t:
                        lo = t
                    if 0 <= hi < t:
                        hi = 0
                if (lo, hi) != bounds[var]:
                    bounds[var] = (lo, hi)
                    changed = True
        if not changed:
            break
    return bounds


def alternative_exists(view: View, target: Var) -> bool:
    """Is there a complete table, consistent with everything shown, where ``target`` differs?

    Branches on each unknown's true value and its neighbours (a change along one cycle of
    suppressed cells moves every cell by at most one), and solves one-unknown lines exactly.
    """
    truth = view.truth

    def settle(assigned: dict[Var, int]) -> bool:
        progress = True
        while progress:
            progress = False
            for equation in view.equations:
                unknown = [(sign, var) for sign, var in equation if var not in assigned]
                if not unknown:
                    if sum(sign * assigned[var] for sign, var in equation) != 0:
                        return False
                elif len(unknown) == 1:
                    sign, var = unknown[0]
                    value = -sign * sum(s * assigned[v] for s, v in equation if v != var)
                    if value < 0 or not view.allowed(var, value):
                        return False
                    assigned[var] = value
                    progress = True
        return True

    order = [target] + [var for var in view.hidden() if var != target]

    def search(assigned: dict[Var, int]) -> bool:
        if not settle(assigned) or assigned.get(target, truth[target] + 1) == truth[target]:
            return False
        var = next((v for v in order if v not in assigned), None)
        if var is None:
            return True
        steps = (-1, 1) if var == target else (0, -1, 1)
        for value in (truth[var] + step for step in steps):
            if value >= 0 and view.allowed(var, value) and search({**assigned, var: value}):
                return True
        return False

    return search({var: int(text) for var, text in view.shown.items() if text.isdigit()})


def note_complements(view: View) -> None:
    """Let --hypothesis-show-statistics tell how hard the examples were."""
    complements = len(view.hidden()) - len(view.small())
    event(f"complements: {complements if complements < 5 else '5 or more'}")


def assert_safe(view: View) -> None:
    assert solve_lines(view) == {}
    assert linear_algebra(view) == set()
    bounds = propagate_bounds(view)
    for var in view.hidden():
        assert bounds[var][0] <= view.truth[var] <= bounds[var][1]  # the attacker is sound
    for var in view.small():
        assert bounds[var][0] < bounds[var][1], f"{var} pinned by bound propagation"


# --- Strategies ---------------------------------------------------------------------------------------

counts = st.one_of(st.just(0), st.integers(1, 4), st.integers(5, 40))
large_counts = st.one_of(st.just(0), st.integers(5, 500))


def one_way(values: list[int]) -> dict[str, int]:
    return {f"k{i}": value for i, value in enumerate(values)}


def two_way(grid: list[list[int]]) -> dict[str, dict[str, int]]:
    return {f"r{i}": {f"c{j}": value for j, value in enumerate(row)} for i, row in enumerate(grid)}


def grids(
    values: st.SearchStrategy[int], max_rows: int, max_columns: int
) -> st.SearchStrategy[list[list[int]]]:
    return st.tuples(st.integers(1, max_rows), st.integers(1, max_columns)).flatmap(
        lambda shape: st.lists(
            st.lists(values, min_size=shape[1], max_size=shape[1]), min_size=shape[0], max_size=shape[0]
        )
    )


# One population of people, each with four independent attributes; the linked tables are two 1-D
# breakdowns (by the first and by the second attribute) and a 2-D one (third x fourth): they share
# only the grand total, as suppress_linked requires.
people = st.lists(
    st.tuples(st.integers(0, 2), st.integers(0, 3), st.integers(0, 1), st.integers(0, 2)), max_size=40
)


def linked_tables(population: list[tuple[int, int, int, int]]) -> list[dict]:
    by = [Counter(person[i] for person in population) for i in range(2)]
    pairs = Counter((person[2], person[3]) for person in population)
    return [
        {f"a{v}": by[0][v] for v in range(3)},
        {f"b{v}": by[1][v] for v in range(4)},
        {f"c{r}": {f"d{c}": pairs[(r, c)] for c in range(3)} for r in range(2)},
    ]


def protect_or_prove_impossible(tables: list[dict]) -> list[Table1D | Table2D] | None:
    """Protected tables, or None after checking that DisclosureError was justified."""
    try:
        return suppress_linked(tables)
    except DisclosureError:
        event("refused: no suppression can protect it")
        view = view_of([everything_suppressed(table) for table in tables])
        assert any(not alternative_exists(view, var) for var in view.small())
        return None


def everything_suppressed(table: dict) -> Table1D | Table2D:
    """The table with every non-zero cell hidden: the most any suppression pattern could do."""

    def cell(value: int) -> Cell:
        return Cell(value, suppressed=value > 0, primary=0 < value < 5)

    if all(isinstance(value, int) for value in table.values()):
        return Table1D({key: cell(value) for key, value in table.items()}, cell(sum(table.values())))
    columns = list(next(iter(table.values())))
    return Table2D(
        cells={row: {column: cell(value) for column, value in line.items()} for row, line in table.items()},
        row_totals={row: cell(sum(line.values())) for row, line in table.items()},
        column_totals={column: cell(sum(line[column] for line in table.values())) for column in columns},
        total=cell(sum(sum(line.values()) for line in table.values())),
    )


# --- Display ---------------------------------------------------------------------------------------


def test_counts_one_to_four_display_as_below_threshold() -> None:
    table = suppress_1d({"a": 1, "b": 4, "c": 5, "d": 40, "e": 41})
    assert [cell.display() for cell in table.cells.values()] == ["<5", "<5", "5", "40", "41"]
    assert table.cells["a"].primary
    assert table.cells["b"].primary


def test_zero_is_published_as_zero() -> None:
    table = suppress_1d({"a": 0, "b": 12, "c": 30})
    assert [str(cell) for cell in table.all_cells()] == ["0", "12", "30", "42"]


def test_complement_displays_the_marker_never_below_threshold() -> None:
    table = suppress_1d({"a": 2, "b": 37, "c": 50})
    assert table.cells["b"] == Cell(37, suppressed=True, primary=False)
    assert table.cells["b"].display() == "x"
    assert table.cells["b"].display(complement_marker="..") == ".."
    assert table.cells["b"].published is None


def test_threshold_is_configurable() -> None:
    table = suppress_1d({"a": 9, "b": 10, "c": 30, "d": 11}, threshold=10)
    assert [str(cell) for cell in table.all_cells()] == ["<10", "x", "30", "11", "60"]


def test_repr_hides_suppressed_values_from_logs() -> None:
    table = suppress_1d({"a": 3, "b": 37, "c": 50})
    assert repr(table.cells["a"]) == "Cell(<5)"
    assert repr(table.cells["b"]) == "Cell(complement)"
    assert repr(table.cells["c"]) == "Cell(50)"
    assert "37" not in repr(table)


def test_a_primary_cell_must_be_suppressed() -> None:
    with pytest.raises(ValueError, match="always suppressed"):
        Cell(3, suppressed=False, primary=True)


# --- One-way tables -------------------------------------------------------------------------------


def test_single_small_cell_gets_the_smallest_positive_complement() -> None:
    table = suppress_1d({"a": 3, "b": 0, "c": 20, "d": 7})
    assert [str(cell) for cell in table.all_cells()] == ["<5", "0", "20", "x", "30"]


def test_ties_between_complements_are_broken_by_key_order() -> None:
    assert [str(c) for c in suppress_1d({"a": 3, "b": 10, "c": 10}).cells.values()] == ["<5", "x", "10"]
    assert [str(c) for c in suppress_1d({"a": 3, "c": 10, "b": 10}).cells.values()] == ["<5", "x", "10"]


def test_complement_of_exactly_threshold_cannot_protect_a_one() -> None:
    # 1 + 5 with the total published: "x" is 0 or >= 5, so the pair could only be (1, 5).
    table = suppress_1d({"a": 1, "b": 5, "c": 20})
    assert [str(cell) for cell in table.all_cells()] == ["<5", "5", "x", "26"]
    assert_safe(view_of([table]))


def test_two_small_cells_summing_to_a_published_total_hide_the_total() -> None:
    # "<5" + "<5" = 8 would force 4 and 4.
    table = suppress_1d({"a": 4, "b": 4})
    assert [str(cell) for cell in table.all_cells()] == ["<5", "<5", "x"]


def test_small_total_is_suppressed_with_its_line() -> None:
    table = suppress_1d({"a": 2, "b": 0, "c": 1})
    assert [str(cell) for cell in table.all_cells()] == ["<5", "0", "<5", "<5"]


def test_a_single_category_equal_to_a_small_total_is_protected() -> None:
    table = suppress_1d({"only": 3})
    assert [str(cell) for cell in table.all_cells()] == ["<5", "<5"]
    assert_safe(view_of([table]))


def test_table_that_no_suppression_can_protect_is_refused_without_naming_counts() -> None:
    # Four "<5" cells (each at least 1) adding up to a "<5" total (at most 4) must all be 1.
    with pytest.raises(DisclosureError, match="coarser table") as raised:
        suppress_1d({"a": 1, "b": 1, "c": 1, "d": 1})
    assert "'a'" in str(raised.value)
    assert "1" not in str(raised.value).replace("'a'", "")


# --- Two-way tables ----------------------------------------------------------------------------------


def test_single_small_cell_in_row_gets_a_complement_rectangle() -> None:
    table = suppress_2d(
        {
            "r1": {"a": 2, "b": 10, "c": 11},
            "r2": {"a": 12, "b": 13, "c": 14},
            "r3": {"a": 15, "b": 16, "c": 17},
        }
    )
    hidden = {(r, c) for r, line in table.cells.items() for c, cell in line.items() if cell.suppressed}
    assert hidden == {("r1", "a"), ("r1", "b"), ("r2", "a"), ("r2", "b")}
    margins = [*table.row_totals.values(), *table.column_totals.values(), table.total]
    assert not any(cell.suppressed for cell in margins)


def test_small_cells_pinned_through_a_rectangle_are_protected_further() -> None:
    # With only the four interior cells hidden, "<5" in [1, 4] and the margins force 4 and 1.
    table = suppress_2d({"r1": {"a": 4, "b": 10}, "r2": {"a": 20, "b": 1}})
    view = view_of([table])
    assert_safe(view)
    assert all(alternative_exists(view, var) for var in view.small())


def test_small_row_total_is_suppressed_with_enough_of_the_margin() -> None:
    table = suppress_2d({"r1": {"a": 1, "b": 2}, "r2": {"a": 30, "b": 40}})
    assert table.row_totals["r1"].primary
    view = view_of([table])
    assert_safe(view)
    assert all(alternative_exists(view, var) for var in view.small())


def test_rows_must_share_their_columns() -> None:
    with pytest.raises(ValueError, match="same columns"):
        suppress_2d({"r1": {"a": 1}, "r2": {"b": 1}})


def test_negative_or_fractional_counts_are_rejected() -> None:
    with pytest.raises(ValueError, match="negative"):
        suppress_1d({"a": -1})
    with pytest.raises(TypeError, match="whole numbers"):
        suppress_1d({"a": 2.0})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="whole numbers"):
        suppress_1d({"a": True})


def test_threshold_below_two_is_rejected() -> None:
    with pytest.raises(ValueError, match="threshold"):
        suppress_1d({"a": 1}, threshold=1)


def test_one_and_two_way_entry_points_refuse_the_other_shape() -> None:
    with pytest.raises(TypeError, match="suppress_2d"):
        suppress_1d({"r": {"c": 1}})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="suppress_1d"):
        suppress_2d({"a": 1})  # type: ignore[dict-item]


def test_empty_tables_publish_a_zero_total() -> None:
    assert str(suppress_1d({}).total) == "0"
    assert str(suppress_2d({}).total) == "0"


# --- Linked tables -----------------------------------------------------------------------------------


def test_linked_small_total_is_suppressed_in_every_table() -> None:
    by_sex, by_province = suppress_linked([{"female": 2, "male": 1}, {"Niassa": 3, "Sofala": 0}])
    assert by_sex.total.primary
    assert by_province.total.primary
    view = view_of([by_sex, by_province])
    assert_safe(view)
    assert all(alternative_exists(view, var) for var in view.small())


def test_linked_total_hidden_in_one_table_is_not_revealed_by_the_other() -> None:
    # Alone, the second table would publish its total of 12; the first needs it hidden
    # ("<5" + "<5" = 8 pins both at 4 if the total is known), so it is hidden in both.
    by_sex, by_province = suppress_linked([{"female": 4, "male": 4, "other": 0}, {"Niassa": 8, "Sofala": 0}])
    assert by_sex.total.suppressed
    assert by_province.total.suppressed
    view = view_of([by_sex, by_province])
    assert_safe(view)
    assert all(alternative_exists(view, var) for var in view.small())


def test_linked_tables_must_have_the_same_total() -> None:
    with pytest.raises(ValueError, match="same population"):
        suppress_linked([{"a": 3}, {"b": 4}])


# --- Rates -------------------------------------------------------------------------------------------


def test_rate_is_withheld_when_its_numerator_is_suppressed() -> None:
    table = suppress_1d({"a": 3, "b": 37, "c": 50})
    assert safe_rate(table.cells["a"], table.total) is None
    assert safe_rate(table.cells["b"], 1000) is None
    assert RATE_WITHHELD == "–"


def test_rate_is_withheld_when_its_denominator_is_suppressed_or_zero() -> None:
    table = suppress_1d({"a": 2, "b": 1})
    published = Cell(10, suppressed=False, primary=False)
    assert safe_rate(published, table.total) is None
    assert safe_rate(published, 0) is None


def test_rate_of_published_counts_is_shown() -> None:
    table = suppress_1d({"a": 25, "b": 75})
    assert safe_rate(table.cells["a"], table.total) == 25.0
    assert safe_rate(table.cells["a"], 50_000, per=100_000) == 50.0


# --- Properties ----------------------------------------------------------------------------------------


def assert_faithful(view: View, tables: Sequence[Table1D | Table2D], threshold: int = 5) -> None:
    """Every small count hidden as "<t", nothing else shown as "<t", every shown number true."""
    for table in tables:
        for cell in table.all_cells():
            assert cell.primary == (1 <= cell.value < threshold)
            assert cell.suppressed or cell.display() == str(cell.value)
    for table in tables:
        if isinstance(table, Table2D):
            for row, line in table.cells.items():
                assert table.row_totals[row].value == sum(cell.value for cell in line.values())
            for column, cell in table.column_totals.items():
                assert cell.value == sum(line[column].value for line in table.cells.values())
            assert table.total.value == sum(cell.value for cell in table.row_totals.values())
        else:
            assert table.total.value == sum(cell.value for cell in table.cells.values())


def assert_lines_have_two_suppressions(view: View) -> None:
    for equation in view.equations:
        hidden = [var for _, var in equation if not view.shown[var].isdigit()]
        assert len(hidden) != 1
        if hidden and any(view.truth[var] > 0 for _, var in equation):
            assert any(view.truth[var] > 0 for var in hidden), "a line hides only zeros"


@THOROUGH
@given(st.lists(counts, max_size=6))
def test_one_way_tables_resist_every_attacker(values: list[int]) -> None:
    try:
        table = suppress_1d(one_way(values))
    except DisclosureError:
        assert protect_or_prove_impossible([one_way(values)]) is None
        return
    view = view_of([table])
    assert table.cells.keys() == one_way(values).keys()
    assert_faithful(view, [table])
    assert_lines_have_two_suppressions(view)
    note_complements(view)
    assert_safe(view)
    assert all(alternative_exists(view, var) for var in view.small())


@THOROUGH
@given(grids(counts, max_rows=4, max_columns=4))
def test_two_way_tables_resist_every_attacker(grid: list[list[int]]) -> None:
    try:
        table = suppress_2d(two_way(grid))
    except DisclosureError:
        assert protect_or_prove_impossible([two_way(grid)]) is None
        return
    view = view_of([table])
    assert_faithful(view, [table])
    assert_lines_have_two_suppressions(view)
    note_complements(view)
    assert_safe(view)
    assert all(alternative_exists(view, var) for var in view.small())


@THOROUGH
@given(people)
def test_linked_tables_resist_every_attacker_across_tables(
    population: list[tuple[int, int, int, int]],
) -> None:
    tables = protect_or_prove_impossible(linked_tables(population))
    if tables is None:
        return
    view = view_of(tables)
    assert_faithful(view, tables)
    assert_lines_have_two_suppressions(view)
    note_complements(view)
    assert_safe(view)
    assert all(alternative_exists(view, var) for var in view.small())


@FAST
@given(
    st.sampled_from([2, 3, 10]).flatmap(
        lambda t: st.tuples(st.just(t), grids(st.integers(0, 3 * t), max_rows=3, max_columns=3))
    )
)
def test_other_thresholds_resist_every_attacker(case: tuple[int, list[list[int]]]) -> None:
    threshold, grid = case
    try:
        table = suppress_2d(two_way(grid), threshold=threshold)
    except DisclosureError:
        return
    view = view_of([table], threshold=threshold)
    assert_faithful(view, [table], threshold=threshold)
    assert_lines_have_two_suppressions(view)
    assert_safe(view)
    assert all(alternative_exists(view, var) for var in view.small())


@settings(max_examples=100, deadline=None)
@given(grids(counts, max_rows=8, max_columns=8))
def test_larger_two_way_tables_resist_the_equation_and_bound_attackers(grid: list[list[int]]) -> None:
    try:
        table = suppress_2d(two_way(grid))
    except DisclosureError:
        return  # justified on small tables above; the search is too slow to repeat at this size
    view = view_of([table])
    assert_faithful(view, [table])
    assert_lines_have_two_suppressions(view)
    note_complements(view)
    assert_safe(view)


@FAST
@given(grids(large_counts, max_rows=5, max_columns=5))
def test_table_without_small_cells_suppresses_nothing(grid: list[list[int]]) -> None:
    table = suppress_2d(two_way(grid))
    assert not any(cell.suppressed for cell in table.all_cells())
    one_way_table = suppress_1d(one_way(grid[0]))
    assert not any(cell.suppressed for cell in one_way_table.all_cells())


@FAST
@given(grids(counts, max_rows=4, max_columns=4))
def test_suppression_is_deterministic(grid: list[list[int]]) -> None:
    try:
        first = suppress_2d(two_way(grid))
    except DisclosureError:
        return
    second = suppress_2d(two_way(grid))
    assert [c.suppressed for c in first.all_cells()] == [c.suppressed for c in second.all_cells()]
