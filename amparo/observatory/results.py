"""What the observatory publishes: a :class:`Result` of protected :class:`~amparo.lib.disclosure.Cell`
rows for one indicator, period and breakdown; the categories of each disaggregation with their labels; the
notes a reader must see (a coarser view than asked, a source not recorded yet); and the JSON form a
result is stored in (snapshots).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from amparo.cases import models as cm
from amparo.cases.taxonomy import AgeBand, Disclosure, Form, Platform, Relationship, Sex
from amparo.core.models import Agency, District, Province
from amparo.lib.disclosure import Cell
from amparo.observatory import indicators as reg
from amparo.observatory.indicators import Indicator
from amparo.observatory.periods import Period

NOT_RECORDED = "not_recorded"


@dataclass(frozen=True)
class ResultRow:
    """One published row. ``value`` is already protected; render ``value.display()``.

    ``rate`` is a percentage (indicators with a denominator), ``median`` a number of days (median
    indicators, where ``value`` is the number of cases measured); both are None when withheld.
    """

    key: dict[str, str]
    label: dict[str, str]
    value: Cell
    rate: float | None
    median: float | None = None
    denominator: Cell | None = None


@dataclass(frozen=True)
class Result:
    """An indicator for one period and breakdown, ready to publish.

    ``rows`` hold the breakdown (for two disaggregations, the interior cells); ``margins`` the totals
    of each category of a two-way table (their key names one dimension only). ``total`` is the
    numerator's total (for a median indicator, the number of cases measured), ``rate``/``median``
    the overall figure. ``note`` explains anything a reader must know (a coarser view than asked,
    a source not recorded yet). When ``available`` is False the indicator has no data source yet:
    its ``total`` is a placeholder marked suppressed, never a number to show.
    """

    indicator: Indicator
    period: Period
    by: tuple[str, ...]
    rows: list[ResultRow]
    total: Cell
    note: str
    rate: float | None = None
    median: float | None = None
    denominator: Cell | None = None
    margins: list[ResultRow] = field(default_factory=list)
    agency: str = ""  # agency code, "" for the whole country

    @property
    def available(self) -> bool:
        return self.indicator.available and self.indicator.kind != "unavailable"

    def cells(self) -> Iterable[Cell]:
        """Every count this result publishes (for checks that nothing small leaks)."""
        for row in [*self.rows, *self.margins]:
            yield row.value
            if row.denominator is not None:
                yield row.denominator
        yield self.total
        if self.denominator is not None:
            yield self.denominator


_PLACEHOLDER = Cell(0, True, False)


STAGES: tuple[tuple[str, Any], ...] = (
    ("report", gettext_lazy("Reports received")),
    ("investigation", gettext_lazy("Investigation")),
    ("prosecution", gettext_lazy("Prosecution")),
    ("court", gettext_lazy("Court")),
    ("conviction", gettext_lazy("Conviction")),
)


def _not_recorded() -> tuple[str, str]:
    return (NOT_RECORDED, _("Not recorded"))


def categories(dimension: str, indicator: Indicator | None = None) -> list[tuple[str, str]]:
    """The (code, translated label) pairs of a disaggregation, in display order, zeros included."""
    if dimension == reg.PROVINCE:
        return [*Province.objects.values_list("code", "name"), _not_recorded()]
    if dimension == reg.DISTRICT:
        return [*District.objects.values_list("code", "name"), _not_recorded()]
    if dimension == reg.CHANNEL:
        return [(code, str(label)) for code, label in cm.Channel.choices]
    if dimension == reg.FORM:
        return [*((c, str(label)) for c, label in Form.choices), _not_recorded()]
    if dimension == reg.PLATFORM:
        return [*((c, str(label)) for c, label in Platform.choices), _not_recorded()]
    if dimension == reg.SEX:
        return [(c, str(label)) for c, label in Sex.choices]
    if dimension == reg.AGE_BAND:
        return [(c, str(label)) for c, label in AgeBand.choices if c != AgeBand.ADULT]
    if dimension == reg.RELATIONSHIP:
        return [*((c, str(label)) for c, label in Relationship.choices), _not_recorded()]
    if dimension == reg.DISCLOSURE:
        return [*((c, str(label)) for c, label in Disclosure.choices), _not_recorded()]
    if dimension == reg.KNOWN:
        return [("known", _("Known to the child")), ("unknown", _("Unknown to the child")), _not_recorded()]
    if dimension == reg.AREA:
        return [
            ("capital", _("In a provincial capital")),
            ("outside_capital", _("Outside provincial capitals")),
        ]
    if dimension == reg.STAGE:
        return [(code, str(label)) for code, label in STAGES]
    if dimension == reg.LANGUAGE:
        return [(code, str(label)) for code, label in settings.LANGUAGES]
    if dimension == reg.SETTLEMENT:
        return [("urban", _("Urban")), ("rural", _("Rural"))]
    registered = reg.registered_categories(dimension)
    if registered is not None:
        return registered
    raise ValueError(f"unknown disaggregation {dimension!r}")


def _labels_for(by: Sequence[str]) -> list[dict[str, str]]:
    return [dict(categories(d)) for d in by]


def _label(labels: dict[str, str], code: str) -> str:
    return labels.get(code, code)


COARSER_NOTE = gettext_lazy(
    "This breakdown cannot be published without revealing small counts; a coarser view is shown."
)


MULTI_NOTE = gettext_lazy(
    "A record can fall under several categories of this breakdown, so the rows add up to more than "
    "the number of records."
)


def _join_notes(*notes: Any) -> str:
    return " ".join(str(n) for n in notes if n)


def _code(agency: Agency | None) -> str:
    return agency.code if agency is not None else ""


def _unavailable(
    indicator: Indicator, period: Period, by: tuple[str, ...], agency: Agency | None, note: str
) -> Result:
    return Result(indicator, period, by, [], _PLACEHOLDER, note, agency=_code(agency))


def _source_note(indicator: Indicator) -> str:
    return str(indicator.note) or _("Source not yet recorded.")


NESTED_NOTE = gettext_lazy(
    "A figure of a quarter or a year is the sum of its months; it is withheld (x) when a month in it "
    "is withheld."
)


_NOTE_PARTS: dict[str, Any] = {
    "multi": MULTI_NOTE,
    "coarser": COARSER_NOTE,
    "nested": NESTED_NOTE,
}


def note_keys(result: Result) -> list[str]:
    """Which standard sentences a result's note holds, so that a stored view can say them again in
    the reader's language (the indicator's own note is said whenever it has one)."""
    keys = [key for key, text in _NOTE_PARTS.items() if str(text) in result.note]
    if str(_("Source not yet recorded.")) in result.note and result.indicator.available:
        keys.append("source")
    return keys


def _note_from_keys(indicator: Indicator, keys: Sequence[str]) -> str:
    if "source" in keys or not indicator.available or indicator.kind == "unavailable":
        return _source_note(indicator) if indicator.note else _("Source not yet recorded.")
    return _join_notes(indicator.note, *(_NOTE_PARTS[k] for k in ("multi", "coarser", "nested") if k in keys))


def _cell_from_json(data: dict[str, Any] | None) -> Cell | None:
    if data is None:
        return None
    if data["suppressed"]:
        # The stored snapshot never holds a suppressed count: the value is a placeholder.
        return Cell(0, True, data["display"].startswith("<"))
    return Cell(int(data["value"]), False, False)


class _Labels:
    """Category labels in the active language, looked up once per dimension."""

    def __init__(self) -> None:
        self._cache: dict[str, dict[str, str]] = {}

    def __call__(self, dim: str, code: str) -> str:
        if dim not in self._cache:
            self._cache[dim] = dict(categories(dim))
        return self._cache[dim].get(code, code)


def _row_from_json(data: dict[str, Any], labels: _Labels) -> ResultRow:
    return ResultRow(
        key=dict(data["key"]),
        label={dim: labels(dim, code) for dim, code in data["key"].items()},
        value=_cell_from_json(data),  # type: ignore[arg-type]
        rate=data.get("rate"),
        median=data.get("median"),
        denominator=_cell_from_json(data.get("denominator")),
    )


def result_from_json(
    indicator: Indicator, period: Period, data: dict[str, Any], labels: _Labels | None = None
) -> Result:
    """A stored view (:func:`amparo.observatory.exports.result_json` plus ``note_keys``) as a
    Result, its labels and note in the active language. Suppressed cells carry no count."""
    labels = labels or _Labels()
    if data["indicator"].get("available") is False and indicator.available:
        indicator = replace(indicator, available=False)
    total = _cell_from_json(data["total"]) or _PLACEHOLDER
    return Result(
        indicator,
        period,
        tuple(data["by"]),
        [_row_from_json(row, labels) for row in data["rows"]],
        total,
        _note_from_keys(indicator, data.get("note_keys", [])),
        rate=data["rate"],
        median=data["median"],
        denominator=_cell_from_json(data["denominator"]),
        margins=[_row_from_json(row, labels) for row in data["margins"]],
        agency=data["agency"] or "",
    )
