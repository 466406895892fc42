"""The de-identified research extract: which columns exist, how each is coarsened, and the
k-anonymity check that refuses to release an unsafe extract.

One row per case received in the requested period, with its first child victim's age band and sex
when there is one. No direct identifier ever leaves: no names, phones, addresses, narratives, case
references or database ids; dates become months; ages are bands; places are districts at best.
The quasi-identifiers (place, month, age band, sex) are then generalised with
:func:`amparo.lib.kanon.generalise` (district -> province -> national, month -> quarter -> year,
age band -> wider band -> any age) until every combination is shared by at least
:data:`K` records, or :class:`amparo.lib.kanon.UnsafeExtract` is raised and nothing is released.

The extract is built when it is downloaded and never stored.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Any

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from amparo.cases.models import Case, Person, PersonRole
from amparo.cases.taxonomy import KNOWN_RELATIONSHIPS, Disclosure
from amparo.core import policy
from amparo.core.models import District, Province
from amparo.core.roles import Role
from amparo.lib import kanon

K = 5


class ExtractPermission(StrEnum):
    REQUEST = "observatory:extract:request"
    DECIDE = "observatory:extract:decide"
    DOWNLOAD = "observatory:extract:download"
    LIST = "observatory:extract:list"
    READ = "observatory:extract:read"  # one request: its requester, or a national coordinator
    READ_ANY = "observatory:extract:read_any"  # every request (national coordinators)


class ExtractAudit(StrEnum):
    REQUEST = "observatory:extract:request"
    APPROVE = "observatory:extract:approve"
    REFUSE = "observatory:extract:refuse"
    DOWNLOAD = "observatory:extract:download"
    WITHHELD = "observatory:extract:withheld"


def _national(user: Any) -> bool:
    return user.effective_scope()[0] == "national"


def register_rules() -> None:
    policy.register(
        ExtractPermission.REQUEST,
        lambda user, obj: user.has_role(Role.ANALYST, Role.NATIONAL_COORDINATOR) and _national(user),
    )
    policy.register(
        ExtractPermission.LIST,
        lambda user, obj: user.has_role(Role.ANALYST, Role.NATIONAL_COORDINATOR),
    )
    policy.register(ExtractPermission.READ_ANY, lambda user, obj: user.has_role(Role.NATIONAL_COORDINATOR))
    policy.register(
        ExtractPermission.READ,
        lambda user, obj: (
            user.has_role(Role.ANALYST, Role.NATIONAL_COORDINATOR)
            and obj is not None
            and (obj.requester_id == user.pk or user.has_role(Role.NATIONAL_COORDINATOR))
        ),
    )
    # Four eyes: a coordinator never approves their own request.
    policy.register(
        ExtractPermission.DECIDE,
        lambda user, obj: (
            user.has_role(Role.NATIONAL_COORDINATOR)
            and _national(user)
            and (obj is None or obj.requester_id != user.pk)
        ),
    )
    policy.register(
        ExtractPermission.DOWNLOAD,
        lambda user, obj: (
            obj is not None and obj.requester_id == user.pk and obj.status in ("approved", "downloaded")
        ),
    )


# Columns a researcher may ask for. Quasi-identifiers are generalised; the rest are categories.
QUASI_IDENTIFIERS = ("place", "month", "age_band", "sex")
COLUMNS: dict[str, Any] = {
    "place": _("Place (district, province or national)"),
    "month": _("Month of the report (or quarter or year)"),
    "age_band": _("Child's age band"),
    "sex": _("Child's sex"),
    "channel": _("Channel of the report"),
    "form": _("Main OCSEA form"),
    "platform": _("Main platform"),
    "offender_known": _("Offender known to the child"),
    "told_no_one": _("The child told no one"),
    "status": _("Case status"),
    "outcome": _("Case outcome"),
}
DEFAULT_COLUMNS = ("place", "month", "age_band", "sex", "channel", "form", "status", "outcome")
NATIONAL = "MZ"


def _to_province(code: Any) -> Any:
    return code[:4] if isinstance(code, str) and len(code) == 6 else code


def _to_national(code: Any) -> Any:
    return NATIONAL if code != "" else code


def _to_quarter(month: Any) -> Any:
    year, m = str(month).split("-")
    return f"{year}Q{(int(m) - 1) // 3 + 1}"


def _to_year(quarter: Any) -> Any:
    return str(quarter)[:4]


_WIDE_BANDS = {"0-8": "0-11", "9-11": "0-11", "12-14": "12-17", "15-17": "12-17", "18+": "18+"}


def _to_wide_band(band: Any) -> Any:
    return _WIDE_BANDS.get(band, band)


def _to_any_age(band: Any) -> Any:
    return "0-17" if band in ("0-11", "12-17") else band


HIERARCHY = {
    "place": [_to_province, _to_national],
    "month": [_to_quarter, _to_year],
    "age_band": [_to_wide_band, _to_any_age],
}


def raw_records(start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    """One record per case received from ``start`` to ``end`` (inclusive), already free of direct
    identifiers: only codes, month and bands are read from the database."""
    tz = timezone.get_current_timezone()
    since = dt.datetime.combine(start, dt.time.min, tzinfo=tz)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    people = (
        Person.objects.filter(role__in=[PersonRole.VICTIM, PersonRole.OFFENDER])
        .only(
            "case_id", "role", "age_band", "sex", "relationship", "known_to_child", "disclosure", "created_at"
        )
        .order_by("created_at", "id")
    )
    cases = (
        Case.objects.filter(received_at__gte=since, received_at__lt=until)
        .only("received_at", "district_id", "province_id", "channel", "status", "outcome")
        .prefetch_related("forms", "platforms", Prefetch("persons", queryset=people, to_attr="people"))
        .order_by("received_at", "id")
    )
    records = []
    for case in cases.iterator(chunk_size=2000):
        victim = next((p for p in case.people if p.role == PersonRole.VICTIM), None)
        offender = next((p for p in case.people if p.role == PersonRole.OFFENDER), None)
        forms = sorted(f.form for f in case.forms.all())
        platforms = sorted(p.platform for p in case.platforms.all())
        known = ""
        if offender is not None:
            if offender.known_to_child is not None:
                known = "yes" if offender.known_to_child else "no"
            elif offender.relationship:
                known = "yes" if offender.relationship in KNOWN_RELATIONSHIPS else "unknown"
        received = timezone.localtime(case.received_at, tz)
        records.append(
            {
                "place": case.district_id or case.province_id or NATIONAL,
                "month": f"{received.year}-{received.month:02d}",
                "age_band": victim.age_band if victim else "unknown",
                "sex": victim.sex if victim else "unknown",
                "channel": case.channel,
                "form": forms[0] if len(forms) == 1 else ("several" if forms else "unknown"),
                "platform": platforms[0] if len(platforms) == 1 else ("several" if platforms else "unknown"),
                "offender_known": known or "unknown",
                "told_no_one": (
                    "unknown"
                    if victim is None or not victim.disclosure
                    else ("yes" if Disclosure.NO_ONE in victim.disclosure else "no")
                ),
                "status": case.status,
                "outcome": case.outcome or "none",
            }
        )
    return records


def build(records: Sequence[dict[str, Any]], columns: Iterable[str], k: int = K) -> kanon.Extract:
    """Keep ``columns`` of each record and generalise its quasi-identifiers until k-anonymous.

    Raises :class:`amparo.lib.kanon.UnsafeExtract` when no generalisation is enough (then nothing
    may be released). An empty extract is safe: it identifies nobody.
    """
    columns = [c for c in COLUMNS if c in set(columns)]
    if not columns:
        raise ValueError("An extract needs at least one column.")
    chosen = [{c: record[c] for c in columns} for record in records]
    quasi = [c for c in QUASI_IDENTIFIERS if c in columns]
    if not quasi:
        # Without a quasi-identifier every record still has a combination: the empty one.
        return kanon.generalise(chosen, {}, [], k) if chosen else kanon.Extract([], {}, 0)
    hierarchy = {c: steps for c, steps in HIERARCHY.items() if c in quasi}
    return kanon.generalise(chosen, hierarchy, quasi, k)


def place_names() -> dict[str, str]:
    names = {NATIONAL: "Moçambique"}
    names.update(dict(Province.objects.values_list("code", "name")))
    names.update(dict(District.objects.values_list("code", "name")))
    return names


def to_csv(extract: kanon.Extract, columns: Iterable[str]) -> str:
    """The released CSV: place codes become names, nothing else is added."""
    columns = [c for c in COLUMNS if c in set(columns)]
    names = place_names() if "place" in columns else {}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for record in extract.records:
        row = []
        for column in columns:
            value = record[column]
            if column == "place":
                value = names.get(value, value)
            row.append(_safe_cell(str(value)))
        writer.writerow(row)
    return out.getvalue()


def _safe_cell(value: str) -> str:
    """No spreadsheet formulas (CSV injection): a leading =, +, - or @ is quoted away."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value
