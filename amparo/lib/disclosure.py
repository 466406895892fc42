"""Small-cell and complementary suppression for every count Amparo publishes (no Django).

Every aggregate output (page, chart, map, CSV, JSON, PDF, DHIS2) passes its tables through
:func:`suppress_1d`, :func:`suppress_2d` or :func:`suppress_linked` and renders the returned
:class:`Cell` objects, never the raw counts.

Conventions
-----------
* A count from 1 to ``threshold - 1`` (1-4 with the default threshold of 5) is *primary-sensitive*:
  it is suppressed and displayed as ``"<5"``.
* Zero is published. The spec protects "counts from 1 to 4"; a true zero says that nobody was
  counted and singles nobody out. The price is that a reader knows a ``"<5"`` is at least 1, and
  the attacker model below assumes they do.
* A cell suppressed only so that a "<5" cannot be worked out from the totals is a *complement*. It
  is displayed as ``"x"`` (:data:`COMPLEMENT_MARKER`: "suppressed to protect another cell"), never as
  ``"<5"``: a complement holding 37 is not "less than 5", and saying so would be false.
* Margins (row, column and grand totals) are cells like any other: they can be primary (a total
  of 3 is "<5") or complements.

The attacker and what is guaranteed
-----------------------------------
The attacker knows every published number; every row, column and grand-total equation, across
all linked tables that share a grand total; that counts are non-negative integers; that "<5"
means 1 to ``threshold - 1``; and that "x" means 0 or at least ``threshold`` (a suppressed count is
never 1-4 unless it is shown as "<5"). Against this attacker the library guarantees:

1. **No suppressed cell follows from the equations.** Every suppressed cell lies on a cycle of
   suppressed cells, so no linear combination of the published equations isolates it. In
   particular no row, column or total line ever holds exactly one suppressed cell, and solving
   one-unknown lines repeatedly (within and across linked tables) recovers nothing.
2. **No "<5" cell is pinned.** For every primary cell there is a second complete table, of
   non-negative integers, consistent with everything published and with the conventions above,
   in which that cell has another value. This is checked exactly (it is a network-flow question:
   a table with its margins is a circulation, and a cell can change by one if and only if a cycle
   of suppressed cells can absorb the change), so it holds against interval bound propagation and
   against a full linear or integer programming audit alike.
3. Every primary-sensitive cell is suppressed, no published value is altered, and a table
   without small cells is published whole.
4. Deterministic: the same table gives the same pattern; ties are broken by key order.

Limits, in plain words:

* The protection interval of a "<5" cell is guaranteed to hold **two values, not the whole range
  1-4**: a determined reader may narrow "<5" down to, say, "3 or 4".
* Complements are protected from exact recovery by the equations, but their bounds may be
  narrow; a zero used as a complement (only when nothing else is available) can be pinned at 0.
* Only relations the library is told about are covered. Tables that share more than the grand
  total (a province x sex table and the province and sex breakdowns) must be passed as one 2-D
  table, whose margins are those breakdowns; two cross-tabulations sharing a margin (province x
  sex and province x age) cannot be protected together by this module, so publish only one of
  them. Differencing across periods (this month's cumulative count minus last month's) or across
  overlapping areas is not covered either: publish disjoint periods and areas.
* Group attribute disclosure is not prevented: if every case of a row falls in one column, the
  pattern of suppression may still show that they are all alike.
* When even suppressing every non-zero cell would leave a "<5" cell pinned (four "<5" cells whose
  total is itself "<5" must all be 1), :class:`DisclosureError` is raised and nothing is returned:
  the caller must publish a coarser table (merge categories, a wider area or a longer period).
  This fails closed.

Choice of complements: a line needing a second suppressed cell takes, among its published cells,
one with a value above zero before a zero; then one that also completes another line (so that the
classic four-cell rectangle is preferred to a cascade); then the smallest value; then key order.
Further complements (to close cycles, or to give a "<5" cell room to move) are chosen along the
path of least suppressed total value, again avoiding zeros. Finally every complement that the
guarantees do not need is published again, largest first. The result is minimal in that no single
complement can be shown without breaking a guarantee; it is not the fewest cells possible (that
is an integer programme, and the tables we publish do not justify one).
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Generic, NamedTuple, TypeVar, cast

DEFAULT_THRESHOLD: Final = 5
COMPLEMENT_MARKER: Final = "x"
RATE_WITHHELD: Final = "–"  # how a rate that :func:`safe_rate` withholds is rendered

K = TypeVar("K", bound=Hashable)
R = TypeVar("R", bound=Hashable)
C = TypeVar("C", bound=Hashable)


class DisclosureError(Exception):
    """The table cannot be published at this level of detail: publish a coarser one.

    The message names the cell that cannot be protected, never a count.
    """


@dataclass(frozen=True, slots=True)
class Cell:
    """One published figure: a count or a total, with its suppression status.

    ``primary`` means the count itself is small (1..threshold-1, shown "<5"); a cell that is
    ``suppressed`` but not primary is a complement, hidden to protect another cell (shown "x").

    ``value`` is the true count and must never reach a reader directly when ``suppressed``: render
    :meth:`display` (or ``str(cell)``), or use :attr:`published`. ``repr`` hides suppressed values
    so that they do not leak into logs; ``dataclasses.asdict`` does not, so do not serialise cells
    with it.
    """

    value: int
    suppressed: bool
    primary: bool
    threshold: int = DEFAULT_THRESHOLD

    def __post_init__(self) -> None:
        if self.primary and not self.suppressed:
            raise ValueError("A primary-sensitive cell is always suppressed.")

    @property
    def published(self) -> int | None:
        """The value if it may be shown, else None."""
        return None if self.suppressed else self.value

    def display(self, complement_marker: str = COMPLEMENT_MARKER) -> str:
        """What a reader sees: "<5" for a small count, the marker for a complement, else the number."""
        if self.primary:
            return f"<{self.threshold}"
        if self.suppressed:
            return complement_marker
        return str(self.value)

    def __str__(self) -> str:
        return self.display()

    def __repr__(self) -> str:
        if self.primary:
            shown = f"<{self.threshold}"
        elif self.suppressed:
            shown = "complement"
        else:
            shown = str(self.value)
        return f"Cell({shown})"


@dataclass(frozen=True)
class Table1D(Generic[K]):
    """A single disaggregation (counts by key) and its total, ready to publish."""

    cells: dict[K, Cell]
    total: Cell

    def all_cells(self) -> Iterator[Cell]:
        yield from self.cells.values()
        yield self.total


@dataclass(frozen=True)
class Table2D(Generic[R, C]):
    """A cross-tabulation with its row totals, column totals and grand total, ready to publish."""

    cells: dict[R, dict[C, Cell]]
    row_totals: dict[R, Cell]
    column_totals: dict[C, Cell]
    total: Cell

    def all_cells(self) -> Iterator[Cell]:
        for row in self.cells.values():
            yield from row.values()
        yield from self.row_totals.values()
        yield from self.column_totals.values()
        yield self.total


def suppress_1d(counts: Mapping[K, int], threshold: int = DEFAULT_THRESHOLD) -> Table1D[K]:
    """Protect one disaggregation (e.g. cases by province) and its total, which this computes.

    Counts 1..threshold-1 become "<5"; complements are added until the guarantees in the module
    docstring hold. Raises :class:`DisclosureError` if no suppression pattern can protect the table.
    """
    _check_threshold(threshold)
    parsed = _parse(counts)
    if parsed.row_keys is not None:
        raise TypeError("suppress_1d takes {key: count}; use suppress_2d for a cross-tabulation.")
    return cast(Table1D[K], _protect([parsed], threshold)[0])


def suppress_2d(rows: Mapping[R, Mapping[C, int]], threshold: int = DEFAULT_THRESHOLD) -> Table2D[R, C]:
    """Protect a cross-tabulation ``rows[row][column] -> count``; margins are computed here.

    Every row must have the same columns. Row totals, column totals and the grand total are
    published cells of the result and are protected with the interior: no suppressed cell can be
    recovered from any row, column or grand total. Raises :class:`DisclosureError` if no
    suppression pattern can protect the table.
    """
    _check_threshold(threshold)
    if not rows:
        return Table2D(cells={}, row_totals={}, column_totals={}, total=Cell(0, False, False, threshold))
    parsed = _parse(rows)
    if parsed.row_keys is None:
        raise TypeError("suppress_2d takes {row: {column: count}}; use suppress_1d for a single breakdown.")
    return cast(Table2D[R, C], _protect([parsed], threshold)[0])


def suppress_linked(
    tables: Sequence[Mapping[Any, int] | Mapping[Any, Mapping[Any, int]]],
    threshold: int = DEFAULT_THRESHOLD,
) -> list[Table1D[Any] | Table2D[Any, Any]]:
    """Protect several tables of the same population and period that share their grand total.

    Each table is 1-D (``{key: count}``) or 2-D (``{row: {column: count}}``), e.g. cases by province
    and cases by sex. Their grand totals must be equal. The shared total is one cell: it is
    suppressed in every table or in none, and suppression is iterated over all tables together
    until no cell can be recovered by subtracting one table's published cells from the total
    another table reveals. Tables that share more than the grand total must be passed as a single
    2-D table instead. Returns the protected tables in the order given.
    """
    _check_threshold(threshold)
    if not tables:
        return []
    parsed = [_parse(table) for table in tables]
    totals = [sum(map(sum, p.values)) for p in parsed]
    for index, total in enumerate(totals[1:], start=1):
        if total != totals[0]:
            raise ValueError(
                f"Linked tables must describe the same population: the grand totals of tables 0 and {index} differ."
            )
    return _protect(parsed, threshold)


def safe_rate(numerator: Cell, denominator: Cell | int, per: float = 100.0) -> float | None:
    """``numerator / denominator * per``, or None when showing it could reveal a suppressed count.

    Withheld when the numerator is suppressed, when the denominator is a suppressed cell (the
    published numerator and the rate would give it away), and when the denominator is zero. An
    ``int`` denominator is taken to be public (a census population). Render None as
    :data:`RATE_WITHHELD`.
    """
    if numerator.suppressed:
        return None
    if isinstance(denominator, Cell):
        if denominator.suppressed:
            return None
        denominator = denominator.value
    if isinstance(denominator, bool) or not isinstance(denominator, int) or denominator < 0:
        raise ValueError("A rate's denominator must be a non-negative whole number.")
    if denominator == 0:
        return None
    return numerator.value * per / denominator


# --- Parsing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Parsed:
    """A table as a matrix; ``row_keys`` is None for a 1-D table (one row)."""

    row_keys: list[Hashable] | None
    column_keys: list[Hashable]
    values: list[list[int]]


def _check_threshold(threshold: int) -> None:
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 2:
        raise ValueError("The suppression threshold must be a whole number of at least 2.")


def _count(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"Counts must be whole numbers; {where} is not.")
    if value < 0:
        raise ValueError(f"Counts cannot be negative; {where} is.")
    return value


def _parse(table: Mapping[Any, Any]) -> _Parsed:
    items = list(table.items())
    if not items or not all(isinstance(value, Mapping) for _, value in items):
        if any(isinstance(value, Mapping) for _, value in items):
            raise TypeError("A table's values must be all counts (1-D) or all mappings of counts (2-D).")
        return _Parsed(
            row_keys=None,
            column_keys=[key for key, _ in items],
            values=[[_count(value, f"the count for {key!r}") for key, value in items]],
        )
    column_keys = list(items[0][1].keys())
    for row_key, row in items:
        if set(row.keys()) != set(column_keys):
            raise ValueError(f"Every row must have the same columns; row {row_key!r} does not.")
    return _Parsed(
        row_keys=[key for key, _ in items],
        column_keys=column_keys,
        values=[
            [_count(row[col], f"the count for ({row_key!r}, {col!r})") for col in column_keys]
            for row_key, row in items
        ],
    )


# --- The network ----------------------------------------------------------------------------------
#
# A table with its margins is a circulation. In a 2-D table, interior cell (r, c) is an edge
# row_r -> col_c, column total c is col_c -> R*, the grand total is R* -> C*, and row total r is
# C* -> row_r: conservation at row_r is "cells = row total", at col_c "cells = column total", at R*
# "column totals = grand total", at C* "row totals = grand total". A 1-D table is two nodes A, B,
# its cells A -> B and its total B -> A. Linked tables are chained through their shared total:
# table i's total runs from its own tail node into table i+1's head node, so conservation over each
# table's nodes forces every copy of the total to carry the same value.
#
# Then, with published cells fixed: a suppressed cell is determined by the equations exactly when
# it is a bridge of the graph of suppressed cells; and a cell can move by one, within every bound
# the attacker knows, exactly when a path through the suppressed cells can absorb the change (an
# augmenting path in the residual graph). Both are checked by search, not by sampling.

_Cost = tuple[int, int, int]  # (zeros suppressed, total value suppressed, cells suppressed)
_FREE: Final[_Cost] = (0, 0, 0)


class _Network:
    def __init__(self, threshold: int) -> None:
        self.threshold = threshold
        self.adjacency: list[list[int]] = []
        # Per edge (one cell in one table; the shared total has one edge per linked table).
        self.tails: list[int] = []
        self.heads: list[int] = []
        self.edge_group: list[int] = []
        self.values: list[int] = []
        self.can_grow: list[bool] = []  # could be one more, as far as the attacker knows
        self.can_shrink: list[bool] = []
        self.labels: list[str] = []
        # Per group (one published figure).
        self.group_values: list[int] = []
        self.group_edges: list[list[int]] = []
        self.suppressed: list[bool] = []
        self.primary: list[bool] = []
        # For each primary edge, a cycle of suppressed edges along which it can change by one.
        self.witness: dict[int, list[int]] = {}

    # Construction

    def node(self) -> int:
        self.adjacency.append([])
        return len(self.adjacency) - 1

    def group(self, value: int) -> int:
        self.group_values.append(value)
        self.group_edges.append([])
        is_primary = 1 <= value < self.threshold
        self.suppressed.append(is_primary)
        self.primary.append(is_primary)
        return len(self.group_values) - 1

    def edge(self, tail: int, head: int, group: int, label: str) -> None:
        edge = len(self.tails)
        value = self.group_values[group]
        # What the attacker knows of the cell once it is suppressed: "<5" is 1..t-1; "x" is 0 or
        # at least t, and a zero is taken to stay 0 (conservative: it could only help to move it).
        if value == 0:
            low, high = 0, 0.0
        elif value < self.threshold:
            low, high = 1, float(self.threshold - 1)
        else:
            low, high = self.threshold, math.inf
        self.tails.append(tail)
        self.heads.append(head)
        self.edge_group.append(group)
        self.values.append(value)
        self.can_grow.append(value + 1 <= high)
        self.can_shrink.append(value - 1 >= low)
        self.labels.append(label)
        self.group_edges[group].append(edge)
        self.adjacency[tail].append(edge)
        self.adjacency[head].append(edge)

    # Queries

    def is_suppressed(self, edge: int) -> bool:
        return self.suppressed[self.edge_group[edge]]

    def suppress(self, edge: int) -> bool:
        group = self.edge_group[edge]
        if self.suppressed[group]:
            return False
        self.suppressed[group] = True
        return True

    def other_end(self, edge: int, node: int) -> int:
        return self.heads[edge] if self.tails[edge] == node else self.tails[edge]

    def suppressed_at(self, node: int) -> list[int]:
        return [edge for edge in self.adjacency[node] if self.is_suppressed(edge)]

    def primary_edges(self) -> list[int]:
        return [edge for edge in range(len(self.tails)) if self.primary[self.edge_group[edge]]]

    # Rule 1: no line holds a single suppressed cell, nor only suppressed zeros.

    def needs_complement(self, node: int) -> bool:
        hidden = self.suppressed_at(node)
        if not hidden:
            return False
        if len(hidden) == 1:
            return True
        return all(self.values[edge] == 0 for edge in hidden) and any(
            self.values[edge] > 0 for edge in self.adjacency[node] if not self.is_suppressed(edge)
        )

    def complement_for(self, node: int) -> int:
        def preference(edge: int) -> tuple[bool, int, int, int]:
            hidden_there = len(self.suppressed_at(self.other_end(edge, node)))
            completes = 0 if hidden_there == 1 else 1 if hidden_there >= 2 else 2
            return (self.values[edge] == 0, completes, self.values[edge], edge)

        hidden = self.suppressed_at(node)
        candidates = [edge for edge in self.adjacency[node] if not self.is_suppressed(edge)]
        if len(hidden) > 1:  # only zeros hidden: a zero more would reveal nothing new
            candidates = [edge for edge in candidates if self.values[edge] > 0]
        return min(candidates, key=preference)

    def enforce_lines(self) -> bool:
        changed = False
        progress = True
        while progress:
            progress = False
            for node in range(len(self.adjacency)):
                while self.needs_complement(node):
                    self.suppress(self.complement_for(node))
                    changed = progress = True
        return changed

    # Rule 2: every "<5" cell can change by one within what the attacker knows.

    def free_path(self, start: int, goal: int, excluded: int) -> list[int] | None:
        """A residual path of suppressed edges only (breadth first), or None."""
        came_by: dict[int, tuple[int, int]] = {start: (start, -1)}
        queue = deque([start])
        while queue:
            node = queue.popleft()
            for edge in self.adjacency[node]:
                if edge == excluded or not self.suppressed[self.edge_group[edge]]:
                    continue
                if self.tails[edge] == node:
                    if not self.can_grow[edge]:
                        continue
                    nxt = self.heads[edge]
                else:
                    if not self.can_shrink[edge]:
                        continue
                    nxt = self.tails[edge]
                if nxt in came_by:
                    continue
                came_by[nxt] = (node, edge)
                if nxt == goal:
                    path = []
                    while nxt != start:
                        nxt, step = came_by[nxt]
                        path.append(step)
                    return path
                queue.append(nxt)
        return None

    def cheapest_path(self, start: int, goal: int, excluded: int, residual: bool) -> list[int] | None:
        """Edges of the cheapest path from start to goal avoiding ``excluded`` (Dijkstra).

        Suppressed edges are free; a published one costs what suppressing it would, zeros first
        (so they are used last), then its value, then one per cell. With ``residual``, an edge is
        usable forwards only if its value could grow by one and backwards only if it could shrink.
        """
        best: dict[int, _Cost] = {start: _FREE}
        came_by: dict[int, tuple[int, int]] = {}
        done: set[int] = set()
        queue: list[tuple[_Cost, int, int]] = [(_FREE, 0, start)]
        pushed = 0
        while queue:
            cost, _, node = heapq.heappop(queue)
            if node in done:
                continue
            done.add(node)
            if node == goal:
                path = []
                while node != start:
                    node, edge = came_by[node]
                    path.append(edge)
                return path[::-1]
            for edge in self.adjacency[node]:
                if edge == excluded:
                    continue
                forwards = self.tails[edge] == node
                if residual and not (self.can_grow[edge] if forwards else self.can_shrink[edge]):
                    continue
                nxt = self.heads[edge] if forwards else self.tails[edge]
                if nxt in done:
                    continue
                if self.suppressed[self.edge_group[edge]]:
                    total = cost
                else:
                    value = self.values[edge]
                    total = (cost[0] + (value == 0), cost[1] + value, cost[2] + 1)
                if nxt not in best or total < best[nxt]:
                    best[nxt] = total
                    came_by[nxt] = (node, edge)
                    pushed += 1
                    heapq.heappush(queue, (total, pushed, nxt))
        return None

    def path_cost(self, path: list[int]) -> _Cost:
        published = [self.values[edge] for edge in path if not self.is_suppressed(edge)]
        return (sum(1 for value in published if value == 0), sum(published), len(published))

    def free_room(self, edge: int) -> list[int] | None:
        """A cycle of suppressed cells along which ``edge`` can change by one, or None."""
        cached = self.witness.get(edge)
        if cached is not None and all(self.is_suppressed(other) for other in cached):
            return cached
        found = None
        if self.can_grow[edge]:  # grow: the change flows back from head to tail
            found = self.free_path(self.heads[edge], self.tails[edge], edge)
        if found is None and self.can_shrink[edge]:
            found = self.free_path(self.tails[edge], self.heads[edge], edge)
        return found

    def cheapest_room(self, edge: int) -> list[int] | None:
        """The cheapest path whose suppression lets ``edge`` change by one, or None."""
        options = []
        if self.can_grow[edge]:
            options.append(self.cheapest_path(self.heads[edge], self.tails[edge], edge, residual=True))
        if self.can_shrink[edge]:
            options.append(self.cheapest_path(self.tails[edge], self.heads[edge], edge, residual=True))
        found = [path for path in options if path is not None]
        return min(found, key=self.path_cost) if found else None

    def enforce_room(self) -> bool:
        changed = False
        for edge in self.primary_edges():
            path = self.free_room(edge)
            if path is None:
                path = self.cheapest_room(edge)
                if path is None:
                    raise DisclosureError(
                        f"The count for {self.labels[edge]} cannot be protected at this level of detail: "
                        "publish a coarser table (merge categories, or use a wider area or a longer period)."
                    )
                for other in path:
                    self.suppress(other)
                changed = True
            self.witness[edge] = path
        return changed

    # Rule 3: every suppressed cell lies on a cycle of suppressed cells (no linear recovery).

    def bridges(self) -> list[int]:
        """Suppressed edges on no cycle of suppressed edges, in edge order (Tarjan's bridges)."""
        discovered = [-1] * len(self.adjacency)
        low = [0] * len(self.adjacency)
        found: list[int] = []
        clock = 0
        for root in range(len(self.adjacency)):
            if discovered[root] != -1:
                continue
            discovered[root] = low[root] = clock
            clock += 1
            stack: list[tuple[int, int, Iterator[int]]] = [(root, -1, iter(self.adjacency[root]))]
            while stack:
                node, via, edges = stack[-1]
                for edge in edges:
                    if edge == via or not self.is_suppressed(edge):
                        continue
                    nxt = self.other_end(edge, node)
                    if discovered[nxt] == -1:
                        discovered[nxt] = low[nxt] = clock
                        clock += 1
                        stack.append((nxt, edge, iter(self.adjacency[nxt])))
                        break
                    low[node] = min(low[node], discovered[nxt])
                else:
                    stack.pop()
                    if stack:
                        parent = stack[-1][0]
                        low[parent] = min(low[parent], low[node])
                        if low[node] > discovered[parent]:
                            found.append(via)
        return sorted(found)

    def enforce_cycles(self) -> bool:
        changed = False
        while bridges := self.bridges():
            edge = bridges[0]
            path = self.cheapest_path(self.tails[edge], self.heads[edge], edge, residual=False)
            if path is None:  # every cell of a table lies on a cycle of the table's full graph
                raise RuntimeError("Internal error: a table's cell lies on no cycle.")
            for other in path:
                self.suppress(other)
            changed = True
        return changed

    # Local minimality: publish again every complement that none of the three rules needs.

    def prune(self) -> None:
        complements = [g for g in range(len(self.group_values)) if self.suppressed[g] and not self.primary[g]]
        complements.sort(key=lambda g: (self.group_values[g] != 0, -self.group_values[g], g))
        for group in complements:
            self.suppressed[group] = False
            renewed = self.still_protected(group)
            if renewed is None:
                self.suppressed[group] = True
            else:
                self.witness.update(renewed)

    def still_protected(self, group: int) -> dict[int, list[int]] | None:
        """New witnesses if the rules still hold with ``group`` published again, else None."""
        edges = self.group_edges[group]
        if any(
            self.needs_complement(node) for edge in edges for node in (self.tails[edge], self.heads[edge])
        ):
            return None
        renewed: dict[int, list[int]] = {}
        for primary, path in self.witness.items():
            if any(self.edge_group[edge] == group for edge in path):
                found = self.free_room(primary)
                if found is None:
                    return None
                renewed[primary] = found
        return None if self.bridges() else renewed


class _Layout(NamedTuple):
    """Where one table sits in the network: the ends of its grand total, and its cells' groups."""

    total_tail: int
    total_head: int
    interior: list[list[int]]
    row_totals: list[int]
    column_totals: list[int]


def _protect(parsed: Sequence[_Parsed], threshold: int) -> list[Table1D[Any] | Table2D[Any, Any]]:
    net = _Network(threshold)
    grand_total = net.group(sum(map(sum, parsed[0].values)))
    layouts: list[_Layout] = []
    for index, table in enumerate(parsed):
        prefix = f"table {index}, " if len(parsed) > 1 else ""
        if table.row_keys is None:
            a, b = net.node(), net.node()
            cells = []
            for key, value in zip(table.column_keys, table.values[0], strict=True):
                group = net.group(value)
                net.edge(a, b, group, f"{prefix}{key!r}")
                cells.append(group)
            layouts.append(_Layout(b, a, [cells], [], []))
            continue
        rows = [net.node() for _ in table.row_keys]
        columns = [net.node() for _ in table.column_keys]
        margin_row, margin_column = net.node(), net.node()
        interior = []
        for r, row_key in enumerate(table.row_keys):
            line = []
            for c, column_key in enumerate(table.column_keys):
                group = net.group(table.values[r][c])
                net.edge(rows[r], columns[c], group, f"{prefix}row {row_key!r}, column {column_key!r}")
                line.append(group)
            interior.append(line)
        row_totals = []
        for r, row_key in enumerate(table.row_keys):
            group = net.group(sum(table.values[r]))
            net.edge(margin_column, rows[r], group, f"{prefix}the total of row {row_key!r}")
            row_totals.append(group)
        column_totals = []
        for c, column_key in enumerate(table.column_keys):
            group = net.group(sum(line[c] for line in table.values))
            net.edge(columns[c], margin_row, group, f"{prefix}the total of column {column_key!r}")
            column_totals.append(group)
        layouts.append(_Layout(margin_row, margin_column, interior, row_totals, column_totals))
    for index, layout in enumerate(layouts):
        following = layouts[(index + 1) % len(layouts)]
        net.edge(layout.total_tail, following.total_head, grand_total, "the grand total")

    while True:
        changed = net.enforce_lines()
        changed = net.enforce_room() or changed
        changed = net.enforce_cycles() or changed
        if not changed:
            break
    net.prune()

    def cell(group: int) -> Cell:
        return Cell(net.group_values[group], net.suppressed[group], net.primary[group], threshold)

    results: list[Table1D[Any] | Table2D[Any, Any]] = []
    for table, layout in zip(parsed, layouts, strict=True):
        if table.row_keys is None:
            results.append(
                Table1D(
                    cells={
                        key: cell(g) for key, g in zip(table.column_keys, layout.interior[0], strict=True)
                    },
                    total=cell(grand_total),
                )
            )
        else:
            results.append(
                Table2D(
                    cells={
                        row_key: {col: cell(g) for col, g in zip(table.column_keys, line, strict=True)}
                        for row_key, line in zip(table.row_keys, layout.interior, strict=True)
                    },
                    row_totals={
                        key: cell(g) for key, g in zip(table.row_keys, layout.row_totals, strict=True)
                    },
                    column_totals={
                        key: cell(g) for key, g in zip(table.column_keys, layout.column_totals, strict=True)
                    },
                    total=cell(grand_total),
                )
            )
    return results
