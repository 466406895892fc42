"""k-anonymity for de-identified research extracts (no Django).

The *quasi-identifiers* of an extract are the columns an outsider could match against what they
already know (district, age, month of report, sex). An extract is *k-anonymous* when every
combination of quasi-identifier values that occurs in it is shared by at least ``k`` records, so no
record can be narrowed down to a group smaller than ``k``.

:func:`check` lists the combinations (equivalence classes) smaller than ``k``. :func:`generalise`
coarsens quasi-identifiers step by step (district -> province -> national; age -> band -> 0-17;
month -> quarter -> year) until the extract is k-anonymous, and raises :class:`UnsafeExtract` when
the steps run out first. The caller must then refuse to release.

Guarantees of :func:`generalise`:

* What it returns is k-anonymous over the quasi-identifiers it was given, or it raises.
* Records are changed only by the declared steps: every other column is copied unchanged, and each
  quasi-identifier holds its original value passed through the first ``levels[column]`` steps of
  its hierarchy. The input records are not modified. Order is kept.
* No record is dropped unless ``allow_suppression=True``; then only records still in too-small
  classes once every hierarchy is exhausted are dropped, only if they are at most
  ``max_suppressed_share`` of the extract, and their number is reported.

Limits: k-anonymity protects against re-identification by linkage on the quasi-identifiers named,
and nothing else. It does not stop attribute disclosure (if all k records of a class share the same
sensitive value, that value is learnt: consider l-diversity for such columns), a column left out of
``quasi_identifiers`` is not protected, and recoding is global (a column is generalised to the same
level in every record), which is simple to explain but coarser than strictly necessary.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

Step = Callable[[Any], Hashable]
"""One generalisation step: takes the column's value at the previous level, returns a coarser one."""


@dataclass(frozen=True)
class EquivalenceClass:
    """One combination of quasi-identifier values and how many records share it."""

    quasi_identifiers: tuple[str, ...]
    values: tuple[Hashable, ...]
    size: int

    def as_dict(self) -> dict[str, Hashable]:
        return dict(zip(self.quasi_identifiers, self.values, strict=True))


class UnsafeExtract(Exception):
    """The extract cannot be made k-anonymous with the declared generalisations: do not release it.

    The message says how many combinations and records remain too small and how far each column was
    generalised, but not the combinations themselves (exception messages reach logs); they are in
    :attr:`small_classes`, for an authorised analyst to see.
    """

    def __init__(self, message: str, small_classes: list[EquivalenceClass], levels: dict[str, int]) -> None:
        super().__init__(message)
        self.small_classes = small_classes
        self.levels = levels


@dataclass(frozen=True)
class Extract:
    """A k-anonymous extract, with the generalisation applied and the records dropped."""

    records: list[dict[str, Any]]
    levels: dict[str, int]  # how many steps of its hierarchy each quasi-identifier went through
    suppressed: int  # records dropped (only ever with allow_suppression=True)


def check(
    records: Sequence[Mapping[str, Any]], quasi_identifiers: Sequence[str], k: int = 5
) -> list[EquivalenceClass]:
    """The equivalence classes with fewer than ``k`` records, in order of first appearance.

    An empty list means the records are k-anonymous over ``quasi_identifiers``.
    """
    _check_k(k)
    columns = _check_columns(quasi_identifiers)
    rows = [_quasi_values(record, columns, index) for index, record in enumerate(records)]
    return _small_classes(rows, columns, k)


