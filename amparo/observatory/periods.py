"""The periods indicators are published for: a month, a quarter or a year in the platform's time zone
(Africa/Maputo), parsed from and written as stable keys (``2026-10``, ``2026Q3``, ``2026``; DHIS2's
``202610``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext as _

_MONTH = re.compile(r"(\d{4})-?(\d{2})")


_QUARTER = re.compile(r"(\d{4})-?Q([1-4])", re.IGNORECASE)


_YEAR = re.compile(r"(\d{4})")


MIN_YEAR, MAX_YEAR = 1900, 2999


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + (day.month - 1) + months
    return dt.date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True, order=True)
class Period:
    """A calendar month, quarter or year: ``start`` is its first day, ``end`` the next period's."""

    kind: str  # "month" | "quarter" | "year"
    start: dt.date
    end: dt.date

    MONTHS = {"month": 1, "quarter": 3, "year": 12}

    def __post_init__(self) -> None:
        months = self.MONTHS.get(self.kind)
        if months is None:
            raise ValueError("A period is a month, a quarter or a year.")
        if self.start.day != 1 or _add_months(self.start, months) != self.end:
            raise ValueError("A period starts on the first day of a month and lasts its whole length.")
        if self.kind == "quarter" and (self.start.month - 1) % 3:
            raise ValueError("A quarter starts in January, April, July or October.")
        if self.kind == "year" and self.start.month != 1:
            raise ValueError("A year starts in January.")

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        start = dt.date(year, month, 1)
        return cls("month", start, _add_months(start, 1))

    @classmethod
    def quarter(cls, year: int, quarter: int) -> Period:
        start = dt.date(year, 3 * (quarter - 1) + 1, 1)
        return cls("quarter", start, _add_months(start, 3))

    @classmethod
    def year(cls, year: int) -> Period:
        return cls("year", dt.date(year, 1, 1), dt.date(year + 1, 1, 1))

    @classmethod
    def containing(cls, kind: str, day: dt.date) -> Period:
        if kind == "month":
            return cls.month(day.year, day.month)
        if kind == "quarter":
            return cls.quarter(day.year, (day.month - 1) // 3 + 1)
        if kind == "year":
            return cls.year(day.year)
        raise ValueError("A period is a month, a quarter or a year.")

    @classmethod
    def parse(cls, text: str) -> Period:
        """ "2026-10" or "202610" (month), "2026Q3" or "2026-Q3" (quarter), "2026" (year).

        Raises ValueError with a message saying what is accepted.
        """
        value = str(text).strip()
        try:
            if m := _QUARTER.fullmatch(value):
                year = cls._check_year(int(m[1]))
                return cls.quarter(year, int(m[2]))
            if m := _MONTH.fullmatch(value):
                year, month = cls._check_year(int(m[1])), int(m[2])
                if not 1 <= month <= 12:
                    raise ValueError
                return cls.month(year, month)
            if m := _YEAR.fullmatch(value):
                return cls.year(cls._check_year(int(m[1])))
        except ValueError:
            pass
        raise ValueError(
            _(
                "Give a period as a month (2026-10 or 202610), a quarter (2026Q3) or a year (2026), "
                "between %(first)s and %(last)s."
            )
            % {"first": MIN_YEAR, "last": MAX_YEAR}
        )

    @staticmethod
    def _check_year(year: int) -> int:
        if not MIN_YEAR <= year <= MAX_YEAR:
            raise ValueError
        return year

    @property
    def quarter_number(self) -> int:
        return (self.start.month - 1) // 3 + 1

    def key(self) -> str:
        """The canonical text form, which :meth:`parse` reads back: 2026-10, 2026Q3, 2026."""
        if self.kind == "month":
            return f"{self.start.year:04d}-{self.start.month:02d}"
        if self.kind == "quarter":
            return f"{self.start.year:04d}Q{self.quarter_number}"
        return f"{self.start.year:04d}"

    def dhis2(self) -> str:
        """DHIS2's period identifier: 202610, 2026Q3, 2026."""
        return self.key().replace("-", "")

    def label(self) -> str:
        if self.kind == "month":
            return date_format(self.start, "F Y")
        if self.kind == "quarter":
            return _("Quarter %(quarter)s of %(year)s") % {
                "quarter": self.quarter_number,
                "year": self.start.year,
            }
        return str(self.start.year)

    def previous(self, n: int = 1) -> Period:
        start = _add_months(self.start, -n * self.MONTHS[self.kind])
        return Period(self.kind, start, _add_months(start, self.MONTHS[self.kind]))

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """Aware datetimes at local midnight of the first day and of the next period's first day."""
        tz = timezone.get_default_timezone()
        return (
            dt.datetime.combine(self.start, dt.time(), tzinfo=tz),
            dt.datetime.combine(self.end, dt.time(), tzinfo=tz),
        )

    def __str__(self) -> str:
        return self.key()


def months_of(period: Period) -> list[Period]:
    """The months a period is made of, in order."""
    return [Period.month(day.year, day.month) for day in _month_starts(period)]


def _month_starts(period: Period) -> list[dt.date]:
    return [_add_months(period.start, n) for n in range(Period.MONTHS[period.kind])]


def current_periods(today: dt.date | None = None) -> list[Period]:
    """The current and previous month, quarter and year."""
    today = today or timezone.localdate()
    out = []
    for kind in ("month", "quarter", "year"):
        current = Period.containing(kind, today)
        out += [current, current.previous()]
    return out
