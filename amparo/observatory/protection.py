"""One indicator for one period, protected: raw counts become tables passed through disclosure control
(:mod:`amparo.lib.disclosure`: small counts suppressed with complements, rates and medians withheld
with them), and breakdowns published together are protected together. When a breakdown cannot be
protected a coarser one is returned, with a note.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from django.core.exceptions import FieldError
from django.db.models import Count, Exists, OuterRef, Q
from django.utils.translation import gettext as _

from amparo.cases import models as cm
from amparo.core.models import Agency
from amparo.lib.disclosure import (
    DEFAULT_THRESHOLD,
    Cell,
    DisclosureError,
    Table1D,
    Table2D,
    safe_rate,
    suppress_1d,
    suppress_2d,
)
from amparo.lib.disclosure import suppress_linked as _suppress_linked
from amparo.observatory import indicators as reg
from amparo.observatory.indicators import Indicator
from amparo.observatory.periods import Period
from amparo.observatory.queries import (
    _case_q,
    _count,
    _count_flagged,
    _disclosure_counts,
    _first_events,
    _furthest_stage,
    _grouped_counts_and_medians,
    _justice_stage,
    _source,
    _victims,
)
from amparo.observatory.results import (
    COARSER_NOTE,
    MULTI_NOTE,
    STAGES,
    Result,
    ResultRow,
    _code,
    _join_notes,
    _label,
    _labels_for,
    _source_note,
    _unavailable,
    categories,
)


def _table_1d(counts: dict[tuple[str, ...], int], dim: str) -> dict[str, int]:
    table = {code: 0 for code, _label in categories(dim)}
    for (code,), n in counts.items():
        table[code] = table.get(code, 0) + n
    return table


def _table_2d(
    counts: dict[tuple[str, ...], int], rows: str, columns: str | list[str]
) -> dict[str, dict[str, int]]:
    column_codes = columns if isinstance(columns, list) else [code for code, _label in categories(columns)]
    table = {code: dict.fromkeys(column_codes, 0) for code, _label in categories(rows)}
    for (r, c), n in counts.items():
        row = table.setdefault(r, dict.fromkeys(column_codes, 0))
        row[c] = row.get(c, 0) + n
    return table


def _rows_1d(table: Table1D, dim: str) -> list[ResultRow]:
    labels = dict(categories(dim))
    return [
        ResultRow(key={dim: code}, label={dim: _label(labels, code)}, value=cell, rate=None)
        for code, cell in table.cells.items()
    ]


def _rows_2d(table: Table2D, by: tuple[str, str]) -> tuple[list[ResultRow], list[ResultRow]]:
    rl, cl = _labels_for(by)
    rows = [
        ResultRow(
            key={by[0]: r, by[1]: c},
            label={by[0]: _label(rl, r), by[1]: _label(cl, c)},
            value=cell,
            rate=None,
        )
        for r, line in table.cells.items()
        for c, cell in line.items()
    ]
    margins = [
        ResultRow(key={by[0]: r}, label={by[0]: _label(rl, r)}, value=cell, rate=None)
        for r, cell in table.row_totals.items()
    ] + [
        ResultRow(key={by[1]: c}, label={by[1]: _label(cl, c)}, value=cell, rate=None)
        for c, cell in table.column_totals.items()
    ]
    return rows, margins


def _check(indicator: Indicator, by: tuple[str, ...]) -> tuple[str, ...]:
    by = tuple(by)
    if indicator.kind == "funnel":
        return ()
    if not indicator.allows(by):
        raise ValueError(
            _("The indicator %(code)s can be broken down by: %(allowed)s.")
            % {"code": indicator.code, "allowed": ", ".join(indicator.disaggregations) or "-"}
        )
    if len(by) > 2:
        raise ValueError(_("An indicator can be broken down by at most two disaggregations at once."))
    if _is_share(indicator) and len(by) > 1:
        raise ValueError(_("A share can be broken down by one disaggregation at a time."))
    if indicator.is_median and len(by) > 1:
        raise ValueError(_("A median can be broken down by one disaggregation at a time."))
    if reg.DISCLOSURE in by and len(by) > 1:
        raise ValueError(_("Whom the child told can only be shown on its own."))
    return by


_SHARE_KINDS = frozenset({"police_72h", "told_no_one", "intl_acted", "rights_info"})


def _is_share(indicator: Indicator) -> bool:
    """A share of a partition (numerator / the rest): the built-in ones, and another app's
    indicator that has a rate."""
    if indicator.kind in _SHARE_KINDS:
        return True
    return reg.source_for(indicator.kind) is not None and indicator.has_rate


_OTHER_APPS = frozenset({"hash_matches", "training", "median_removal"})


_NESTED = -1  # compute_linked's province x district table, which no caller asked for by name


def _raw_tables(indicator: Indicator, period: Period, by: tuple[str, ...], agency: Agency | None) -> Any:  # noqa: ANN401
    if indicator.kind == "disclosure":
        counts = _disclosure_counts(period, agency) if by else {(): _victims(period, agency).count()}
    else:
        counts = _count(_source(indicator, period, agency), by)
    if not by:
        return {"total": counts.get((), 0)}
    if len(by) == 1:
        return _table_1d(counts, by[0])
    return _table_2d(counts, by[0], by[1])


def _result_from_table(
    indicator: Indicator,
    period: Period,
    by: tuple[str, ...],
    table: Table1D | Table2D,
    note: str,
    agency: Agency | None,
) -> Result:
    if not by:
        return Result(indicator, period, (), [], table.total, note, agency=_code(agency))
    if len(by) == 1:
        return Result(indicator, period, by, _rows_1d(table, by[0]), table.total, note, agency=_code(agency))
    rows, margins = _rows_2d(table, (by[0], by[1]))
    return Result(indicator, period, by, rows, table.total, note, margins=margins, agency=_code(agency))


def _protect_one(raw: Any, two_way: bool) -> Table1D | Table2D:  # noqa: ANN401
    return suppress_2d(raw) if two_way else suppress_1d(raw)


def _count_result(indicator: Indicator, period: Period, by: tuple[str, ...], agency: Agency | None) -> Result:
    base_note = _join_notes(indicator.note, MULTI_NOTE if set(by) & reg.MULTI_VALUED else "")
    attempt = by
    while True:
        raw = _raw_tables(indicator, period, attempt, agency)
        try:
            table = _protect_one(raw, len(attempt) == 2)
        except DisclosureError:
            attempt = attempt[:-1]  # coarser: drop the last disaggregation, down to the total alone
            continue
        note = base_note if attempt == by else _join_notes(base_note, COARSER_NOTE)
        return _result_from_table(indicator, period, attempt, table, note, agency)


def _share_result(indicator: Indicator, period: Period, by: tuple[str, ...], agency: Agency | None) -> Result:
    """A share is a partition (numerator / the rest), protected as one table with the denominator
    as its total, so that "the rest" cannot reveal a small count either."""
    source = _source(indicator, period, agency)
    note = str(indicator.note or "")
    if by:
        counts = _count_flagged(source, by)
        raw = _table_2d(counts, by[0], ["yes", "no"])
        try:
            table = suppress_2d(raw)
        except DisclosureError:
            by, note = (), _join_notes(note, COARSER_NOTE)
        else:
            labels = dict(categories(by[0]))
            rows = [
                ResultRow(
                    key={by[0]: code},
                    label={by[0]: _label(labels, code)},
                    value=line["yes"],
                    rate=safe_rate(line["yes"], table.row_totals[code]),
                    denominator=table.row_totals[code],
                )
                for code, line in table.cells.items()
            ]
            numerator, denominator = table.column_totals["yes"], table.total
            return Result(
                indicator,
                period,
                by,
                rows,
                numerator,
                note,
                rate=safe_rate(numerator, denominator),
                denominator=denominator,
                agency=_code(agency),
            )
    counts = _count_flagged(source, ())
    table1 = suppress_1d({"yes": counts.get(("yes",), 0), "no": counts.get(("no",), 0)})
    numerator = table1.cells["yes"]
    return Result(
        indicator,
        period,
        (),
        [],
        numerator,
        note,
        rate=safe_rate(numerator, table1.total),
        denominator=table1.total,
        agency=_code(agency),
    )


def _median_result(
    indicator: Indicator, period: Period, by: tuple[str, ...], agency: Agency | None
) -> Result:
    events, dims = _first_events(indicator, period, agency)
    note = str(indicator.note or "")
    counts, medians, n, overall = _grouped_counts_and_medians(events, by, dims)
    if by:
        raw = _table_1d({(k,): v for k, v in counts.items()}, by[0])
        try:
            table = suppress_1d(raw)
        except DisclosureError:
            by, note = (), _join_notes(note, COARSER_NOTE)
        else:
            labels = dict(categories(by[0]))
            rows = [
                ResultRow(
                    key={by[0]: code},
                    label={by[0]: _label(labels, code)},
                    value=cell,
                    rate=None,
                    median=None if cell.suppressed else _round(medians.get(code)),
                )
                for code, cell in table.cells.items()
            ]
            return Result(
                indicator,
                period,
                by,
                rows,
                table.total,
                note,
                median=None if table.total.suppressed else _round(overall),
                agency=_code(agency),
            )
    total = suppress_1d({"total": n}).total
    return Result(
        indicator,
        period,
        (),
        [],
        total,
        note,
        median=None if total.suppressed else _round(overall),
        agency=_code(agency),
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _funnel_cells(period: Period, agency: Agency | None) -> list[Cell]:
    """Cumulative stage counts, protected.

    The cases of a cohort are partitioned by the furthest stage they reached, and that partition
    is protected with :func:`suppress_1d`. A cumulative count ("reached stage k or further") is the
    sum of the partition from k on; it is published only when the published partition already
    determines it (every earlier part, or every later part, is published), so the funnel adds no
    equation that the protected partition does not already give. Otherwise it is withheld.
    """
    # One query: each case's furthest stage (grouped over its transitions), then counted per stage.
    # Cases with justice events are few: their stage is looked up separately and merged in, so that
    # the common path stays one grouped query.
    cases = cm.Case.objects.filter(_case_q(period, agency))
    judged = cases.filter(Exists(cm.JusticeEvent.objects.filter(case=OuterRef("pk"))))
    reached = (
        cases.exclude(Exists(cm.JusticeEvent.objects.filter(case=OuterRef("pk"))))
        .annotate(stage=_furthest_stage())
        .aggregate(**{f"c{k}": Count("pk", filter=Q(stage__gte=k)) for k in range(len(STAGES))})
    )
    for row in (
        judged.annotate(t_stage=_furthest_stage())
        .annotate(j_stage=_justice_stage())
        .values("t_stage", "j_stage")
    ):
        stage = max(row["t_stage"] or 0, row["j_stage"] or 0)
        for k in range(stage + 1):
            reached[f"c{k}"] = (reached[f"c{k}"] or 0) + 1
    cumulative = [reached[f"c{k}"] or 0 for k in range(len(STAGES))]
    parts = [cumulative[k] - (cumulative[k + 1] if k + 1 < len(STAGES) else 0) for k in range(len(STAGES))]
    try:
        table = suppress_1d({code: parts[i] for i, (code, _label) in enumerate(STAGES)})
    except DisclosureError:
        # Too few cases to show any stage safely: the cohort's size alone, every stage withheld.
        small = 0 < cumulative[0] < DEFAULT_THRESHOLD
        total = Cell(cumulative[0], small, small)
        return [total, *(Cell(v, True, 0 < v < DEFAULT_THRESHOLD) for v in cumulative[1:])]
    published = [table.cells[code] for code, _label in STAGES]
    out = []
    for k in range(len(STAGES)):
        value = sum(parts[k:])
        determined = all(not c.suppressed for c in published[:k]) or all(
            not c.suppressed for c in published[k:]
        )
        if k == 0:
            out.append(table.total)
            continue
        small = 0 < value < table.total.threshold
        out.append(Cell(value, small or not determined, small))
    return out


def _funnel_result(indicator: Indicator, period: Period, agency: Agency | None) -> Result:
    cells = _funnel_cells(period, agency)
    total = cells[0]
    rows = [
        ResultRow(
            key={reg.STAGE: code},
            label={reg.STAGE: str(label)},
            value=cell,
            rate=safe_rate(cell, total),
            denominator=total,
        )
        for (code, label), cell in zip(STAGES, cells, strict=True)
    ]
    return Result(
        indicator, period, (reg.STAGE,), rows, total, str(indicator.note or ""), agency=_code(agency)
    )


def _compute_flat(
    code: str, period: Period, by: tuple[str, ...] = (), *, agency: Agency | None = None
) -> Result:
    """One indicator for one period computed on its own (no nesting), protected. ``by`` names up to two disaggregations the
    indicator allows (shares, medians and "whom the child told": one). ``agency`` limits the count
    to that agency's cases (owned, or referred and accepted); None is the whole country.

    Raises :class:`amparo.observatory.indicators.UnknownIndicator` for an unknown code and
    ValueError for a breakdown the indicator does not allow.
    """
    indicator = reg.get(code)
    by = _check(indicator, tuple(by))
    if not indicator.available or indicator.kind == "unavailable":
        return _unavailable(indicator, period, by, agency, _source_note(indicator))
    if indicator.kind == "funnel":
        return _funnel_result(indicator, period, agency)
    try:
        if _is_share(indicator):
            return _share_result(indicator, period, by, agency)
        if indicator.is_median:
            return _median_result(indicator, period, by, agency)
        return _count_result(indicator, period, by, agency)
    except (LookupError, FieldError):
        if indicator.kind not in _OTHER_APPS:
            raise
        # Another app's tables (evidence, the training register) are not there, or not in the
        # shape expected: say so rather than publish a number.
        missing = replace(indicator, available=False)
        return _unavailable(missing, period, by, agency, _("Source not yet recorded."))


def _linked_flat(
    code: str, period: Period, bys: Sequence[tuple[str, ...]], *, agency: Agency | None = None
) -> list[Result]:
    """Several breakdowns of one indicator and period that are published together, protected
    together so that no suppressed cell of one can be recovered from another.

    Count indicators: the tables (and the total) are passed to ``suppress_linked``; a one-way
    breakdown that is a margin of a requested two-way one is taken from that table's margins
    rather than published twice. Two two-way tables sharing a dimension cannot be protected
    together: the second is published as its total only, with a note. Multi-valued breakdowns
    (forms, platforms, whom the child told) describe mentions, not records; they are protected on
    their own. Shares and medians: the first breakdown is computed in full; a further breakdown is
    published only if its suppression of the shared totals agrees, otherwise as the total only.
    Returns one Result per requested breakdown, in order.
    """
    indicator = reg.get(code)
    bys = [_check(indicator, tuple(b)) for b in bys]
    if (
        not indicator.available
        or indicator.kind in {"funnel", "unavailable", "disclosure"}
        or _is_share(indicator)
        or indicator.is_median
    ):
        return _linked_by_agreement(indicator, period, bys, agency)
    results: dict[int, Result] = {}
    linkable = [i for i, b in enumerate(bys) if not set(b) & reg.MULTI_VALUED]
    for i in set(range(len(bys))) - set(linkable):
        results[i] = _compute_flat(code, period, bys[i], agency=agency)
    plan = _LinkPlan.of(bys, linkable)
    by_index, total = _protect_together(indicator, period, agency, plan)
    for i, table in by_index.items():
        if i != _NESTED:
            results[i] = _result_from_table(
                indicator, period, bys[i], table, str(indicator.note or ""), agency
            )
    for i, (j, axis) in plan.margin_of.items():
        if j not in by_index:
            plan.reduced.add(i)
            continue
        results[i] = _margin_result(indicator, period, bys[i], by_index[j], axis, agency)
    for i in linkable:
        if i in results:
            continue
        note = "" if not bys[i] else str(COARSER_NOTE)
        results[i] = Result(
            indicator, period, (), [], total, _join_notes(indicator.note, note), agency=_code(agency)
        )
    return [results[i] for i in range(len(bys))]


@dataclass
class _LinkPlan:
    """Which tables the breakdowns published together are protected as (indices into the requested
    breakdowns; `_NESTED` for a province x district table nobody asked for by name)."""

    table_by: dict[int, tuple[str, ...]]  # the dimensions of each table
    reduced: set[int]  # published as the total only
    margin_of: dict[
        int, tuple[int, int]
    ]  # a one-way breakdown -> (the two-way table, axis) it is a margin of
    own: list[int]  # the tables protected together

    @classmethod
    def of(cls, bys: Sequence[tuple[str, ...]], linkable: list[int]) -> _LinkPlan:
        # Two-way tables first; a second two-way table sharing a dimension is reduced to the total.
        two_way: list[int] = []
        reduced: set[int] = set()
        for i in linkable:
            if len(bys[i]) == 2:
                if any(set(bys[i]) & set(bys[j]) for j in two_way):
                    reduced.add(i)
                else:
                    two_way.append(i)
        # Districts add up to provinces: a province and a district breakdown published together are one
        # province x district table (its margins), or, when a two-way table already uses either, the
        # district breakdowns are published as the total only.
        table_by: dict[int, tuple[str, ...]] = dict(enumerate(bys))
        places = [i for i in linkable if i not in reduced and set(bys[i]) & {reg.PROVINCE, reg.DISTRICT}]
        if any(reg.PROVINCE in bys[i] for i in places) and any(reg.DISTRICT in bys[i] for i in places):
            if all(len(bys[i]) == 1 for i in places):
                table_by[_NESTED] = (reg.PROVINCE, reg.DISTRICT)
                two_way.append(_NESTED)
            else:
                reduced.update(i for i in places if reg.DISTRICT in bys[i])
                two_way = [j for j in two_way if j not in reduced]
        margin_of: dict[int, tuple[int, int]] = {}
        for i in linkable:
            if len(bys[i]) == 1 and i not in reduced:
                for j in two_way:
                    if bys[i][0] in table_by[j]:
                        margin_of[i] = (j, table_by[j].index(bys[i][0]))
                        break
        own = [
            i
            for i in [*linkable, _NESTED]
            if i in table_by and i not in reduced and i not in margin_of and table_by[i]
        ]
        return cls(table_by, reduced, margin_of, own)


def _protect_together(
    indicator: Indicator, period: Period, agency: Agency | None, plan: _LinkPlan
) -> tuple[dict[int, Table1D | Table2D], Cell]:
    """The plan's tables protected together, and the grand total. When they cannot be, the breakdown with
    the most cells is dropped (published as the total only, with its margins) and the rest tried again."""
    while True:
        raws = [_raw_tables(indicator, period, plan.table_by[i], agency) for i in plan.own]
        if not raws:
            total = suppress_1d({"total": sum(_raw_tables(indicator, period, (), agency).values())}).total
            return {}, total
        try:
            tables = _suppress_linked(raws)
        except DisclosureError:
            widest = max(plan.own, key=lambda i: (len(plan.table_by[i]), len(raws[plan.own.index(i)])))
            plan.own.remove(widest)
            plan.reduced.add(widest)
            for k, (j, _axis) in list(plan.margin_of.items()):
                if j == widest:
                    del plan.margin_of[k]
                    plan.reduced.add(k)
            continue
        return dict(zip(plan.own, tables, strict=True)), tables[0].total


def _margin_result(
    indicator: Indicator,
    period: Period,
    by: tuple[str, ...],
    table2: Table2D,
    axis: int,
    agency: Agency | None,
) -> Result:
    """A one-way breakdown published as a margin of a two-way table protected with it."""
    margin = table2.row_totals if axis == 0 else table2.column_totals
    dim = by[0]
    labels = dict(categories(dim))
    rows = [
        ResultRow(key={dim: k}, label={dim: _label(labels, k)}, value=cell, rate=None)
        for k, cell in margin.items()
    ]
    return Result(indicator, period, by, rows, table2.total, str(indicator.note or ""), agency=_code(agency))


def _linked_by_agreement(
    indicator: Indicator, period: Period, bys: list[tuple[str, ...]], agency: Agency | None
) -> list[Result]:
    """Shares and medians: keep a further breakdown only if its shared totals are suppressed exactly
    as in the first one (then it reveals nothing about them that the first does not)."""
    results: list[Result] = []
    first: Result | None = None
    for by in bys:
        result = _compute_flat(indicator.code, period, by, agency=agency)
        if first is None:
            first = result
        elif _shared(result) != _shared(first):
            result = Result(
                indicator,
                period,
                (),
                [],
                first.total,
                _join_notes(indicator.note, COARSER_NOTE),
                rate=first.rate,
                median=first.median,
                denominator=first.denominator,
                agency=_code(agency),
            )
        results.append(result)
    return results


def _shared(result: Result) -> tuple[bool, bool | None]:
    return (result.total.suppressed, None if result.denominator is None else result.denominator.suppressed)
