"""CSV and JSON of any indicator view, made only from protected :class:`Result` objects.

A suppressed cell is written as its marker ("<5" for a small count, "x" for a complement) with no
number: in JSON ``value`` is null and ``display`` holds the marker; in CSV the value column holds
the marker. Rates and medians that :mod:`amparo.observatory.compute` withheld are empty/null.

:func:`export` is the audited entry point (the UI and ``amparo indicators export`` use it); the
``render_*`` functions only format results already computed.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from amparo.core import audit
from amparo.core.models import Agency
from amparo.core.policy import can
from amparo.lib.disclosure import Cell
from amparo.observatory import compute as c
from amparo.observatory import indicators as reg
from amparo.observatory.permissions import ObservatoryAudit, ObservatoryPermission

FORMATS = ("csv", "json")
CSV_HEADER = [
    "indicator",
    "indicator_version",
    "period",
    "agency",
    "dimension_1",
    "category_1",
    "label_1",
    "dimension_2",
    "category_2",
    "label_2",
    "value",
    "rate_percent",
    "median_days",
    "unit",
    "note",
]


def cell_json(cell: Cell) -> dict[str, Any]:
    """A cell as JSON: the number only when it may be published."""
    return {"value": cell.published, "display": cell.display(), "suppressed": cell.suppressed}


def _row_json(row: c.ResultRow) -> dict[str, Any]:
    out: dict[str, Any] = {"key": dict(row.key), "label": dict(row.label), **cell_json(row.value)}
    out["rate"] = None if row.rate is None else round(row.rate, 1)
    out["median"] = row.median
    if row.denominator is not None:
        out["denominator"] = cell_json(row.denominator)
    return out


def result_json(result: c.Result) -> dict[str, Any]:
    indicator = result.indicator
    return {
        "indicator": {
            "code": indicator.code,
            "name": str(indicator.name),
            "definition": str(indicator.definition),
            "unit": indicator.unit,
            "version": indicator.version,
            "available": result.available,
        },
        "period": result.period.key(),
        "period_label": result.period.label(),
        "agency": result.agency or None,
        "by": list(result.by),
        "rows": [_row_json(row) for row in result.rows],
        "margins": [_row_json(row) for row in result.margins],
        "total": cell_json(result.total) if result.available else None,
        "denominator": cell_json(result.denominator) if result.denominator is not None else None,
        "rate": None if result.rate is None else round(result.rate, 1),
        "median": result.median,
        "note": result.note,
    }


def render_json(results: Sequence[c.Result]) -> str:
    payload = {
        "generated_at": timezone.now().isoformat(timespec="seconds"),
        "suppression": "Counts from 1 to 4 are shown as <5; x marks a count hidden to protect another.",
        "results": [result_json(r) for r in results],
    }
    return json.dumps(payload, ensure_ascii=False, indent=2) + "\n"


def _safe_text(value: str) -> str:
    """Neutralise spreadsheet formulas in text cells (a label starting with =, +, - or @)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _csv_line(result: c.Result, row: c.ResultRow | None) -> list[str]:
    indicator = result.indicator
    dims: list[str] = []
    if row is not None:
        for dim, code in row.key.items():
            dims += [dim, code, _safe_text(row.label.get(dim, code))]
    dims += [""] * (6 - len(dims))
    if row is None:
        value = result.total.display() if result.available else ""
        rate, median = result.rate, result.median
    else:
        value, rate, median = row.value.display(), row.rate, row.median
    return [
        indicator.code,
        indicator.version,
        result.period.key(),
        result.agency,
        *dims,
        value,
        "" if rate is None else f"{rate:.1f}",
        "" if median is None else f"{median:.1f}",
        indicator.unit,
        _safe_text(result.note),
    ]


def render_csv(results: Sequence[c.Result]) -> str:
    """One line per published row, then one for the total of each result (empty dimensions)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for result in results:
        for row in [*result.rows, *result.margins]:
            writer.writerow(_csv_line(result, row))
        writer.writerow(_csv_line(result, None))
    return buffer.getvalue()


def render(results: Sequence[c.Result], fmt: str) -> str:
    if fmt == "csv":
        return render_csv(results)
    if fmt == "json":
        return render_json(results)
    raise ValueError(f"format must be one of {', '.join(FORMATS)}")


def export(
    actor: Any,  # noqa: ANN401
    code: str,
    period: c.Period,
    bys: Sequence[tuple[str, ...]] = ((),),
    fmt: str = "csv",
    *,
    agency: Agency | None = None,
) -> str:
    """Compute the breakdowns (protected together), render them and audit the export.

    A staff user needs the export permission for the whole country (``agency`` None) or for that
    agency; the system (the command line on the server) exports as an ``audit.Actor``.
    """
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    reg.get(code)
    user = actor.user if isinstance(actor, audit.Actor) else actor
    if user is not None and not can(user, ObservatoryPermission.EXPORT, agency):
        raise PermissionDenied
    from amparo.observatory.snapshots import Reader

    # The views a page shows come from the same (stored when fresh) canonical set as the page.
    results = Reader(agency).linked(code, period, list(bys))
    with transaction.atomic():
        audit.record(
            actor,
            ObservatoryAudit.EXPORT,
            ("observatory.indicator", f"{code}/{period.key()}/{agency.code if agency else 'national'}"),
            ["by", "format"],
        )
    return render(results, fmt)