def generalise(
    records: Sequence[Mapping[str, Any]],
    hierarchy: Mapping[str, Sequence[Step]],
    quasi_identifiers: Sequence[str],
    k: int = 5,
    *,
    allow_suppression: bool = False,
    max_suppressed_share: float | None = None,
) -> Extract:
    """Generalise the quasi-identifiers until every combination is shared by at least ``k`` records.

    ``hierarchy[column]`` lists the column's steps, finest first; each step receives the value the
    previous one produced (``[district_to_province, province_to_national]``). A quasi-identifier
    without a hierarchy is never generalised. While some class is smaller than ``k``, the column
    with the most distinct values among those with steps left is generalised one step (ties go to
    the column named first in ``quasi_identifiers``): the Datafly heuristic, with global recoding.

    When every hierarchy is exhausted and classes are still too small, :class:`UnsafeExtract` is
    raised, unless ``allow_suppression`` is set and those classes hold at most
    ``max_suppressed_share`` of the records, in which case exactly those records are dropped and
    counted in :attr:`Extract.suppressed`.
    """
    _check_k(k)
    columns = _check_columns(quasi_identifiers)
    unknown = [column for column in hierarchy if column not in columns]
    if unknown:
        raise ValueError(f"The hierarchy names columns that are not quasi-identifiers: {unknown!r}.")
    if allow_suppression != (max_suppressed_share is not None):
        raise ValueError("allow_suppression=True and max_suppressed_share go together: give both or neither.")
    if max_suppressed_share is not None and not 0 <= max_suppressed_share < 1:
        raise ValueError("max_suppressed_share is a share of the records, from 0 up to (not including) 1.")
    droppable = Fraction(str(max_suppressed_share)) * len(records) if max_suppressed_share is not None else 0

    steps = {column: list(hierarchy.get(column, ())) for column in columns}
    rows = [_quasi_values(record, columns, index) for index, record in enumerate(records)]
    levels = dict.fromkeys(columns, 0)
    small = _small_classes(rows, columns, k)
    while small:
        open_columns = [column for column in columns if levels[column] < len(steps[column])]
        if not open_columns:
            break
        position = max(
            range(len(columns)),
            key=lambda i: (columns[i] in open_columns, len({row[i] for row in rows}), -i),
        )
        column = columns[position]
        step = steps[column][levels[column]]
        for row in rows:
            row[position] = step(row[position])
        levels[column] += 1
        small = _small_classes(rows, columns, k)

    dropped: set[int] = set()
    if small:
        too_small = {cls.values for cls in small}
        dropped = {index for index, row in enumerate(rows) if tuple(row) in too_small}
        summary = (
            f"{len(small)} combination(s) of {', '.join(columns)}, holding {len(dropped)} of {len(rows)} "
            f"record(s), remain below k={k} with every generalisation applied "
            f"({', '.join(f'{c}: {levels[c]}/{len(steps[c])}' for c in columns)})"
        )
        if not allow_suppression:
            raise UnsafeExtract(f"{summary}. The extract must not be released.", small, levels)
        if len(dropped) > droppable:
            raise UnsafeExtract(
                f"{summary}; dropping them would exceed the allowed share of {max_suppressed_share:.1%}. "
                "The extract must not be released.",
                small,
                levels,
            )

    released = [
        {**record, **dict(zip(columns, row, strict=True))}
        for index, (record, row) in enumerate(zip(records, rows, strict=True))
        if index not in dropped
    ]
    return Extract(records=released, levels=levels, suppressed=len(dropped))


def _check_k(k: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError("k must be a whole number of at least 1.")


def _check_columns(quasi_identifiers: Sequence[str]) -> tuple[str, ...]:
    if isinstance(quasi_identifiers, str):
        raise TypeError("quasi_identifiers is a list of column names, not one string.")
    columns = tuple(quasi_identifiers)
    if len(set(columns)) != len(columns):
        raise ValueError("quasi_identifiers names a column twice.")
    return columns


def _quasi_values(record: Mapping[str, Any], columns: tuple[str, ...], index: int) -> list[Hashable]:
    missing = [column for column in columns if column not in record]
    if missing:
        raise ValueError(f"Record {index} has no column {missing[0]!r}.")
    return [record[column] for column in columns]


def _small_classes(rows: list[list[Hashable]], columns: tuple[str, ...], k: int) -> list[EquivalenceClass]:
    sizes = Counter(tuple(row) for row in rows)
    return [EquivalenceClass(columns, values, size) for values, size in sizes.items() if size < k]
